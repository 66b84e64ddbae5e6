"""Text encoding utilities.

Utilities to encode text, and to safely emit text from running
applications without crashing from the infamous
:exc:`UnicodeDecodeError` exception.
"""
from __future__ import annotations

import sys
import traceback
from typing import IO, Any

__all__ = (
    'bytes_to_str', 'str_to_bytes', 'ensure_bytes', 'from_utf8',
    'default_encode', 'default_encoding', 'default_encoding_file',
    'get_default_encoding_file', 'set_default_encoding_file',
    'safe_str', 'safe_repr', 'str_t', 'bytes_t',
)

str_t = str
bytes_t = bytes

#: safe_str takes encoding from this file by default.
#: :func:`set_default_encoding_file` can used to set the
#: default output file.
default_encoding_file: IO | None = None


def set_default_encoding_file(file: IO | None) -> None:
    """Set file used to get codec information."""
    global default_encoding_file
    default_encoding_file = file


def get_default_encoding_file() -> IO | None:
    """Get file used to get codec information."""
    return default_encoding_file


def default_encoding(file: IO | None = None) -> str:
    """Get default encoding."""
    file = file or get_default_encoding_file()
    return getattr(file, 'encoding', None) or sys.getfilesystemencoding()


def str_to_bytes(s: Any) -> Any:
    """Convert str to bytes (anything else is returned unchanged)."""
    if isinstance(s, str):
        return s.encode()
    return s


#: Ensure ``s`` is bytes, not str.
ensure_bytes = str_to_bytes


def bytes_to_str(s: Any) -> Any:
    """Convert bytes to str (undecodable bytes are replaced)."""
    if isinstance(s, (bytes, bytearray, memoryview)):
        return bytes(s).decode(errors='replace')
    return s


def from_utf8(s: Any, *args: Any, **kwargs: Any) -> Any:
    """Get str from utf-8 encoding (a no-op on Python 3)."""
    return s


def default_encode(obj: Any) -> Any:
    """Encode using default encoding (a no-op on Python 3)."""
    return obj


def _unrepresentable(obj: Any, exc: BaseException) -> str:
    stack = '\n'.join(traceback.format_stack())
    return f'<Unrepresentable {type(obj)!r}: {exc!r} {stack!r}>'


def safe_str(s: Any, errors: str = 'replace') -> str:
    """Safe form of str(), void of unicode errors."""
    s = bytes_to_str(s)
    if isinstance(s, str):
        return s
    try:
        return str(s)
    except Exception as exc:
        return _unrepresentable(s, exc)


def safe_repr(o: Any, errors: str = 'replace') -> str:
    """Safe form of repr, void of Unicode errors."""
    try:
        return repr(o)
    except Exception as exc:
        return _unrepresentable(o, exc)

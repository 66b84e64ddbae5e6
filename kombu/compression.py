"""Compression utilities.

A compression method is identified by its mime-type (the message's
``compression`` header) and may be named by any of its aliases:

==========================  ==========================
content type                aliases
==========================  ==========================
``application/x-gzip``      ``gzip``, ``zlib``
``application/x-bz2``       ``bzip2``, ``bzip``
``application/x-lzma``      ``lzma``, ``xz``
``application/x-brotli``    ``brotli``  (``kombu[brotli]``)
``application/zstd``        ``zstd``, ``zstandard``  (``kombu[zstd]``)
==========================  ==========================

brotli and zstd are registered only when their library is importable; every
module but :mod:`zlib` is imported on first use.
"""
from __future__ import annotations

import importlib
import zlib
from importlib.util import find_spec
from typing import Any, Callable, Iterable

from .utils.encoding import ensure_bytes

__all__ = ('register', 'encoders', 'get_encoder', 'get_decoder', 'compress', 'decompress')

Codec = Callable[[bytes], bytes]

_aliases: dict[str, str] = {}     # alias -> content type
_encoders: dict[str, Codec] = {}  # content type -> compress function
_decoders: dict[str, Codec] = {}  # content type -> decompress function


class _UnknownCompression(KeyError):
    """No compression method is registered under this name or content type."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


def register(encoder: Codec, decoder: Codec, content_type: str,
             aliases: Iterable[str] | None = None) -> None:
    """Register new compression method.

    Arguments:
        encoder: Function used to compress text.
        decoder: Function used to decompress previously compressed text.
        content_type: The mime type this compression method identifies as.
        aliases: A list of names to associate with this compression method.
    """
    _encoders[content_type] = encoder
    _decoders[content_type] = decoder
    for alias in aliases or ():
        _aliases[alias] = content_type


def encoders() -> list[str]:
    """Return a list of available compression methods."""
    return list(_encoders)


def _unknown(t: str) -> _UnknownCompression:
    known = ', '.join(sorted(set(_encoders) | set(_aliases)))
    return _UnknownCompression(f'Unknown compression method {t!r} (known: {known})')


def get_encoder(t: str) -> tuple[Codec, str]:
    """Get encoder by alias name: return ``(compress_function, content_type)``.

    Raises:
        KeyError: no compression method is registered as ``t``.
    """
    content_type = _aliases.get(t, t)
    try:
        return _encoders[content_type], content_type
    except KeyError:
        raise _unknown(t) from None


def get_decoder(t: str) -> Codec:
    """Get decoder by alias name (or content type).

    Raises:
        KeyError: no compression method is registered as ``t``.
    """
    try:
        return _decoders[_aliases.get(t, t)]
    except KeyError:
        raise _unknown(t) from None


def compress(body: bytes | str, content_type: str) -> tuple[bytes, str]:
    """Compress text (``str`` is encoded as UTF-8 first).

    Arguments:
        body: The text to compress.
        content_type: mime-type (or alias) of compression method to use.

    Returns:
        ``(compressed_body, content_type)``, the content type being the
        method's mime-type even when an alias was given.
    """
    encoder, content_type = get_encoder(content_type)
    return encoder(ensure_bytes(body)), content_type


def decompress(body: bytes, content_type: str) -> bytes:
    """Decompress compressed text (any bytes-like object).

    Arguments:
        body: Previously compressed data to uncompress.
        content_type: mime-type (or alias) of compression method used.
    """
    return get_decoder(content_type)(body)


def _lazy(module: str, function: str, **kwargs: Any) -> Codec:
    """Return a codec calling ``module.function``, importing the module on first use."""
    resolved: list[Callable[..., bytes]] = []

    def codec(data: bytes) -> bytes:
        if not resolved:
            resolved.append(getattr(importlib.import_module(module), function))
        return resolved[0](data, **kwargs)

    codec.__name__ = codec.__qualname__ = f'{module}.{function}'
    return codec


def _zstd_compress(data: bytes) -> bytes:
    import zstandard
    return zstandard.ZstdCompressor().compress(data)


def _zstd_decompress(data: bytes) -> bytes:
    import zstandard
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


register(zlib.compress, zlib.decompress, 'application/x-gzip', aliases=['gzip', 'zlib'])
if find_spec('bz2') is not None:
    register(_lazy('bz2', 'compress'), _lazy('bz2', 'decompress'),
             'application/x-bz2', aliases=['bzip2', 'bzip'])
if find_spec('lzma') is not None:
    register(_lazy('lzma', 'compress'), _lazy('lzma', 'decompress'),
             'application/x-lzma', aliases=['lzma', 'xz'])
if find_spec('brotli') is not None:
    register(_lazy('brotli', 'compress'), _lazy('brotli', 'decompress'),
             'application/x-brotli', aliases=['brotli'])
if find_spec('zstandard') is not None:
    register(_zstd_compress, _zstd_decompress, 'application/zstd', aliases=['zstd', 'zstandard'])

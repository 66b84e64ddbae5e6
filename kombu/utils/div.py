"""Div. Utilities."""
from __future__ import annotations

import os
import sys
from typing import IO, Any, Callable

from .encoding import default_encode

__all__ = ('emergency_dump_state',)


def emergency_dump_state(state: Any, open_file: Callable[..., IO] = open,
                         dump: Callable | None = None,
                         stderr: IO | None = None) -> str:
    """Dump message state to stdout or file.

    The state is pickled (or written with ``dump(state, fh, protocol=0)``)
    into a new temporary file whose name is printed to ``stderr`` and
    returned.  If that fails, its :func:`~pprint.pformat` text is written
    instead.
    """
    import pickle
    import tempfile
    from pprint import pformat

    stderr = sys.stderr if stderr is None else stderr
    binary = dump is None
    dump = pickle.dump if dump is None else dump
    fd, persist = tempfile.mkstemp(prefix='kombu-emergency-')
    os.close(fd)
    print(f'EMERGENCY DUMP STATE TO FILE -> {persist} <-', file=stderr)
    fh = open_file(persist, 'wb' if binary else 'w')
    try:
        try:
            dump(state, fh, protocol=0)
        except Exception as exc:
            print(f'Cannot pickle state: {exc!r}. Fallback to pformat.', file=stderr)
            text = default_encode(pformat(state))
            fh.write(text.encode() if binary else text)
    finally:
        fh.flush()
        fh.close()
    return persist

"""JSON Serialization Utilities.

:func:`dumps` understands dates, times, UUIDs, decimals and objects with a
``__json__`` method (see :class:`JSONEncoder`).  :func:`loads` accepts
``str``, ``bytes``, ``bytearray`` and ``memoryview``.

Both sit on the hot path of every publish and consume, so the common call
(no extra options) goes straight to one cached encoder/decoder instance.
"""
from __future__ import annotations

import datetime
import decimal
import json
import uuid
from typing import Any, Callable

__all__ = ('JSONEncoder', 'DjangoPromise', 'dumps', 'loads')


class DjangoPromise:
    """Dummy object."""


class JSONEncoder(json.JSONEncoder):
    """Kombu custom json encoder."""

    def default(self, o: Any,
                dates: tuple = (datetime.datetime, datetime.date),
                times: tuple = (datetime.time,),
                textual: tuple = (decimal.Decimal, uuid.UUID, DjangoPromise),
                isinstance: Callable = isinstance,
                datetime: type = datetime.datetime,
                text_t: type = str) -> Any:
        """Return a JSON-serializable stand-in for ``o`` (or raise TypeError).

        ``__json__()`` wins; datetimes and dates become ISO 8601 strings (a
        date as midnight, UTC written as ``Z``), times use ``isoformat()``,
        and decimals/UUIDs become strings.
        """
        reducer = getattr(o, '__json__', None)
        if reducer is not None:
            return reducer()
        if isinstance(o, dates):
            if not isinstance(o, datetime):
                o = datetime(o.year, o.month, o.day)
            r = o.isoformat()
            if r.endswith('+00:00'):
                r = r[:-6] + 'Z'
            return r
        if isinstance(o, times):
            return o.isoformat()
        if isinstance(o, textual):
            return text_t(o)
        return super().default(o)


_default_encoder = JSONEncoder
#: Extra keyword arguments always passed to the json library's ``dumps``.
_json_extra_kwargs: dict[str, Any] = {}

#: One shared encoder with the default settings: building a JSONEncoder per
#: call costs more than encoding a small message.
_encoder = JSONEncoder()
_encode = _encoder.encode
#: The ``json`` serializer's encoder: the shared encoder, without any option handling.
_fast_dumps = _encode
_decode = json.JSONDecoder().decode
_std_dumps = json.dumps
_std_loads = json.loads


def dumps(s: Any, _dumps: Callable[..., str] = json.dumps, cls: type | None = None,
          default_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> str:
    """Serialize object to json string."""
    if _dumps is _std_dumps and cls is None and not kwargs and not default_kwargs:
        return _encode(s)
    options = dict(_json_extra_kwargs if default_kwargs is None else default_kwargs)
    options.update(kwargs)
    return _dumps(s, cls=cls or _default_encoder, **options)


def loads(s: str | bytes | bytearray | memoryview, _loads: Callable[[Any], Any] = json.loads,
          decode_bytes: bool = True) -> Any:
    """Deserialize json from string (``bytes``-like input is read as UTF-8)."""
    if isinstance(s, bytes):
        if decode_bytes:
            s = s.decode('utf-8')
    elif isinstance(s, memoryview):
        s = s.tobytes().decode('utf-8')
    elif isinstance(s, bytearray):
        s = s.decode('utf-8')
    if _loads is _std_loads:
        return _decode(s) if isinstance(s, str) else _loads(s)
    return _loads(s)


def _fast_loads(s: str | bytes | bytearray | memoryview) -> Any:
    """Deserialize a JSON document (the ``json`` serializer's decoder)."""
    if not isinstance(s, str):
        # memoryview(): any buffer, but never ``bytes(int)``'s zero-filled buffer.
        s = (s if isinstance(s, bytes) else memoryview(s).tobytes()).decode('utf-8')
    return _decode(s)

"""Serialization utilities.

Centralized support for encoding/decoding of data structures: a registry of
serializers (json, pickle, msgpack, yaml, plus any registered later or
through the ``kombu.serializers`` setuptools entry-point group).

* :func:`dumps` turns a Python object into ``(content_type, content_encoding,
  payload)``; :func:`loads` turns a payload back, given its content type.
* Only JSON (and the trusted raw types ``application/data`` and
  ``application/text``) is decoded by default; pickle, yaml and msgpack must be
  named in ``accept`` or enabled with :func:`enable_insecure_serializers`.

Both directions are on the hot path of every publish and consume: a
serializer is found with a single dict lookup and decoders receive the body
as received (no extra copy or text round-trip).
"""
from __future__ import annotations

import codecs
import importlib
import logging
import os
import pickle as pypickle
from collections import namedtuple
from typing import Any, Callable, Collection, Iterable, Mapping

from .exceptions import ContentDisallowed, DecodeError, EncodeError, SerializerNotInstalled
from .utils.encoding import str_to_bytes
from .utils.json import _fast_dumps as _json_dumps
from .utils.json import _fast_loads as _json_loads

__all__ = (
    'pickle', 'loads', 'dumps', 'register', 'unregister', 'registry',
    'SerializerRegistry', 'SerializerNotInstalled', 'raw_encode',
    'prepare_accept_content', 'enable_insecure_serializers', 'disable_insecure_serializers',
    'register_json', 'register_pickle', 'register_yaml', 'register_msgpack',
    'TRUSTED_CONTENT', 'SKIP_DECODE',
)

logger = logging.getLogger(__name__)

pickle = pypickle
pickle_load = pypickle.load

#: Pickle protocol used by the ``pickle`` serializer: the ``PICKLE_PROTOCOL``
#: environment variable, else 2 (readable by every Python 3 and Python 2.7).
#: Read on every encode, so it may be changed at runtime.
pickle_protocol = int(os.environ.get('PICKLE_PROTOCOL', 2))

#: Content types that are always accepted: they are never deserialized.
TRUSTED_CONTENT = frozenset({'application/data', 'application/text'})
#: Content encodings meaning "leave the bytes alone".
SKIP_DECODE = frozenset({'binary', 'ascii-8bit'})

#: Insecure serializers, disabled until accepted/enabled explicitly.
INSECURE = ('pickle', 'yaml', 'msgpack')

#: Entry-point group that third-party packages register serializers in.
ENTRYPOINT_GROUP = 'kombu.serializers'

codec = namedtuple('codec', ('content_type', 'content_encoding', 'encoder'))

NOTSET = object()


def _no_default_serializer(data: Any) -> Any:
    raise EncodeError('No default serializer set: pass serializer= or '
                      'call registry._set_default_serializer() first')


#: What :meth:`SerializerRegistry.dumps` uses before a default serializer is set.
_NO_DEFAULT_CODEC = codec(None, None, _no_default_serializer)


class _UnknownSerializer(SerializerNotInstalled, KeyError):
    """No serializer is registered under this name (also a ``KeyError``)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


def parenthesize_alias(first: str, second: str) -> str:
    """Return ``'first (second)'``, e.g. ``'json (application/json)'``."""
    return f'{first} ({second})'


def _decode(obj: Any, encoding: str = 'utf-8', errors: str = 'strict') -> Any:
    """Decode a bytes-like object to ``str`` (``str`` is returned as is)."""
    if isinstance(obj, str):
        return obj
    return codecs.decode(obj, encoding, errors)


def raw_encode(data: Any) -> tuple[str, str, Any]:
    """Special case serializer: send ``data`` as is (``str`` as UTF-8 bytes)."""
    if isinstance(data, str):
        return 'application/data', 'utf-8', data.encode('utf-8')
    return 'application/data', 'binary', data


def _entry_points(group: str) -> Iterable[Any]:
    from importlib import metadata
    try:
        return metadata.entry_points(group=group)
    except TypeError:  # Python 3.9: no selection keywords, returns a dict
        return metadata.entry_points().get(group, ())


class SerializerRegistry:
    """The registry keeps track of serialization methods."""

    def __init__(self) -> None:
        self._encoders: dict[str, codec] = {}          # name -> codec
        self._decoders: dict[str, Callable] = {}       # content type -> decoder
        self._default_encode: Callable | None = None
        self._default_content_type: str | None = None
        self._default_content_encoding: str | None = None
        self._default_codec: codec = _NO_DEFAULT_CODEC
        self._default_serializer: str | None = None
        self._disabled_content_types: set[str] = set()
        self.type_to_name: dict[str, str] = {}
        self.name_to_type: dict[str, str] = {}
        self._accept_cache: dict[frozenset, frozenset] = {}
        self._entrypoints_loaded = False

    # -- registration ---------------------------------------------------

    def register(self, name: str, encoder: Callable | None, decoder: Callable | None,
                 content_type: str, content_encoding: str = 'utf-8') -> None:
        """Register a new encoder/decoder.

        Arguments:
            name: A convenience name for the serialization method.
            encoder: Called with a Python object, returns the serialized
                ``str``/``bytes``.  If None only a decoder is registered.
            decoder: Called with the serialized data (``bytes``, ``str`` or
                a buffer), returns the object.  If None only an encoder is
                registered.
            content_type: The mime-type describing the serialized structure.
            content_encoding: The content encoding (character set) of the
                encoder's output: usually ``utf-8``, ``us-ascii`` or ``binary``.
        """
        if encoder:
            self._encoders[name] = codec(content_type, content_encoding, encoder)
            if name == self._default_serializer:
                self._set_default_serializer(name)
        if decoder:
            self._decoders[content_type] = decoder
        self.type_to_name[content_type] = name
        self.name_to_type[name] = content_type
        self._accept_cache.clear()

    def unregister(self, name: str) -> None:
        """Unregister registered encoder/decoder.

        Raises:
            SerializerNotInstalled: no serializer is registered as ``name``.
        """
        content_type = self._name_to_type(name)
        self._decoders.pop(content_type, None)
        self._encoders.pop(name, None)
        self.type_to_name.pop(content_type, None)
        self.name_to_type.pop(name, None)
        self._accept_cache.clear()

    def _set_default_serializer(self, name: str) -> None:
        """Set the serializer :meth:`dumps` uses when none is given.

        Raises:
            SerializerNotInstalled: no encoder is registered as ``name``.
        """
        c = self._default_codec = self._get_encoder(name)
        self._default_serializer = name
        self._default_content_type, self._default_content_encoding, self._default_encode = c

    def load_entrypoints(self) -> None:
        """Register the serializers of the ``kombu.serializers`` entry-point group.

        Each entry point's name is the serializer name and it loads a tuple
        ``(encoder, decoder, content_type, content_encoding)``.  Names that are
        already registered are kept.  Called lazily, the first time a name or
        content type is not found.
        """
        self._entrypoints_loaded = True
        for ep in _entry_points(ENTRYPOINT_GROUP):
            if ep.name in self.name_to_type:
                continue
            try:
                self.register(ep.name, *ep.load())
            except Exception:
                logger.exception('Cannot load serializer entry point %r (%s)', ep.name, ep.value)

    # -- lookups (the cold paths, on a miss) ------------------------------

    def _retry_after_entrypoints(self) -> bool:
        """Load the entry points once; return True when that was done now."""
        if self._entrypoints_loaded:
            return False
        self.load_entrypoints()
        return True

    def _get_encoder(self, name: str) -> codec:
        try:
            return self._encoders[name]
        except KeyError:
            if self._retry_after_entrypoints():
                return self._get_encoder(name)
        if name in self.name_to_type:
            raise SerializerNotInstalled(f'No encoder installed for {name}: '
                                         f'it can only be decoded')
        raise _UnknownSerializer(
            f'No encoder installed for {name} (known: {", ".join(sorted(self._encoders))})')

    def _name_to_type(self, name: str) -> str:
        """Content type registered for the serializer ``name``."""
        try:
            return self.name_to_type[name]
        except KeyError:
            if self._retry_after_entrypoints():
                return self._name_to_type(name)
        raise _UnknownSerializer(
            f'No encoder/decoder installed for {name} '
            f'(known: {", ".join(sorted(self.name_to_type))})')

    def _to_content_type(self, name: str) -> str:
        """Accept a content type (anything with a ``/``) or a serializer name."""
        return name if '/' in name else self._name_to_type(name)

    def _for_untrusted_content(self, ctype: str, why: str) -> ContentDisallowed:
        return ContentDisallowed(
            f'Refusing to deserialize {why} content of type '
            f'{parenthesize_alias(self.type_to_name.get(ctype, ctype), ctype)}')

    # -- enable / disable -----------------------------------------------

    def enable(self, name: str) -> None:
        """Allow decoding the serializer ``name`` (a name or content type)."""
        self._disabled_content_types.discard(self._to_content_type(name))

    def disable(self, name: str) -> None:
        """Refuse decoding ``name`` (a name or content type) unless it is in ``accept``."""
        self._disabled_content_types.add(self._to_content_type(name))

    # -- encode / decode --------------------------------------------------

    def dumps(self, data: Any, serializer: str | None = None) -> tuple[str, str, Any]:
        """Encode data.

        Serialize a data structure into a string suitable for sending as an
        AMQP message body.

        Arguments:
            data: The message data to send.
            serializer: The serialization method to use (``json``, ``raw``,
                ``pickle``, ...).  If None (default) ``bytes`` are sent as is
                (``application/data``), ``str`` as UTF-8 ``text/plain`` and
                anything else with the default serializer (json).  A given
                serializer is used even for ``str``/``bytes``.

        Returns:
            ``(content_type, content_encoding, payload)``.

        Raises:
            SerializerNotInstalled: the serialization method is not available.
            EncodeError: the serializer failed (the error is chained).
        """
        if serializer:
            try:
                content_type, content_encoding, encoder = self._encoders[serializer]
            except KeyError:
                if serializer == 'raw':
                    return raw_encode(data)
                content_type, content_encoding, encoder = self._get_encoder(serializer)
        elif isinstance(data, bytes):
            return 'application/data', 'binary', data
        elif isinstance(data, str):
            return 'text/plain', 'utf-8', data.encode('utf-8')
        else:
            content_type, content_encoding, encoder = self._default_codec
        try:
            payload = encoder(data)
        except (SerializerNotInstalled, EncodeError):
            raise
        except Exception as exc:
            raise EncodeError(exc) from exc
        return content_type, content_encoding, payload

    def loads(self, data: Any, content_type: str | None, content_encoding: str | None,
              accept: Collection[str] | None = None, force: bool = False,
              _trusted_content: Collection[str] = TRUSTED_CONTENT) -> Any:
        """Decode serialized data.

        Deserialize a data stream as serialized using :meth:`dumps` based on
        ``content_type``.

        Arguments:
            data: The message data to deserialize.
            content_type: The content-type of the data (e.g.
                ``application/json``); missing means ``application/data``.
            content_encoding: The content-encoding of the data (e.g.
                ``utf-8``, ``binary``); missing means ``utf-8``.
            accept: Content types and/or serializer names to accept.  If None,
                anything not disabled is accepted (see
                :func:`disable_insecure_serializers`).
            force: Decode disabled content types too (``accept`` still applies).

        Returns:
            The decoded object; data of a type without a decoder is returned
            as ``str`` (decoded with ``content_encoding``) unless the encoding
            is ``binary``.

        Raises:
            ContentDisallowed: the content-type is not accepted.
            DecodeError: decoding failed (the error is chained).
        """
        content_type = content_type or 'application/data'
        if accept is not None:
            if content_type not in accept and content_type not in _trusted_content:
                self._check_accept_by_name(content_type, accept)
        elif content_type in self._disabled_content_types and not force:
            raise self._for_untrusted_content(content_type, 'disabled')
        if not data:
            return data
        decode = self._decoders.get(content_type)
        if decode is None and self._retry_after_entrypoints():
            decode = self._decoders.get(content_type)
        if decode is not None:
            try:
                return decode(data)
            except SerializerNotInstalled:
                raise
            except Exception as exc:
                raise DecodeError(exc) from exc
        content_encoding = (content_encoding or 'utf-8').lower()
        if content_encoding not in SKIP_DECODE and not isinstance(data, str):
            try:
                return _decode(data, content_encoding)
            except Exception as exc:
                raise DecodeError(exc) from exc
        return data

    def _check_accept_by_name(self, content_type: str, accept: Collection[str]) -> None:
        """Raise ContentDisallowed unless ``accept`` names the serializer of ``content_type``."""
        name = self.type_to_name.get(content_type)
        if name is None and self._retry_after_entrypoints():
            name = self.type_to_name.get(content_type)
        if name is None or name not in accept:
            raise self._for_untrusted_content(content_type, 'untrusted')


#: Global registry of serializers/deserializers.
registry = SerializerRegistry()

dumps = registry.dumps
loads = registry.loads
register = registry.register
unregister = registry.unregister


def prepare_accept_content(l: Iterable[str] | None,  # noqa: E741 (documented name)
                           name_to_type: Mapping[str, str] | None = None) -> set[str] | None:
    """Replace serializer names with their content types in an ``accept`` list.

    Entries containing ``/`` are content types and kept as they are.  Results
    are cached (per registry state), so calling this per message is cheap.

    Raises:
        SerializerNotInstalled: (also a ``KeyError``) for an unknown name.
    """
    if l is None:
        return None
    if isinstance(l, str):
        l = (l,)  # noqa: E741
    if name_to_type is not None:
        return {n if '/' in n else _lookup_name(n, name_to_type) for n in l}
    key = l if isinstance(l, frozenset) else frozenset(l)
    try:
        return set(registry._accept_cache[key])
    except KeyError:
        pass
    result = frozenset(registry._to_content_type(n) for n in key)
    registry._accept_cache[key] = result
    return set(result)


def _lookup_name(name: str, name_to_type: Mapping[str, str]) -> str:
    try:
        return name_to_type[name]
    except KeyError:
        raise _UnknownSerializer(f'Unknown serializer {name!r} in accept list') from None


def enable_insecure_serializers(choices: Iterable[str] = NOTSET) -> None:
    """Enable serializers that are considered to be unsafe.

    Enables pickle, yaml and msgpack by default, or the given serializers
    (by name or content type).  Names of serializers that are not
    registered are ignored.
    """
    if choices is NOTSET:
        choices = INSECURE
    elif isinstance(choices, str):
        choices = (choices,)
    for choice in choices:
        try:
            registry.enable(choice)
        except KeyError:  # not a registered serializer name: nothing to enable
            pass


def disable_insecure_serializers(allowed: Iterable[str] | None = NOTSET) -> None:
    """Disable untrusted serializers.

    Disables every deserializer except json, or except the ``allowed``
    serializers (by name or content type; None disables all).  Producers can
    still encode in these formats, but consumers will not accept incoming
    data using the untrusted content types.
    """
    allowed = ('json',) if allowed is NOTSET else allowed or ()
    allowed_types = {registry._to_content_type(a) for a in allowed}
    for content_type in list(registry._decoders):
        registry.disable(content_type)
    for content_type in allowed_types:
        registry.enable(content_type)


# -- the built-in serializers ------------------------------------------

def register_json() -> None:
    """Register a encoder/decoder for JSON serialization."""
    registry.register('json', _json_dumps, _json_loads,
                      content_type='application/json', content_encoding='utf-8')


def pickle_loads(s: Any, load: Callable = pickle_load) -> Any:
    """Unpickle ``s`` (bytes or any buffer)."""
    if load is pickle_load:
        return pypickle.loads(str_to_bytes(s))
    from io import BytesIO
    return load(BytesIO(str_to_bytes(s)))


unpickle = pickle_loads


def pickle_dumps(obj: Any) -> bytes:
    """Pickle ``obj`` with :data:`pickle_protocol`."""
    return pypickle.dumps(obj, protocol=pickle_protocol)


def register_pickle() -> None:
    """Register pickle serializer (protocol :data:`pickle_protocol`)."""
    registry.register('pickle', pickle_dumps, unpickle,
                      content_type='application/x-python-serialize',
                      content_encoding='binary')


_optional_modules: dict[str, Any] = {}


def _optional(module: str, extra: str, what: str) -> Any:
    """Import an optional serialization library, or say which extra provides it."""
    try:
        return _optional_modules[module]
    except KeyError:
        pass
    try:
        mod = _optional_modules[module] = importlib.import_module(module)
        return mod
    except ImportError:
        raise SerializerNotInstalled(
            f'No {what} installed for {extra}: install the {module} library '
            f'(pip install "kombu[{extra}]")') from None


def _msgpack_dumps(obj: Any) -> bytes:
    return _optional('msgpack', 'msgpack', 'encoder').packb(obj, use_bin_type=True)


def _msgpack_loads(s: Any) -> Any:
    return _optional('msgpack', 'msgpack', 'decoder').unpackb(s, raw=False)


def register_msgpack() -> None:
    """Register msgpack serializer (needs ``kombu[msgpack]`` when used)."""
    registry.register('msgpack', _msgpack_dumps, _msgpack_loads,
                      content_type='application/x-msgpack', content_encoding='binary')


def _yaml_dumps(obj: Any) -> str:
    return _optional('yaml', 'yaml', 'encoder').safe_dump(obj)


def _yaml_loads(s: Any) -> Any:
    return _optional('yaml', 'yaml', 'decoder').safe_load(_decode(s))


def register_yaml() -> None:
    """Register a encoder/decoder for YAML serialization (safe subset, ``kombu[yaml]``)."""
    registry.register('yaml', _yaml_dumps, _yaml_loads,
                      content_type='application/x-yaml', content_encoding='utf-8')


_setupfuns = {
    'json': register_json,
    'pickle': register_pickle,
    'yaml': register_yaml,
    'msgpack': register_msgpack,
    'application/json': register_json,
    'application/x-yaml': register_yaml,
    'application/x-python-serialize': register_pickle,
    'application/x-msgpack': register_msgpack,
}

register_json()
register_pickle()
register_yaml()
register_msgpack()
registry._set_default_serializer('json')
disable_insecure_serializers()

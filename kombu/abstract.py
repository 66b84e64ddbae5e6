"""Object utilities."""
from __future__ import annotations

from copy import copy
from typing import Any, Callable

from .exceptions import NotBoundError
from .utils.functional import ChannelPromise

__all__ = ('Object', 'MaybeChannelBound')


def unpickle_dict(cls: type, kwargs: dict) -> Any:
    """Recreate an :class:`Object` from its :meth:`~Object.as_dict` form."""
    return cls(**kwargs)


def _any(v: Any) -> Any:
    return v


def _maybe_channel(channel: Any) -> Any:
    """Return the default channel of a connection, or the channel itself."""
    try:
        from .connection import Connection
    except ImportError:  # pragma: no cover - core not importable
        return channel
    if isinstance(channel, Connection):
        return channel.default_channel
    return channel


class Object:
    """Common base class.

    Supports automatic kwargs->attributes handling, and cloning.
    ``attrs`` is a sequence of ``(name, type)`` pairs (type may be None).
    """

    attrs: tuple = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        for name, type_ in self.attrs:
            value = kwargs.get(name)
            if value is not None:
                setattr(self, name, (type_ or _any)(value))
            else:
                try:
                    getattr(self, name)
                except AttributeError:
                    setattr(self, name, None)

    def as_dict(self, recurse: bool = False) -> dict[str, Any]:
        """Return the ``attrs`` as a dict (nested Objects too with ``recurse``)."""
        def f(obj: Any, type_: Callable | None) -> Any:
            if recurse and isinstance(obj, Object):
                return obj.as_dict(recurse=True)
            return type_(obj) if type_ and obj is not None else obj
        return {attr: f(getattr(self, attr), type_) for attr, type_ in self.attrs}

    def __reduce__(self) -> tuple:
        return unpickle_dict, (self.__class__, self.as_dict())

    def __copy__(self) -> Object:
        return self.__class__(**self.as_dict())


class MaybeChannelBound(Object):
    """Mixin for classes that can be bound to an AMQP channel."""

    _channel: Any = None
    _is_bound = False

    #: Defines whether maybe_declare can skip declaring this entity twice.
    can_cache_declaration = False

    def __call__(self, channel: Any) -> MaybeChannelBound:
        """`self(channel) -> self.bind(channel)`."""
        return self.bind(channel)

    def bind(self, channel: Any) -> MaybeChannelBound:
        """Create copy of the instance that is bound to a channel."""
        return copy(self).maybe_bind(channel)

    def maybe_bind(self, channel: Any) -> MaybeChannelBound:
        """Bind instance to channel if not already bound."""
        if not self.is_bound and channel:
            self._channel = _maybe_channel(channel)
            self.when_bound()
            self._is_bound = True
        return self

    def revive(self, channel: Any) -> None:
        """Revive channel after the connection has been re-established.

        Used by :meth:`~kombu.Connection.ensure`.
        """
        if self.is_bound:
            self._channel = channel
            self.when_bound()

    def when_bound(self) -> None:
        """Callback called when the class is bound."""

    def __repr__(self) -> str:
        return self._repr_entity(type(self).__name__)

    def _repr_entity(self, item: str = '') -> str:
        item = item or type(self).__name__
        if self.is_bound:
            return f'<{item} bound to chan:{self.channel.channel_id}>'
        return f'<unbound {item}>'

    @property
    def is_bound(self) -> bool:
        """Flag set if the channel is bound."""
        return self._is_bound and self._channel is not None

    @property
    def channel(self) -> Any:
        """Current channel if the object is bound.

        Raises:
            NotBoundError: if the object is not bound to a channel.
        """
        return self._bound_channel('method')

    def _bound_channel(self, method: str) -> Any:
        """The bound channel; :exc:`NotBoundError` naming ``method`` if unbound."""
        channel = self._channel
        if channel is None:
            raise NotBoundError(
                f"Can't call {method} on {type(self).__name__} not bound to a channel.")
        if isinstance(channel, ChannelPromise):
            channel = self._channel = channel()
        return channel

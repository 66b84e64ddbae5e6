"""Client (Connection)."""
from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from itertools import count, cycle
from operator import itemgetter
from typing import Any, Callable, Iterator
from urllib.parse import parse_qsl

from . import exceptions
from .exceptions import ChannelLimitExceeded, ConnectionLimitExceeded  # noqa: F401 - docs name them here
from .log import get_logger
from .resource import Resource
from .transport import TRANSPORT_ALIASES, get_transport_cls, supports_librabbitmq
from .utils.functional import lazy, retry_over_time, shufflecycle
from .utils.objects import cached_property
from .utils.url import as_url, maybe_sanitize_url, parse_url

__all__ = ('Connection', 'ConnectionPool', 'ChannelPool', 'BrokerConnection',
           'is_connection', 'maybe_channel', 'failover_strategies', 'resolve_aliases')

logger = get_logger(__name__)

#: Display names of transports that are spelt differently in the URL.
resolve_aliases = {'pyamqp': 'amqp', 'librabbitmq': 'amqp'}

#: Strategies to pick the next broker URL after a connection failure.
failover_strategies = {'round-robin': cycle, 'shuffle': shufflecycle}

#: Keyword arguments of :class:`Connection` that may also come from the URL query.
_URL_QUERY_PARAMS = frozenset({
    'ssl', 'heartbeat', 'connect_timeout', 'login_method', 'insist', 'transport',
    'userid', 'password', 'hostname', 'port', 'virtual_host', 'failover_strategy',
})

#: Boolean URL query options, and the values that switch them off.
_URL_FLAGS = frozenset({'ssl', 'insist'})
_FALSE_STRINGS = frozenset({'0', 'false', 'no', 'off', ''})

_LOG_CONNECTION = os.environ.get('KOMBU_LOG_CONNECTION', False)
_LOG_CHANNEL = os.environ.get('KOMBU_LOG_CHANNEL', False)


def _to_port(port: Any) -> int:
    try:
        return int(port)
    except (TypeError, ValueError):
        raise ValueError(f'Invalid port: {port!r} (must be an integer)') from None


def _scheme_of(transport: Any) -> Any:
    """URL scheme for a transport given as a class: its alias, else its driver type."""
    if isinstance(transport, str) or not isinstance(transport, type):
        return transport
    path = f'{transport.__module__}:{transport.__qualname__}'
    for alias, target in TRANSPORT_ALIASES.items():
        if target == path:
            return alias
    driver_type = getattr(transport, 'driver_type', None)
    return driver_type if driver_type and driver_type != 'N/A' else transport.__name__.lower()


def is_connection(obj: Any) -> bool:
    """Return true if ``obj`` is a :class:`Connection`."""
    return isinstance(obj, Connection)


def maybe_channel(channel: Any) -> Any:
    """Return the default channel if ``channel`` is a connection, else ``channel``."""
    if is_connection(channel):
        return channel.default_channel
    return channel


class Connection:
    """A connection to the broker.

    Arguments:
        URL (str, Sequence): Broker URL, or a list of URLs (failover); URLs may
            also be separated with ``;``.

    Keyword Arguments:
        ssl (bool/Dict): Use SSL to connect to the server. Default is False.
        transport (Transport): Default transport if not specified in the URL.
        connect_timeout (float): Timeout in seconds for connecting to the server.
        transport_options (Dict): Additional options for the transport.
        heartbeat (float): Heartbeat interval in int/float seconds
            (call :meth:`heartbeat_check` regularly when enabled).
        hostname, userid, password, virtual_host, port: defaults for values
            missing from the URL.
        failover_strategy (str, Callable): ``'round-robin'``, ``'shuffle'`` or
            a function returning an iterator of URLs.
        alternates (Sequence[str]): More URLs to fail over to.
    """

    port = None
    virtual_host = '/'
    connect_timeout = 5

    _connection = None
    _default_channel = None
    _transport = None
    _closed = None

    #: Heartbeat value, currently only supported by the py-amqp transport.
    heartbeat = None
    hostname = userid = password = ssl = login_method = None
    insist = False
    uri_prefix = None
    #: Additional transport specific options, passed on to the transport instance.
    transport_options = None
    #: The cache of declared entities is per connection (the server may lose data).
    declared_entities = None
    #: Iterator returning the next broker URL to try on connection failure.
    cycle = None
    #: Strategy used to select new hosts when reconnecting after failure.
    failover_strategy = 'round-robin'

    failover_strategies = failover_strategies
    resolve_aliases = resolve_aliases

    def __init__(self, hostname: Any = 'localhost', userid: str | None = None,
                 password: str | None = None, virtual_host: str | None = None,
                 port: int | None = None, insist: bool = False, ssl: Any = False,
                 transport: Any = None, connect_timeout: float = 5,
                 transport_options: dict | None = None, login_method: str | None = None,
                 uri_prefix: str | None = None, heartbeat: float = 0,
                 failover_strategy: Any = 'round-robin', alternates: Any = None,
                 **kwargs: Any) -> None:
        alt: list = []
        params = {
            'hostname': hostname, 'userid': userid, 'password': password,
            'virtual_host': virtual_host, 'port': port, 'insist': insist, 'ssl': ssl,
            'transport': transport, 'connect_timeout': connect_timeout,
            'login_method': login_method, 'heartbeat': heartbeat,
        }
        self.transport_options = dict(transport_options or {})
        if hostname and not isinstance(hostname, str):
            alt.extend(hostname)
            hostname = alt[0]
            params['hostname'] = hostname
        if hostname and ';' in hostname:
            alt.extend(hostname.split(';'))
            hostname = alt[0]
            params['hostname'] = hostname
        # the URLs given first come before the ``alternates``
        alt.extend(alternates or ())
        self._initial_params = dict(params)  # the base for switching to another URL
        self.uri_prefix = uri_prefix
        if hostname and '://' in hostname:
            params = self._params_from_url(hostname, params)
        #: switching to a bare host name keeps the rest of the first URL
        self._host_switch_params = dict(params)
        self.alt = alt
        strategy = params.pop('failover_strategy', None) or failover_strategy
        self._failover_strategy_arg = strategy or 'round-robin'
        self.failover_strategy = (failover_strategies.get(self._failover_strategy_arg)
                                  or self._failover_strategy_arg)
        if self.alt:
            self.cycle = self.failover_strategy(self.alt)
            if self.alt[0] == hostname:
                next(self.cycle)  # the first URL is the one we start with
        self.declared_entities = set()
        self._init_params(**params)

    def _params_from_url(self, url: str, params: dict) -> dict:
        scheme = url.partition('://')[0]
        if '+' in scheme:
            # 'sqla+postgresql://...': the transport gets the rest verbatim
            prefix, _, rest = url.partition('+')
            self.uri_prefix = prefix
            return dict(params, transport=prefix, hostname=rest)
        if self._transport_can_parse_url(scheme):
            # e.g. mongodb://h1,h2/db?replicaSet=x: the transport parses the
            # URL itself; query options still reach it as transport options
            query = dict(parse_qsl(url.partition('?')[2]))
            if query:
                self.transport_options = {**query, **self.transport_options}
            return dict(params, transport=scheme, hostname=url)
        parsed = parse_url(url)
        params = dict(params, hostname=parsed.pop('hostname'))
        options = {}
        for key, value in parsed.items():
            if key in _URL_QUERY_PARAMS:
                if key in _URL_FLAGS and isinstance(value, str) \
                        and value.lower() in _FALSE_STRINGS:
                    value = False  # ``?ssl=0`` must not enable SSL
                if value is not None:
                    params[key] = value
            else:
                options[key] = value
        if options:
            self.transport_options = {**options, **self.transport_options}
        return params

    @staticmethod
    def _transport_can_parse_url(transport: Any) -> bool:
        if not transport:
            return False
        try:
            cls = get_transport_cls(transport)
        except Exception:
            return False
        return bool(getattr(cls, 'can_parse_url', False))

    def _init_params(self, hostname: str | None, userid: str | None, password: str | None,
                     virtual_host: str | None, port: Any, insist: bool, ssl: Any,
                     transport: Any, connect_timeout: Any, login_method: str | None,
                     heartbeat: Any, failover_strategy: Any = None) -> None:
        transport = transport or 'amqp'
        if transport == 'amqp' and supports_librabbitmq():
            transport = 'librabbitmq'
        self.hostname = hostname
        self.userid = userid
        self.password = password
        self.login_method = login_method
        self.virtual_host = virtual_host or self.virtual_host
        self.port = _to_port(port) if port else self.port
        self.insist = insist
        self.connect_timeout = (float(connect_timeout) if isinstance(connect_timeout, str)
                                else connect_timeout)
        self.ssl = ssl
        self.transport_cls = transport
        self.heartbeat = float(heartbeat) if heartbeat else heartbeat

    # -- switching / failover ---------------------------------------------

    def switch(self, conn_str: str) -> None:
        """Switch connection parameters to use a new URL or hostname (does not reconnect)."""
        self.close()
        self.declared_entities.clear()
        self._closed = False
        if '://' in conn_str:
            # missing URL parts fall back to the keyword arguments
            params = self._params_from_url(conn_str, dict(self._initial_params,
                                                          hostname=conn_str))
        else:
            params = dict(self._host_switch_params, hostname=conn_str)
        self._init_params(**params)
        self._transport = None

    def maybe_switch_next(self) -> None:
        """Switch to next URL given by the current failover strategy."""
        if self.cycle:
            self.switch(next(self.cycle))

    def completes_cycle(self, retries: int) -> bool:
        """Return true if the cycle is complete after number of retries."""
        return not (retries + 1) % len(self.alt) if self.alt else True

    # -- connecting --------------------------------------------------------

    def connect(self) -> Any:
        """Establish connection to server immediately."""
        return self._ensure_connection(max_retries=1, reraise_as_library_errors=False)

    def _connection_factory(self) -> Any:
        self.declared_entities.clear()
        self._default_channel = None
        connection = self._establish_connection()
        self._closed = False
        return connection

    def _establish_connection(self) -> Any:
        self._debug('establishing connection...')
        conn = self.transport.establish_connection()
        self._debug('connection established: %r', self)
        return conn

    def _debug(self, msg: str, *args: Any, **kwargs: Any) -> None:
        if _LOG_CONNECTION:
            logger.debug(f'[Kombu connection:{id(self):#x}] {msg}', *args, **kwargs)

    @property
    def connected(self) -> bool:
        """Return true if the connection has been established."""
        return (not self._closed and self._connection is not None and
                bool(self.transport.verify_connection(self._connection)))

    @property
    def connection(self) -> Any:
        """The underlying (transport specific) connection object."""
        if not self._closed and not self.connected:
            return self._ensure_connection(max_retries=1, reraise_as_library_errors=False)
        return self._connection

    def ensure_connection(self, errback: Callable | None = None, max_retries: int | None = None,
                          interval_start: float = 2, interval_step: float = 2,
                          interval_max: float = 30, callback: Callable | None = None,
                          reraise_as_library_errors: bool = True,
                          timeout: float | None = None) -> Connection:
        """Ensure we have a connection to the server, retrying as configured.

        Arguments:
            errback (Callable): Called as ``(exc, interval)`` each time the
                connection can't be established.
            max_retries (int): Maximum number of times to retry; then the
                connection error is re-raised.
            interval_start (float): Seconds to sleep before the first retry.
            interval_step (float): Seconds added to the interval for each retry.
            interval_max (float): Maximum seconds to sleep between retries.
            callback (Callable): Called for every internal iteration (1 s).
            reraise_as_library_errors (bool): Raise transport errors as
                :exc:`kombu.exceptions.OperationalError`.
            timeout (int): Maximum seconds to spend waiting for the connection.
        """
        self._ensure_connection(errback, max_retries, interval_start, interval_step,
                                interval_max, callback, reraise_as_library_errors, timeout)
        return self

    def _ensure_connection(self, errback: Callable | None = None,
                           max_retries: int | None = None, interval_start: float = 2,
                           interval_step: float = 2, interval_max: float = 30,
                           callback: Callable | None = None,
                           reraise_as_library_errors: bool = True,
                           timeout: float | None = None) -> Any:
        if self.connected:
            return self._connection

        def on_error(exc: Exception, intervals: Iterator, retries: int) -> float:
            round = self.completes_cycle(retries)
            interval = next(intervals) if round else 0
            if errback:
                errback(exc, interval)
            self.maybe_switch_next()
            return interval

        ctx = self._reraise_as_library_errors if reraise_as_library_errors \
            else _dummy_context
        with ctx():
            self._connection = retry_over_time(
                self._connection_factory, self.recoverable_connection_errors,
                (), {}, on_error, max_retries, interval_start, interval_step,
                interval_max, callback, timeout)
        return self._connection

    @contextmanager
    def _reraise_as_library_errors(self, ConnectionError: type = exceptions.OperationalError,
                                   ChannelError: type = exceptions.OperationalError) -> Any:
        try:
            yield
        except (ConnectionError, ChannelError):
            raise
        except self.recoverable_connection_errors as exc:
            raise ConnectionError(str(exc) or repr(exc)) from exc
        except self.recoverable_channel_errors as exc:
            raise ChannelError(str(exc) or repr(exc)) from exc

    def revive(self, new_channel: Any) -> None:
        """Revive connection after connection re-established."""
        if self._default_channel and new_channel is not self._default_channel:
            self.maybe_close_channel(self._default_channel)
            self._default_channel = None

    def ensure(self, obj: Any, fun: Callable, errback: Callable | None = None,
               max_retries: int | None = None, interval_start: float = 1,
               interval_step: float = 1, interval_max: float = 1,
               on_revive: Callable | None = None) -> Callable:
        """Ensure operation completes, regardless of connection/channel errors.

        Returns a wrapper of ``fun`` that, on a recoverable error, re-establishes
        the connection, revives ``obj`` with the new channel and calls ``fun``
        again, up to ``max_retries`` times.

        Arguments:
            obj: The object to ensure an action on (revived on reconnect).
            fun (Callable): Method to apply.
            errback (Callable): Called as ``(exc, interval)`` on each failure.
            max_retries (int): Maximum number of times to retry.
            interval_start (float): Seconds we start sleeping for.
            interval_step (float): Seconds added to the interval for each retry.
            interval_max (float): Maximum seconds to sleep between each retry.
            on_revive (Callable): Called with the new channel after each revival.
        """
        def _ensured(*args: Any, **kwargs: Any) -> Any:
            conn_errors = self.recoverable_connection_errors
            chan_errors = self.recoverable_channel_errors
            for retries in count(0):
                with self._reraise_as_library_errors():
                    try:
                        return fun(*args, **kwargs)
                    except conn_errors as exc:
                        if max_retries is not None and retries >= max_retries:
                            raise
                        self._debug('ensure connection error: %r', exc, exc_info=1)
                        self.collect()
                        if errback:
                            errback(exc, 0)
                        remaining = None
                        if max_retries is not None:
                            remaining = max(max_retries - retries, 1)
                        self._ensure_connection(
                            errback, remaining, interval_start, interval_step,
                            interval_max, reraise_as_library_errors=False)
                        channel = self.default_channel
                        obj.revive(channel)
                        if on_revive:
                            on_revive(channel)
                    except chan_errors as exc:
                        if max_retries is not None and retries >= max_retries:
                            raise
                        self._debug('ensure channel error: %r', exc, exc_info=1)
                        if errback:
                            errback(exc, 0)
                        if self._default_channel is not None:
                            self.maybe_close_channel(self._default_channel)
                            self._default_channel = None
                        channel = self.default_channel
                        obj.revive(channel)
                        if on_revive:
                            on_revive(channel)
        _ensured.__name__ = f'{getattr(fun, "__name__", "fun")}(ensured)'
        _ensured.__doc__ = fun.__doc__
        _ensured.__module__ = getattr(fun, '__module__', None)
        return _ensured

    def autoretry(self, fun: Callable, channel: Any = None, **ensure_options: Any) -> Callable:
        """Decorator for functions supporting a ``channel`` keyword argument.

        The resulting callable retries ``fun`` on connection or channel errors
        and returns ``(retval, last_created_channel)``.
        """
        channels = [channel]

        class Revival:
            __name__ = getattr(fun, '__name__', None)
            __module__ = getattr(fun, '__module__', None)
            __doc__ = getattr(fun, '__doc__', None)

            def __init__(self, connection: Connection) -> None:
                self.connection = connection

            def revive(self, channel: Any) -> None:
                channels[0] = channel

            def __call__(self, *args: Any, **kwargs: Any) -> Any:
                if channels[0] is None:
                    self.revive(self.connection.default_channel)
                return fun(*args, channel=channels[0], **kwargs), channels[0]

        revive = Revival(self)
        return self.ensure(revive, revive, **ensure_options)

    # -- channels ------------------------------------------------------------

    def channel(self) -> Any:
        """Create and return a new channel."""
        self._debug('create channel')
        chan = self.transport.create_channel(self.connection)
        if _LOG_CHANNEL:
            logger.debug('[Kombu channel:%s] created', getattr(chan, 'channel_id', '?'))
        return chan

    @property
    def default_channel(self) -> Any:
        """Default channel, created upon access and closed with the connection.

        Connecting uses the retry settings in ``transport_options``
        (``max_retries``, ``interval_start``, ``interval_step``, ``interval_max``).
        """
        if self._default_channel is None or not self.connected:
            options = self.transport_options
            conn_opts = {key: options[key] for key in
                         ('max_retries', 'interval_start', 'interval_step', 'interval_max')
                         if key in options}
            self._ensure_connection(**conn_opts)
            if self._default_channel is None:
                self._default_channel = self.channel()
        return self._default_channel

    def maybe_close_channel(self, channel: Any) -> None:
        """Close given channel, but ignore connection and channel errors."""
        try:
            channel.close()
        except (self.connection_errors + self.channel_errors):
            pass

    def drain_events(self, **kwargs: Any) -> Any:
        """Wait for a single event from the server.

        Arguments:
            timeout (float): Timeout in seconds before we give up.

        Raises:
            socket.timeout: if the timeout is exceeded.
        """
        # hot path: an established connection is used as is (a dead one makes
        # the transport raise a connection error, which ensure() handles)
        connection = self._connection
        if connection is None or self._closed:
            connection = self.connection
        return (self._transport or self.transport).drain_events(connection, **kwargs)

    def heartbeat_check(self, rate: int = 2) -> Any:
        """Allow the transport to do periodic heartbeat work (call about once a second)."""
        return self.transport.heartbeat_check(self.connection, rate=rate)

    def get_heartbeat_interval(self) -> float:
        """Heartbeat interval negotiated by the transport (0 if none)."""
        return self.transport.get_heartbeat_interval(self.connection)

    def register_with_event_loop(self, loop: Any) -> None:
        """Register the connection's file descriptors with an event loop (Hub)."""
        self.transport.register_with_event_loop(self.connection, loop)

    # -- closing ---------------------------------------------------------------

    def _close(self) -> None:
        """Really close connection, even if part of a connection pool."""
        self._do_close_self()
        self._do_close_transport()
        self._debug('closed')
        self._closed = True

    def _do_close_self(self) -> None:
        self.declared_entities.clear()
        if self._default_channel:
            self.maybe_close_channel(self._default_channel)
        self._default_channel = None

    def _do_close_transport(self) -> None:
        if self._connection is not None:
            try:
                self.transport.close_connection(self._connection)
            except self.connection_errors + (AttributeError, OSError):
                pass
            self._connection = None

    def collect(self, socket_timeout: float | None = None) -> None:
        """Drop the connection's resources without closing it cleanly (e.g. after fork)."""
        try:
            gc_transport = self._transport._collect
        except AttributeError:
            _timeo = socket.getdefaulttimeout()
            socket.setdefaulttimeout(socket_timeout)
            try:
                self._close()
            except socket.timeout:
                pass
            finally:
                socket.setdefaulttimeout(_timeo)
        else:
            gc_transport(self._connection)
            self._do_close_self()
            self._connection = None
            self._closed = True

    def release(self) -> None:
        """Close the connection (if open)."""
        self._close()

    close = release

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *args: Any) -> None:
        self.release()

    # -- description -----------------------------------------------------------

    def _info(self, resolve: bool = True) -> list:
        transport_cls = self.transport_cls
        if resolve:
            transport_cls = self.resolve_aliases.get(transport_cls, transport_cls)
        D = self.transport.default_connection_params
        hostname = self.hostname or D.get('hostname') or 'localhost'
        if self.uri_prefix:
            hostname = f'{self.uri_prefix}+{hostname}'
        return [
            ('hostname', hostname),
            ('userid', self.userid or D.get('userid')),
            ('password', self.password or D.get('password')),
            ('virtual_host', self.virtual_host or D.get('virtual_host')),
            ('port', self._default_port(D)),
            ('insist', self.insist),
            ('ssl', self.ssl),
            ('transport', transport_cls),
            ('connect_timeout', self.connect_timeout),
            ('transport_options', self.transport_options),
            ('login_method', self.login_method or D.get('login_method')),
            ('uri_prefix', self.uri_prefix),
            ('heartbeat', self.heartbeat),
            ('failover_strategy', self._failover_strategy_arg),
            ('alternates', self.alt),
        ]

    def __eqhash__(self) -> int:
        """Hash of the parameters that make two connections interchangeable (pools key on it)."""
        return hash((self.transport_cls, self.hostname, self.userid, self.password,
                     self.virtual_host, self.port, repr(self.ssl),
                     repr(sorted(self.transport_options.items()))))

    def _default_port(self, D: dict | None = None) -> Any:
        """The port in use: ours, else the transport's default."""
        if self.port:
            return self.port
        D = self.transport.default_connection_params if D is None else D
        port = D.get('port')
        return getattr(self.transport, 'default_port', None) if port is None else port

    def info(self) -> dict:
        """Get connection info."""
        return dict(self._info())

    def as_uri(self, include_password: bool = False, mask: str = '**',
               getfields: Callable = itemgetter('port', 'userid', 'password',
                                                'virtual_host', 'transport')) -> str:
        """Convert connection parameters to URL form (password masked by default)."""
        hostname = self.hostname or 'localhost'
        if self.uri_prefix:
            if not include_password:
                hostname = maybe_sanitize_url(hostname, mask)
            return f'{self.uri_prefix}+{hostname}'
        if '://' in hostname:  # the transport parses its own URLs
            if include_password:
                return hostname
            return maybe_sanitize_url(hostname, mask)
        fields = self.info()
        port, userid, password, vhost, transport = getfields(fields)
        return as_url(_scheme_of(transport), hostname, port, userid, password, vhost,
                      sanitize=not include_password, mask=mask)

    def clone(self, **kwargs: Any) -> Connection:
        """Create a copy of the connection with same settings."""
        return self.__class__(**dict(self._info(resolve=False), **kwargs))

    def __copy__(self) -> Connection:
        return self.clone()

    def __reduce__(self) -> tuple:
        return self.__class__, tuple(self.info().values()), None

    def __repr__(self) -> str:
        return f'<Connection: {self.as_uri()} at {id(self):#x}>'

    def get_transport_cls(self) -> type:
        """Get the currently used transport class."""
        transport_cls = self.transport_cls
        if not transport_cls or isinstance(transport_cls, str):
            transport_cls = get_transport_cls(transport_cls)
        return transport_cls

    def create_transport(self) -> Any:
        """Instantiate the transport class for this connection."""
        return self.get_transport_cls()(client=self)

    @property
    def transport(self) -> Any:
        """The transport instance (created on first use)."""
        if self._transport is None:
            self._transport = self.create_transport()
        return self._transport

    @property
    def host(self) -> str:
        """The host as a host name/port pair separated by colon."""
        D = self.transport.default_connection_params
        hostname = self.hostname or D.get('hostname') or 'localhost'
        return f'{hostname}:{self._default_port(D)}'

    def supports_exchange_type(self, exchange_type: str) -> bool:
        """Return true if the transport implements ``exchange_type``."""
        return exchange_type in self.transport.implements.exchange_type

    @property
    def supports_heartbeats(self) -> bool:
        """True if the transport supports heartbeats."""
        return self.transport.implements.heartbeats

    @property
    def is_evented(self) -> bool:
        """True if the transport can be driven by an event loop."""
        return self.transport.implements.asynchronous

    @property
    def qos_semantics_matches_spec(self) -> bool:
        """True if basic.qos prefetch counts per consumer as in the AMQP spec."""
        return self.transport.qos_semantics_matches_spec(self.connection)

    def get_manager(self, *args: Any, **kwargs: Any) -> Any:
        """Return the transport's management helper."""
        return self.transport.get_manager(*args, **kwargs)

    @cached_property
    def manager(self) -> Any:
        """AMQP Management API (not available for all transports)."""
        return self.get_manager()

    @property
    def connection_errors(self) -> tuple:
        """List of exceptions that may be raised by the connection."""
        return self.transport.connection_errors

    @property
    def channel_errors(self) -> tuple:
        """List of exceptions that may be raised by the channel."""
        return self.transport.channel_errors

    @property
    def recoverable_connection_errors(self) -> tuple:
        """Errors after which the connection must be re-established."""
        try:
            return self.transport.recoverable_connection_errors
        except AttributeError:
            # unknown: everything but the channel errors is recoverable
            return self.connection_errors

    @property
    def recoverable_channel_errors(self) -> tuple:
        """Channel errors recoverable without re-establishing the connection."""
        try:
            return self.transport.recoverable_channel_errors
        except AttributeError:
            return ()

    # -- factories -----------------------------------------------------------

    def Pool(self, limit: int | None = None, **kwargs: Any) -> ConnectionPool:
        """Pool of connections (:class:`ConnectionPool`); ``limit`` None: unlimited."""
        return ConnectionPool(self, limit=limit, **kwargs)

    def ChannelPool(self, limit: int | None = None, **kwargs: Any) -> ChannelPool:
        """Pool of channels (:class:`ChannelPool`); ``limit`` None: unlimited."""
        return ChannelPool(self, limit=limit, **kwargs)

    def Producer(self, channel: Any = None, *args: Any, **kwargs: Any) -> Any:
        """Create new :class:`kombu.Producer` instance."""
        from .messaging import Producer
        return Producer(channel or self, *args, **kwargs)

    def Consumer(self, queues: Any = None, channel: Any = None, *args: Any,
                 **kwargs: Any) -> Any:
        """Create new :class:`kombu.Consumer` instance."""
        from .messaging import Consumer
        return Consumer(channel or self, queues, *args, **kwargs)

    def SimpleQueue(self, name: Any, no_ack: bool | None = None, queue_opts: dict | None = None,
                    queue_args: dict | None = None, exchange_opts: dict | None = None,
                    channel: Any = None, **kwargs: Any) -> Any:
        """Simple persistent queue API (:class:`kombu.simple.SimpleQueue`).

        If ``name`` is a string, a queue and exchange of that name are
        created, and the name is also the routing key.
        """
        from .simple import SimpleQueue
        return SimpleQueue(channel or self, name, no_ack, queue_opts, queue_args,
                           exchange_opts, **kwargs)

    def SimpleBuffer(self, name: Any, no_ack: bool | None = None,
                     queue_opts: dict | None = None, queue_args: dict | None = None,
                     exchange_opts: dict | None = None, channel: Any = None,
                     **kwargs: Any) -> Any:
        """Simple ephemeral queue API (transient, auto-delete, no_ack)."""
        from .simple import SimpleBuffer
        return SimpleBuffer(channel or self, name, no_ack, queue_opts, queue_args,
                            exchange_opts, **kwargs)


BrokerConnection = Connection


@contextmanager
def _dummy_context() -> Iterator[None]:
    yield




class ConnectionPool(Resource):
    """Pool of connections."""

    LimitExceeded = exceptions.ConnectionLimitExceeded
    close_after_fork = True

    def __init__(self, connection: Connection, limit: int | None = None,
                 **kwargs: Any) -> None:
        self.connection = connection
        super().__init__(limit=limit, **kwargs)

    def new(self) -> Connection:
        """Create a new connection (a clone of the template)."""
        return self.connection.clone()

    def release_resource(self, resource: Connection) -> None:
        resource._debug('released')

    @contextmanager
    def acquire_channel(self, block: bool = False) -> Iterator[tuple[Connection, Any]]:
        """Acquire a connection; yield ``(connection, connection.default_channel)``.

        The connection goes back to the pool when the block ends (Celery's
        result backends use this).
        """
        with self.acquire(block=block) as connection:
            yield connection, connection.default_channel

    def close_resource(self, resource: Connection) -> None:
        resource._close()

    def collect_resource(self, resource: Any, socket_timeout: float = 0.1) -> Any:
        if not isinstance(resource, lazy):
            return resource.collect(socket_timeout)

    def prepare(self, resource: Any) -> Any:
        if isinstance(resource, lazy):
            resource = resource()
        resource._debug('acquired')
        return resource

    def setup(self) -> None:
        if self.limit:
            q = self._resource.queue
            while len(q) < self.limit:
                if len(q) < self.preload:
                    conn = self.new()
                    conn.connect()
                else:
                    conn = lazy(self.new)
                self._resource.put_nowait(conn)


class ChannelPool(Resource):
    """Pool of channels."""

    LimitExceeded = exceptions.ChannelLimitExceeded

    def __init__(self, connection: Connection, limit: int | None = None,
                 **kwargs: Any) -> None:
        self.connection = connection
        super().__init__(limit=limit, **kwargs)

    def new(self) -> Any:
        """Return a promise of a new channel."""
        return lazy(self.connection.channel)

    def setup(self) -> None:
        if self.limit:
            q = self._resource.queue
            while len(q) < self.limit:
                channel = self.new()
                if len(q) < self.preload:
                    channel = channel()
                self._resource.put_nowait(channel)

    def prepare(self, channel: Any) -> Any:
        if isinstance(channel, lazy):
            channel = channel()
        return channel

"""Base async HTTP client implementation."""
from __future__ import annotations

from http.client import responses
from typing import Any, Callable

from vine import Thenable, maybe_promise, promise

from kombu.exceptions import HttpError
from kombu.utils.encoding import bytes_to_str
from kombu.utils.functional import maybe_list, memoize

__all__ = ('Headers', 'Response', 'Request', 'BaseClient', 'normalize_header')

@memoize(maxsize=1000)
def normalize_header(key: str) -> str:
    """``content-type`` -> ``Content-Type``."""
    return '-'.join(p.capitalize() for p in key.split('-'))


class Headers(dict):
    """Represents a mapping of HTTP headers."""

    #: Set when all of the headers have been read.
    complete = False

    #: Internal attribute used to keep track of continuation lines.
    _prev_key: str | None = None


@Thenable.register
class Request:
    """A HTTP Request.

    Arguments:
        url (str): The URL to request.
        method (str): The HTTP method to use (defaults to ``GET``).

    Keyword Arguments:
        headers, body, connect_timeout, request_timeout (alias ``timeout``),
        follow_redirects, max_redirects, use_gzip, validate_cert,
        auth_username, auth_password, auth_mode, user_agent,
        network_interface, on_ready, on_stream, on_timeout, on_header,
        on_prepare, proxy_host, proxy_port, proxy_username, proxy_password,
        ca_certs, client_key, client_cert: see the attributes.
    """

    body: Any = None
    user_agent: str | None = None
    network_interface: str | None = None
    request_timeout = 30.0
    connect_timeout = 30.0
    follow_redirects = True
    max_redirects = 6
    use_gzip = True
    validate_cert = True
    auth_username: str | None = None
    auth_password: str | None = None
    auth_mode: str | None = None
    proxy_host: str | None = None
    proxy_port: int | None = None
    proxy_username: str | None = None
    proxy_password: str | None = None
    ca_certs: str | None = None
    client_key: str | None = None
    client_cert: str | None = None

    __slots__ = ('url', 'method', 'on_ready', 'on_timeout', 'on_stream', 'on_prepare',
                 'on_header', 'headers', '__weakref__', '__dict__')

    def __init__(self, url: str, method: str = 'GET', on_ready: Callable | None = None,
                 on_timeout: Callable | None = None, on_stream: Callable | None = None,
                 on_prepare: Callable | None = None, on_header: Callable | None = None,
                 headers: dict | None = None, **kwargs: Any) -> None:
        if not url or not isinstance(url, str):
            raise ValueError(f'Request needs a URL string, got {url!r}')
        self.url = url
        self.method = (method or 'GET').upper()
        self.on_ready = maybe_promise(on_ready) or promise()
        self.on_timeout = maybe_promise(on_timeout)
        self.on_stream = maybe_promise(on_stream)
        self.on_prepare = maybe_promise(on_prepare)
        self.on_header = maybe_promise(on_header)
        if 'timeout' in kwargs:
            kwargs['request_timeout'] = kwargs.pop('timeout')
        if kwargs:
            for key, value in kwargs.items():
                setattr(self, key, value)
        if not isinstance(headers, Headers):
            headers = Headers(headers or {})
        self.headers = headers
        if self.proxy_host is not None and self.proxy_port is None:
            raise ValueError(f'proxy_host {self.proxy_host!r} given without proxy_port')

    def then(self, callback: Callable, errback: Callable | None = None) -> Any:
        """Call ``callback(response)`` when the response is ready."""
        return self.on_ready.then(callback, errback)

    def __repr__(self) -> str:
        return f'<Request: {self.method} {self.url}>'


class Response:
    """HTTP Response.

    Arguments:
        request (Request): the request that got this response.
        code (int): HTTP response code (e.g. 200, 404, or 500).
        headers (Headers): HTTP headers for this response.
        buffer (BytesIO): socket read buffer.
        effective_url (str): the URL after following redirects.
        error (Exception): error instance if the request failed.
        status (str): human equivalent of `code` (e.g. ``OK``).
    """

    __slots__ = ('request', 'code', 'headers', 'buffer', 'effective_url',
                 'error', 'status', '_body', '__weakref__')

    def __init__(self, request: Request, code: int, headers: Headers | None = None,
                 buffer: Any = None, effective_url: str | None = None,
                 error: Exception | None = None, status: str | None = None) -> None:
        self.request = request
        self.code = code
        self.headers = headers if headers is not None else Headers()
        self.buffer = buffer
        self.effective_url = effective_url or request.url
        self._body: bytes | None = None
        self.status = status or responses.get(self.code, 'Unknown')
        self.error = error
        if self.error is None and (self.code < 200 or self.code > 299):
            self.error = HttpError(self.code, self.status, self)

    def raise_for_error(self) -> None:
        """Raise if the request resulted in an HTTP error code.

        Raises:
            HttpError: the error of this response.
        """
        if self.error:
            raise self.error

    @property
    def body(self) -> bytes | None:
        """The full contents of the response body (read from the buffer once)."""
        if self._body is None and self.buffer is not None:
            value = self.buffer
            self._body = value.getvalue() if hasattr(value, 'getvalue') else bytes(value)
        return self._body

    # these are for compatibility with Requests
    @property
    def status_code(self) -> int:
        return self.code

    @property
    def content(self) -> bytes | None:
        return self.body

    def __repr__(self) -> str:
        return f'<Response: {self.code} {self.status} {self.effective_url}>'


def header_parser(keyt: Callable[[str], str] = normalize_header) -> Any:
    """Coroutine parsing header lines into a :class:`Headers` mapping."""
    while True:
        (line, headers) = yield
        if line.startswith('HTTP/'):
            # a new response (e.g. after a redirect or 100-continue)
            headers.clear()
            headers.complete = False
            headers._prev_key = None
            continue
        if not line.strip():
            headers.complete = True
            continue
        if line[0].isspace():
            key = headers._prev_key
            if key is not None:
                headers[key] = ' '.join([headers.get(key) or '', line.strip()])
            continue
        key, sep, value = line.partition(':')
        if not sep:
            continue
        key = headers._prev_key = keyt(key.strip())
        value = value.strip()
        if key in headers:
            headers[key] = ', '.join([headers[key], value])
        else:
            headers[key] = value


class BaseClient:
    """Base class for HTTP clients: queue requests, parse headers."""

    Headers = Headers
    Request = Request
    Response = Response

    def __init__(self, hub: Any = None, **kwargs: Any) -> None:
        self.hub = hub
        self._header_parser = header_parser()
        next(self._header_parser)

    def perform(self, request: Any, **kwargs: Any) -> Any:
        """Send ``request`` (a :class:`Request` or a URL); return the request."""
        for req in maybe_list(request) or []:
            if not isinstance(req, self.Request):
                req = self.Request(req, **kwargs)
            self.add_request(req)
        return request

    def add_request(self, request: Request) -> Request:
        raise NotImplementedError(f'{type(self).__name__} must implement add_request')

    def close(self) -> None:
        """Release the client's resources."""

    def on_header(self, headers: Headers, line: Any) -> None:
        """Parse one header line received from the server into ``headers``."""
        try:
            self._header_parser.send((bytes_to_str(line), headers))
        except StopIteration:  # pragma: no cover - the parser never stops
            self._header_parser = header_parser()
            next(self._header_parser)

    def __enter__(self) -> BaseClient:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

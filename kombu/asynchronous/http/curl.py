"""HTTP Client using pyCurl."""
from __future__ import annotations

from collections import deque
from functools import partial
from io import BytesIO
from time import monotonic
from typing import Any

from kombu.asynchronous.hub import get_event_loop
from kombu.exceptions import HttpError
from kombu.utils.encoding import bytes_to_str

from .base import BaseClient, Request

try:
    import pycurl
except ImportError:  # pragma: no cover - optional dependency
    pycurl = Curl = METH_TO_CURL = None
else:
    from pycurl import Curl

    METH_TO_CURL = {
        'GET': pycurl.HTTPGET,
        'POST': pycurl.POST,
        'PUT': pycurl.UPLOAD,
        'HEAD': pycurl.NOBODY,
    }

__all__ = ('CurlClient',)

DEFAULT_USER_AGENT = 'Mozilla/5.0 (compatible; pycurl)'
EXTRA_METHODS = frozenset(['DELETE', 'OPTIONS', 'PATCH'])


class CurlClient(BaseClient):
    """Curl HTTP Client (drives a ``pycurl.CurlMulti`` from the event loop).

    Arguments:
        hub (kombu.asynchronous.Hub): the event loop (default: the current one).
        max_clients (int): most requests in flight at once; others wait in a queue.
    """

    Curl = Curl

    def __init__(self, hub: Any = None, max_clients: int = 10) -> None:
        if pycurl is None:
            raise ImportError(
                'The curl client requires the pycurl library: pip install "kombu[sqs]"')
        hub = hub or get_event_loop()
        if hub is None:
            raise ValueError('CurlClient needs an event loop (kombu.asynchronous.Hub)')
        super().__init__(hub)
        self.max_clients = max_clients
        self._multi = pycurl.CurlMulti()
        self._multi.setopt(pycurl.M_TIMERFUNCTION, self._set_timeout)
        self._multi.setopt(pycurl.M_SOCKETFUNCTION, self._handle_socket)
        self._curls = [self.Curl() for _ in range(max_clients)]
        self._free_list = self._curls[:]
        self._pending: deque = deque()
        self._fds: dict[int, int] = {}
        self._timeout_entry: Any = None
        self._closed = False

    def close(self) -> None:
        """Stop timers, unregister sockets and close every curl handle."""
        if self._closed:
            return
        self._closed = True
        if self._timeout_entry is not None:
            self._timeout_entry.cancel()
            self._timeout_entry = None
        for fd in list(self._fds):
            self.hub.remove(fd)
        self._fds.clear()
        for curl in self._curls:
            info = getattr(curl, 'info', None)
            if info is not None:
                try:
                    self._multi.remove_handle(curl)
                except pycurl.error:  # pragma: no cover
                    pass
            curl.close()
        self._multi.close()

    def add_request(self, request: Request) -> Request:
        """Queue ``request``; it is sent as soon as a curl handle is free."""
        if self._closed:
            raise RuntimeError('CurlClient is closed')
        self._pending.append(request)
        self._process_queue()
        self._set_timeout(0)
        return request

    # -- pycurl callbacks ----------------------------------------------------

    def _handle_socket(self, event: int, fd: int, multi: Any, data: Any,
                       _pycurl: Any = pycurl) -> None:
        if event == _pycurl.POLL_REMOVE:
            if fd in self._fds:
                self.hub.remove(fd)
                self._fds.pop(fd, None)
            return
        if fd in self._fds:
            self.hub.remove(fd)
        if event in (_pycurl.POLL_IN, _pycurl.POLL_INOUT):
            self.hub.add_reader(fd, self.on_readable, fd)
        if event in (_pycurl.POLL_OUT, _pycurl.POLL_INOUT):
            self.hub.add_writer(fd, self.on_writable, fd)
        self._fds[fd] = event

    def _set_timeout(self, msecs: int) -> None:
        if self._closed:
            return
        if self._timeout_entry is not None:
            self._timeout_entry.cancel()
            self._timeout_entry = None
        if msecs >= 0:
            self._timeout_entry = self.hub.call_later(msecs / 1000.0, self._timeout_check)

    def _timeout_check(self, _pycurl: Any = pycurl) -> None:
        self._timeout_entry = None
        if self._closed:
            return
        while True:
            try:
                ret, _ = self._multi.socket_action(_pycurl.SOCKET_TIMEOUT, 0)
            except _pycurl.error as exc:
                ret = exc.args[0]
            if ret != _pycurl.E_CALL_MULTI_PERFORM:
                break
        self._process_pending_requests()

    def on_readable(self, fd: int, _pycurl: Any = pycurl) -> None:
        return self._on_event(fd, _pycurl.CSELECT_IN)

    def on_writable(self, fd: int, _pycurl: Any = pycurl) -> None:
        return self._on_event(fd, _pycurl.CSELECT_OUT)

    def _on_event(self, fd: int, event: int, _pycurl: Any = pycurl) -> None:
        if self._closed:
            return
        while True:
            try:
                ret, _ = self._multi.socket_action(fd, event)
            except _pycurl.error as exc:
                ret = exc.args[0]
            if ret != _pycurl.E_CALL_MULTI_PERFORM:
                break
        self._process_pending_requests()

    # -- request life cycle --------------------------------------------------

    def _process_pending_requests(self) -> None:
        while True:
            q, succeeded, failed = self._multi.info_read()
            for curl in succeeded:
                self._process(curl)
            for curl, errno, reason in failed:
                self._process(curl, errno, reason)
            if q == 0:
                break
        self._process_queue()

    def _process_queue(self) -> None:
        while self._free_list and self._pending:
            curl = self._free_list.pop()
            request = self._pending.popleft()
            headers = self.Headers()
            buf = BytesIO()
            curl.info = {
                'headers': headers,
                'buffer': buf,
                'request': request,
                'curl_start_time': monotonic(),
            }
            try:
                self._setup_request(curl, request, buf, headers)
            except Exception as exc:
                curl.info = None
                self._free_list.append(curl)
                request.on_ready(self.Response(
                    request=request, code=599, headers=headers, buffer=None,
                    error=exc))
                continue
            self._multi.add_handle(curl)

    def _process(self, curl: Any, errno: int | None = None, reason: str | None = None,
                 _pycurl: Any = pycurl) -> None:
        info, curl.info = curl.info, None
        self._multi.remove_handle(curl)
        self._free_list.append(curl)
        buffer = info['buffer']
        if errno:
            code = 599
            error: Exception | None = HttpError(code, reason or f'curl error {errno}')
            error.errno = errno  # type: ignore[attr-defined]
            effective_url = None
            buffer.close()
            buffer = None
        else:
            error = None
            code = curl.getinfo(_pycurl.HTTP_CODE)
            effective_url = curl.getinfo(_pycurl.EFFECTIVE_URL)
            buffer.seek(0)
        request = info['request']
        if errno == getattr(_pycurl, 'E_OPERATION_TIMEDOUT', 28) and request.on_timeout:
            request.on_timeout()
        request.on_ready(self.Response(
            request=request, code=code, headers=info['headers'],
            buffer=buffer, effective_url=effective_url, error=error,
        ))

    def _setup_request(self, curl: Any, request: Request, buffer: BytesIO,
                       headers: Any, _pycurl: Any = pycurl) -> None:
        setopt = curl.setopt
        setopt(_pycurl.URL, bytes_to_str(request.url))

        # no 100-continue round trip; no cache directives
        request.headers.setdefault('Expect', '')
        request.headers.setdefault('Pragma', '')

        setopt(_pycurl.HTTPHEADER, [f'{k}: {v}' for k, v in request.headers.items()])
        setopt(_pycurl.HEADERFUNCTION,
               partial(request.on_header or self.on_header, headers))
        setopt(_pycurl.WRITEFUNCTION, request.on_stream or buffer.write)
        setopt(_pycurl.FOLLOWLOCATION, request.follow_redirects)
        setopt(_pycurl.USERAGENT, bytes_to_str(request.user_agent or DEFAULT_USER_AGENT))
        if request.network_interface:
            setopt(_pycurl.INTERFACE, request.network_interface)
        setopt(_pycurl.ENCODING, 'gzip,deflate' if request.use_gzip else 'none')
        if request.proxy_host:
            if not request.proxy_port:
                raise ValueError('Request with proxy_host but no proxy_port')
            setopt(_pycurl.PROXY, request.proxy_host)
            setopt(_pycurl.PROXYPORT, request.proxy_port)
            if request.proxy_username:
                setopt(_pycurl.PROXYUSERPWD,
                       f'{request.proxy_username}:{request.proxy_password or ""}')
        else:
            setopt(_pycurl.PROXY, '')
            curl.unsetopt(_pycurl.PROXYUSERPWD)

        setopt(_pycurl.SSL_VERIFYPEER, 1 if request.validate_cert else 0)
        setopt(_pycurl.SSL_VERIFYHOST, 2 if request.validate_cert else 0)
        if request.ca_certs is not None:
            setopt(_pycurl.CAINFO, request.ca_certs)

        setopt(_pycurl.IPRESOLVE, _pycurl.IPRESOLVE_WHATEVER)

        for meth in METH_TO_CURL.values():
            setopt(meth, False)
        try:
            meth = METH_TO_CURL[request.method]
        except KeyError:
            curl.setopt(_pycurl.CUSTOMREQUEST, request.method)
        else:
            curl.unsetopt(_pycurl.CUSTOMREQUEST)
            setopt(meth, True)

        if request.method in ('POST', 'PUT'):
            body = request.body.encode('utf-8') if isinstance(request.body, str) \
                else (request.body or b'')
            reqbuffer = BytesIO(body)
            setopt(_pycurl.READFUNCTION, reqbuffer.read)
            if request.method == 'POST':
                def seek(offset: int, origin: int) -> int:
                    reqbuffer.seek(offset, origin)
                    return 0
                setopt(_pycurl.SEEKFUNCTION, seek)
                setopt(_pycurl.POSTFIELDSIZE, len(body))
            else:
                setopt(_pycurl.INFILESIZE, len(body))
        elif request.body:
            raise ValueError(f'A {request.method} request cannot have a body')

        if request.auth_username is not None:
            auth_mode = {
                'basic': _pycurl.HTTPAUTH_BASIC,
                'digest': _pycurl.HTTPAUTH_DIGEST,
            }[request.auth_mode or 'basic']
            setopt(_pycurl.HTTPAUTH, auth_mode)
            setopt(_pycurl.USERPWD, f'{request.auth_username}:{request.auth_password or ""}')
        else:
            curl.unsetopt(_pycurl.USERPWD)

        if request.client_cert is not None:
            setopt(_pycurl.SSLCERT, request.client_cert)
        if request.client_key is not None:
            setopt(_pycurl.SSLKEY, request.client_key)

        setopt(_pycurl.CONNECTTIMEOUT_MS, int(1000 * request.connect_timeout))
        setopt(_pycurl.TIMEOUT_MS, int(1000 * request.request_timeout))
        setopt(_pycurl.MAXREDIRS, request.max_redirects)

        if request.on_prepare is not None:
            request.on_prepare(curl)

"""kombu.asynchronous.http: Request/Response/Headers, and the curl client on the Hub.

The curl client talks to a small HTTP server run in a thread of the test process.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO

import pytest
from vine import promise

from kombu.asynchronous import Hub
from kombu.asynchronous.http import BaseClient, Client, Headers, Request, Response, get_client
from kombu.asynchronous.http import base as http_base
from kombu.exceptions import HttpError


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _reply(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == '/slow':
            time.sleep(1.0)
        if self.path == '/missing':
            return self._reply(404, b'nope')
        if self.path == '/redirect':
            return self._reply(302, b'', [('Location', '/hello')])
        self._reply(200, json.dumps({
            'path': self.path, 'ua': self.headers.get('User-Agent'),
            'x': self.headers.get('X-Test')}).encode(),
            [('Content-Type', 'application/json'), ('X-Multi', 'a'), ('X-Multi', 'b')])

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        self._reply(201, b'echo:' + body)

    def do_DELETE(self):
        self._reply(200, b'deleted ' + self.path.encode())


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address):
        pass                      # the client gave up (timeout test): nothing to report


@pytest.fixture(scope='module')
def server():
    httpd = QuietServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}'
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def hub():
    pytest.importorskip('pycurl')
    hub = Hub()
    yield hub
    client = getattr(hub, '_current_http_client', None)
    if client is not None:
        client.close()
    hub.close()


def run(hub, done, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        hub.run_once()
    assert done(), 'timed out'


# -- base -----------------------------------------------------------------------

def test_request_defaults():
    r = Request('http://x/')
    assert r.method == 'GET' and r.url == 'http://x/'
    assert isinstance(r.headers, Headers) and r.headers == {}
    assert r.connect_timeout == 30.0 and r.request_timeout == 30.0
    assert r.follow_redirects is True and r.max_redirects == 6
    assert r.use_gzip is True and r.validate_cert is True
    for attr in ('body', 'user_agent', 'network_interface', 'auth_username',
                 'auth_password', 'auth_mode', 'proxy_host', 'proxy_port', 'proxy_username',
                 'proxy_password', 'ca_certs', 'client_key', 'client_cert'):
        assert getattr(r, attr) is None, attr
    assert r.on_timeout is None and r.on_stream is None


def test_request_options_and_then():
    got = []
    r = Request('http://x/', method='post', headers={'A': '1'}, timeout=3, body='b',
                user_agent='ua')
    assert r.method == 'POST' and r.request_timeout == 3 and r.body == 'b'
    assert r.headers == {'A': '1'} and r.user_agent == 'ua'
    r.then(got.append)
    r.on_ready('response')
    assert got == ['response']


def test_request_bad_input():
    with pytest.raises(ValueError, match='None'):
        Request(None)
    with pytest.raises(ValueError, match='proxy'):
        Request('http://x/', proxy_host='proxy')


def test_response():
    req = Request('http://x/')
    r = Response(req, 200, Headers({'A': 'b'}), BytesIO(b'data'))
    assert r.body == b'data' and r.content == b'data' and r.status_code == 200
    assert r.status == 'OK' and r.effective_url == 'http://x/' and r.error is None
    r.raise_for_error()
    bad = Response(req, 404, buffer=BytesIO(b''))
    assert isinstance(bad.error, HttpError) and bad.error.code == 404
    assert bad.status == 'Not Found'
    with pytest.raises(HttpError):
        bad.raise_for_error()
    failed = Response(req, 599, error=OSError('boom'))
    assert failed.body is None
    with pytest.raises(OSError):
        failed.raise_for_error()


def test_header_parsing():
    client = BaseClient()
    h = Headers()
    for line in (b'HTTP/1.1 200 OK\r\n', b'content-type: text/plain\r\n',
                 b'X-Long: part1\r\n', b'  part2\r\n', b'set-cookie: a\r\n',
                 b'Set-Cookie: b\r\n', b'\r\n'):
        client.on_header(h, line)
    assert h == {'Content-Type': 'text/plain', 'X-Long': 'part1 part2',
                 'Set-Cookie': 'a, b'}
    assert h.complete is True
    client.on_header(h, 'HTTP/1.1 302 Found\r\n')       # next response starts afresh
    assert h == {} and h.complete is False
    assert http_base.normalize_header('x-amz-target') == 'X-Amz-Target'


def test_base_client_is_abstract():
    with pytest.raises(NotImplementedError):
        BaseClient().perform('http://x/')


def test_client_needs_a_hub():
    pytest.importorskip('pycurl')
    from kombu.asynchronous import set_event_loop
    prev = set_event_loop(None)
    try:
        with pytest.raises(ValueError, match='event loop'):
            Client()
    finally:
        set_event_loop(prev)


# -- curl -----------------------------------------------------------------------

def test_get_client_is_one_per_hub(hub):
    from kombu.asynchronous.http.curl import CurlClient
    c1 = get_client(hub)
    assert isinstance(c1, CurlClient) and get_client(hub) is c1
    assert CurlClient.Curl is not None
    other = Hub()
    try:
        c2 = get_client(other)
        assert c2 is not c1
        c2.close()
        c2.close()                                      # twice is fine
        assert get_client(other) is not c2              # a closed client is replaced
        other._current_http_client.close()
    finally:
        other.close()


def test_get(hub, server):
    client = get_client(hub)
    got = []
    client.add_request(Request(server + '/hello', headers={'X-Test': 'yes'},
                               user_agent='kombu-test', on_ready=promise(got.append)))
    run(hub, lambda: got)
    r = got[0]
    assert r.code == 200 and r.error is None
    assert json.loads(r.body) == {'path': '/hello', 'ua': 'kombu-test', 'x': 'yes'}
    assert r.headers['Content-Type'] == 'application/json'
    assert r.headers['X-Multi'] == 'a, b'
    assert r.effective_url == server + '/hello'


def test_post_delete_redirect_and_errors(hub, server):
    client = get_client(hub)
    out = {}
    client.add_request(Request(server + '/p', method='POST', body='payload',
                               on_ready=lambda r: out.setdefault('post', r)))
    client.add_request(Request(server + '/thing', method='DELETE',
                               on_ready=lambda r: out.setdefault('delete', r)))
    client.add_request(Request(server + '/redirect',
                               on_ready=lambda r: out.setdefault('redirect', r)))
    client.add_request(Request(server + '/missing',
                               on_ready=lambda r: out.setdefault('missing', r)))
    run(hub, lambda: len(out) == 4)
    assert out['post'].code == 201 and out['post'].body == b'echo:payload'
    assert out['delete'].body == b'deleted /thing'
    assert out['redirect'].code == 200
    assert out['redirect'].effective_url == server + '/hello'
    assert out['missing'].code == 404 and isinstance(out['missing'].error, HttpError)


def test_connection_refused(hub):
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    got = []
    get_client(hub).add_request(Request(f'http://127.0.0.1:{port}/', on_ready=got.append))
    run(hub, lambda: got)
    assert got[0].code == 599 and isinstance(got[0].error, HttpError)
    with pytest.raises(HttpError):
        got[0].raise_for_error()


def test_timeout(hub, server):
    got, timeouts = [], []
    get_client(hub).add_request(Request(server + '/slow', request_timeout=0.3,
                                        on_timeout=lambda: timeouts.append(1),
                                        on_ready=got.append))
    run(hub, lambda: got)
    assert got[0].code == 599 and timeouts == [1]


def test_max_clients_queues_requests(hub, server):
    from kombu.asynchronous.http.curl import CurlClient
    client = CurlClient(hub, max_clients=1)
    try:
        got = []
        for i in range(4):
            client.add_request(Request(f'{server}/n{i}', on_ready=got.append))
        assert len(client._pending) == 3
        run(hub, lambda: len(got) == 4)
        assert sorted(json.loads(r.body)['path'] for r in got) == [
            '/n0', '/n1', '/n2', '/n3']
    finally:
        client.close()
    with pytest.raises(RuntimeError):
        client.add_request(Request(server + '/'))


def test_on_stream_and_on_prepare(hub, server):
    chunks, prepared, got = [], [], []
    get_client(hub).add_request(Request(server + '/s', on_stream=chunks.append,
                                        on_prepare=prepared.append, on_ready=got.append))
    run(hub, lambda: got)
    assert b''.join(chunks).startswith(b'{"path": "/s"')
    assert len(prepared) == 1 and got[0].body == b''


def test_get_with_body_is_refused(hub, server):
    got = []
    get_client(hub).add_request(Request(server + '/', body='x', on_ready=got.append))
    assert got and got[0].code == 599 and isinstance(got[0].error, ValueError)

"""Amazon AWS Connection (requests signed with botocore's SigV4 signer, sent by curl)."""
from __future__ import annotations

from typing import Any, Callable

from vine import promise

from kombu.asynchronous.http import Headers, Request, get_client
from kombu.exceptions import HttpError

from .ext import ClientError, require_boto3

__all__ = ('AsyncHTTPSConnection', 'AsyncHTTPResponse', 'AsyncConnection',
           'AsyncAWSQueryConnection')


class AsyncHTTPResponse:
    """Async HTTP Response (an :mod:`http.client`-like view of a curl response)."""

    def __init__(self, response: Any) -> None:
        self.response = response
        self.version = 11

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        return self.response.body or b''

    def getheader(self, name: str, default: Any = None) -> Any:
        return self.response.headers.get(name, default)

    def getheaders(self) -> list:
        return list(self.response.headers.items())

    @property
    def msg(self) -> Any:
        return self.response.headers

    @property
    def status(self) -> int:
        return self.response.code

    @property
    def reason(self) -> str:
        if self.response.error is not None:
            return str(self.response.error)
        return self.response.status

    def __repr__(self) -> str:
        return repr(self.response)


class AsyncHTTPSConnection:
    """Async HTTP Connection (an :mod:`http.client`-like front to the async client)."""

    Request = Request
    Response = AsyncHTTPResponse

    method = 'GET'
    path = '/'
    body: Any = None
    default_ports = {'http': 80, 'https': 443}

    def __init__(self, strict: Any = None, timeout: float = 20.0,
                 http_client: Any = None) -> None:
        self.headers: list = []
        self.timeout = timeout
        self.strict = strict
        self.http_client = http_client or get_client()

    def request(self, method: str, path: str, body: Any = None,
                headers: dict | None = None) -> None:
        """Set method, URL (``path``), body and headers of the next request."""
        self.path = path
        self.method = method
        if body is not None:
            try:
                read = body.read
            except AttributeError:
                self.body = body
            else:
                self.body = read()
        if headers is not None:
            self.headers.extend(list(headers.items()))

    def getrequest(self) -> Request:
        """Build the :class:`~kombu.asynchronous.http.Request` to send."""
        return self.Request(self.path, method=self.method, headers=Headers(self.headers),
                            body=self.body, connect_timeout=self.timeout,
                            request_timeout=self.timeout, validate_cert=True)

    def getresponse(self, callback: Callable | None = None) -> Request:
        """Send the request; ``callback(AsyncHTTPResponse)`` gets the answer."""
        request = self.getrequest()
        if callback is not None:
            request.then(lambda response: callback(self.Response(response)))
        return self.http_client.add_request(request)

    def set_debuglevel(self, level: int) -> None:
        pass

    def connect(self) -> None:
        pass

    def close(self) -> None:
        pass

    def putrequest(self, method: str, path: str) -> None:
        self.method = method
        self.path = path

    def putheader(self, header: str, value: Any) -> None:
        self.headers.append((header, value))

    def endheaders(self) -> None:
        pass

    def send(self, data: Any) -> None:
        if self.body:
            self.body += data
        else:
            self.body = data

    def __repr__(self) -> str:
        return f'<AsyncHTTPConnection: {self.getrequest()!r}>'


class AsyncConnection:
    """Async AWS Connection.

    Arguments:
        sqs_connection: a boto3 client; it supplies the endpoint, the region,
            the credentials and the request signer.
        http_client: the async HTTP client (default: the current hub's).
    """

    def __init__(self, sqs_connection: Any, http_client: Any = None,
                 **kwargs: Any) -> None:
        self.sqs_connection = sqs_connection
        self._httpclient = http_client or get_client()
        #: Seconds a request may take (longer than the longest SQS long poll, 20 s).
        self.timeout = float(kwargs.get('timeout', 30.0))

    def get_http_connection(self) -> AsyncHTTPSConnection:
        return AsyncHTTPSConnection(http_client=self._httpclient, timeout=self.timeout)

    def _mexe(self, request: Any, sender: Any = None,
              callback: Callable | None = None) -> Request:
        """Send a prepared (signed) botocore request; ``callback(AsyncHTTPResponse)``."""
        conn = self.get_http_connection()
        conn.request(request.method, request.url, request.body, dict(request.headers))
        return conn.getresponse(callback=callback)


class AsyncAWSQueryConnection(AsyncConnection):
    """Async AWS API connection: botocore serializes, signs (SigV4) and parses.

    The operation names and parameters are those of the boto3 client
    (e.g. ``'ReceiveMessage'``, ``{'QueueUrl': ..., 'MaxNumberOfMessages': 10}``),
    so the wire protocol is whatever botocore uses for the service.
    """

    STATUS_CODE_OK = 200

    def __init__(self, sqs_connection: Any, http_client: Any = None,
                 http_client_params: dict | None = None, **kwargs: Any) -> None:
        require_boto3()
        super().__init__(sqs_connection, http_client,
                         **dict(kwargs, **(http_client_params or {})))

    def _prepare(self, operation: str, params: dict) -> tuple[Any, Any]:
        from botocore.awsrequest import create_request_object, prepare_request_dict
        from botocore.serialize import create_serializer
        client = self.sqs_connection
        model = client.meta.service_model.operation_model(operation)
        serializer = create_serializer(model.metadata['protocol'], include_validation=True)
        request_dict = serializer.serialize_to_request(params, model)
        prepare_request_dict(request_dict, endpoint_url=client.meta.endpoint_url,
                             context={'client_region': client.meta.region_name})
        aws_request = create_request_object(request_dict)
        client._request_signer.sign(operation, aws_request)   # SigV4
        return model, aws_request.prepare()

    def make_request(self, operation: str, params: dict | None = None,
                     path: str | None = None, verb: str | None = None,
                     callback: Callable | None = None) -> Request:
        """Call API ``operation``; ``callback(parsed_response)`` gets the result dict.

        Errors go to the callback's errback (a :class:`vine.promise` with
        ``on_error``) as :class:`botocore.exceptions.ClientError` or
        :class:`~kombu.exceptions.HttpError`; without one they are raised.
        """
        model, request = self._prepare(operation, params or {})
        callback = callback if callback is not None else promise()
        return self._mexe(request, callback=lambda response: self._on_response(
            operation, model, callback, response))

    def _on_response(self, operation: str, model: Any, callback: Any,
                     response: AsyncHTTPResponse) -> None:
        from botocore.parsers import create_parser
        raw = response.response
        body = raw.body
        if body is None or (raw.code >= 500 and not body):
            exc: Exception = raw.error or HttpError(raw.code, 'no response body', raw)
            return self._throw(callback, exc)
        parser = create_parser(model.metadata['protocol'])
        parsed = parser.parse({'status_code': raw.code, 'body': body,
                               'headers': {k.lower(): v for k, v in raw.headers.items()}},
                              model.output_shape)
        if 'Error' in parsed and raw.code >= 300:
            return self._throw(callback, ClientError(parsed, operation))
        callback(parsed)

    @staticmethod
    def _throw(callback: Any, exc: Exception) -> None:
        throw = getattr(callback, 'throw', None)
        if throw is None:
            raise exc
        throw(exc)

    def get_list(self, operation: str, params: dict | None, key: str, factory: Callable,
                 callback: Callable | None = None) -> Request:
        """Call ``operation``; ``callback([factory(item) for item in result[key]])``."""
        cb = callback if callback is not None else promise()
        on_ready = promise(lambda parsed: cb([factory(item) for item in parsed.get(key) or []]),
                           on_error=_errback(cb))
        return self.make_request(operation, params, callback=on_ready)

    def get_object(self, operation: str, params: dict | None, key: str | None = None,
                   factory: Callable | None = None,
                   callback: Callable | None = None) -> Request:
        """Call ``operation``; ``callback(factory(result[key]))`` (or the whole result)."""
        cb = callback if callback is not None else promise()

        def on_parsed(parsed: dict) -> None:
            value = parsed.get(key) if key else parsed
            cb(factory(value) if factory is not None else value)
        on_ready = promise(on_parsed, on_error=_errback(cb))
        return self.make_request(operation, params, callback=on_ready)

    def get_status(self, operation: str, params: dict | None,
                   callback: Callable | None = None) -> Request:
        """Call ``operation``; ``callback(True)`` on success."""
        cb = callback if callback is not None else promise()
        return self.make_request(operation, params, callback=promise(lambda parsed: cb(True),
                                                                   on_error=_errback(cb)))


def _errback(callback: Any) -> Callable | None:
    """The error path of ``callback`` (its ``throw``), if it has one."""
    return getattr(callback, 'throw', None)

"""URL Utilities."""
from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlparse

__all__ = (
    'urlparts', 'parse_url', 'url_to_parts', 'as_url',
    'sanitize_url', 'maybe_sanitize_url', 'safequote',
)

#: Quote every reserved character (used for user, password and host).
safequote = partial(quote, safe='')

# Characters left as they are in the path (RFC 3986 pchar minus ';', which
# urlparse would take for the start of "params").
_PATH_SAFE = "/:@!$&'()*+,=~"

#: A URL scheme (RFC 3986), as in ``sqla+postgresql``.
_SCHEME_ONLY = re.compile(r'[A-Za-z][A-Za-z0-9+.\-]*\Z')


class urlparts(NamedTuple):
    """Components of a URL (all percent-decoded; missing parts are None)."""

    scheme: str
    hostname: str | None
    port: int | None
    username: str | None
    password: str | None
    path: str | None
    query: dict


def _unquote_or_none(value: str | None) -> str | None:
    return unquote(value) if value else None


def _mask_password(url: str, mask: str = '**') -> str:
    """Hide the password of a URL that may not parse."""
    return re.sub(r'(://[^:/@]*:).*@', lambda m: f'{m.group(1)}{mask}@', url, count=1)


def url_to_parts(url: str) -> urlparts:
    """Parse URL into :class:`urlparts` tuple of components.

    The scheme may be anything (``redis+socket``, ``sqla+postgresql``); the
    rest is parsed with HTTP URL semantics.  The first ``/`` of the path is
    a separator, so ``amqp://h//`` has the path ``/``.

    Raises:
        ValueError: if the port is not an integer in 0-65535.
    """
    scheme, sep, rest = url.partition('://')
    if not sep:
        scheme, sep, rest = url.partition(':')
        if not (sep and _SCHEME_ONLY.match(scheme) and not rest.strip('/')):
            scheme, rest = '', url  # e.g. ``localhost:5672``
        else:  # just a scheme: ``memory:`` or ``amqp:/``
            rest = ''
    parts = urlparse('http://' + rest)
    path = parts.path
    if path.startswith('/'):
        path = path[1:]
    try:
        port = parts.port
    except ValueError as exc:
        # urllib's message quotes the bad "port", which may be part of a password
        reason = f': {exc}' if '@' not in url else ''
        raise ValueError(f'Invalid port in URL {_mask_password(url)!r}{reason}') from exc
    return urlparts(
        scheme.lower(),
        _unquote_or_none(parts.hostname),
        port,
        _unquote_or_none(parts.username),
        _unquote_or_none(parts.password),
        _unquote_or_none(path),
        dict(parse_qsl(parts.query)),
    )


def _cert_reqs(value: str) -> Any:
    import ssl

    name = value if value.upper().startswith('CERT_') else f'CERT_{value}'
    try:
        return getattr(ssl, name.upper())
    except AttributeError:
        raise ValueError(f'Unknown ssl_cert_reqs value in URL: {value!r}') from None


def _ssl_options(query: dict) -> dict:
    """Move ``ssl_*`` query options into one ``ssl`` dict."""
    ssl_opts = {k: query.pop(k) for k in list(query) if k.startswith('ssl_')}
    if ssl_opts:
        if 'ssl_cert_reqs' in ssl_opts:
            ssl_opts['ssl_cert_reqs'] = _cert_reqs(ssl_opts['ssl_cert_reqs'])
        query['ssl'] = ssl_opts
    return query


#: Private alias kept for clients of Kombu 4.6.7 (Celery's result backends
#: import ``kombu.utils.url._parse_url``).
_parse_url = url_to_parts


def parse_url(url: str) -> dict[str, Any]:
    """Parse URL into mapping of components.

    Returns a dict with ``transport``, ``hostname``, ``port``, ``userid``,
    ``password`` and ``virtual_host``, plus every query option (``ssl_*``
    options are collected into an ``ssl`` dict).
    """
    scheme, host, port, user, password, path, query = url_to_parts(url)
    parsed: dict[str, Any] = dict(transport=scheme, hostname=host, port=port, userid=user,
                                  password=password, virtual_host=path)
    parsed.update(_ssl_options(query))  # options given in the query win
    return parsed


def _format_host(host: str) -> str:
    if ':' in host:  # IPv6 literal
        return f'[{host}]'
    return safequote(host)


def as_url(scheme: str, host: str | None = None, port: int | None = None,
           user: str | None = None, password: str | None = None,
           path: str | None = None, query: Mapping | str | None = None,
           sanitize: bool = False, mask: str = '**') -> str:
    """Generate URL from component parts.

    With ``sanitize`` the password is replaced by ``mask``.  The path is
    written after one separating ``/`` (so ``path='/'`` gives ``//``).
    """
    parts = [f'{scheme}://']
    if user or password:
        if user:
            parts.append(safequote(user))
        if password:
            parts.append(':' + (mask if sanitize else safequote(password)))
        parts.append('@')
    if host:
        parts.append(_format_host(host))
    if port:
        parts.append(f':{port}')
    parts.append('/')
    if path:
        parts.append(quote(str(path), safe=_PATH_SAFE))
    if query:
        parts.append('?' + (query if isinstance(query, str) else urlencode(query)))
    return ''.join(parts)


def sanitize_url(url: str, mask: str = '**') -> str:
    """Return copy of URL with password removed (replaced by ``mask``)."""
    scheme, host, port, user, password, path, _ = url_to_parts(url)
    return as_url(scheme, host, port, user, password, path,
                  sanitize=True, mask=mask)


def maybe_sanitize_url(url: Any, mask: str = '**') -> Any:
    """Sanitize url, or do nothing if url undefined (or not a URL string)."""
    if isinstance(url, str) and '://' in url:
        return sanitize_url(url, mask)
    return url

"""azurestoragequeues:// without a server: names, options, client construction, errors.

The behaviour against a real queue service is tested in
t/integration/test_azurestoragequeues.py (Azurite).  Here the SDK's
``QueueServiceClient`` is replaced by a recorder only to check the arguments
the transport builds it with, and by a small fake to check how the
primitives handle the SDK's "not found" errors.
"""
from __future__ import annotations

import json
import sys
from collections import deque
from types import SimpleNamespace

import pytest

pytest.importorskip('azure.storage.queue')

import azure.storage.queue as sdk  # noqa: E402
from azure.core import exceptions as azexc  # noqa: E402

from kombu import Connection  # noqa: E402
from kombu.transport import azurestoragequeues as asq  # noqa: E402
from kombu.transport import resolve_transport  # noqa: E402

KEY = 'a2V5/d2l0aCtzbGFzaA=='
URL = 'azurestoragequeues://:a2V5%2Fd2l0aCtzbGFzaA%3D%3D@myaccount'


class Recorder:
    """Stands in for QueueServiceClient: records how it was built."""

    made: list = []

    def __init__(self, account_url=None, credential=None, **kwargs):
        self.account_url, self.credential, self.kwargs = account_url, credential, kwargs
        self.conn_str = None
        Recorder.made.append(self)

    @classmethod
    def from_connection_string(cls, conn_str, **kwargs):
        client = cls(**kwargs)
        client.conn_str = conn_str
        return client

    def list_queues(self, **kwargs):      # establish_connection's check
        return iter([])

    def close(self):
        pass


@pytest.fixture
def recorder(monkeypatch):
    Recorder.made = []
    monkeypatch.setattr(sdk, 'QueueServiceClient', Recorder)
    return Recorder


def test_alias_resolves_and_documented_defaults():
    assert resolve_transport('azurestoragequeues') is asq.Transport
    assert asq.Transport.Channel is asq.Channel
    assert asq.Transport.polling_interval == 1 and asq.Transport.default_port is None
    # documented as True (delete on receipt); False here: at-least-once, see the module
    assert asq.Channel.no_ack is True  # documented value; acks are still honoured
    assert asq.Channel.default_visibility_timeout == 1800
    assert asq.Channel.domain_format == 'kombu%(vhost)s'
    for name in ('basic_consume', 'conninfo', 'entity_name', 'queue_name_prefix',
                 'queue_service', 'transport_options'):
        assert hasattr(asq.Channel, name)


def test_entity_name_table():
    table = asq.CHARS_REPLACE_TABLE
    assert set(table) == {ord(c) for c in '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'}
    assert set(table.values()) == {ord('-')}
    assert asq.Channel.entity_name(None, 'a.b_c:d/e') == 'a-b-c-d-e'


def test_client_from_url(recorder):
    with Connection(URL) as c:
        ch = c.default_channel
        client = recorder.made[-1]          # (the first one checked the connection)
        assert client.account_url == 'https://myaccount.queue.core.windows.net'
        assert client.credential == {'account_name': 'myaccount', 'account_key': KEY}
        assert isinstance(client.kwargs['retry_policy'], sdk.LinearRetry)
        assert ch.queue_service is client
        assert ch.conninfo is c and ch.transport_options == {}
        assert ch.queue_name_prefix == ''


def test_endpoint_and_client_options(recorder):
    with Connection(URL, connect_timeout=7, transport_options={
            'queue_service_url': 'http://127.0.0.1:10001/myaccount',
            'client_options': {'retry_total': 0, 'read_timeout': 9},
            'queue_name_prefix': 'pre-'}) as c:
        ch = c.default_channel
        client = recorder.made[-1]          # (the first one checked the connection)
        assert client.account_url == 'http://127.0.0.1:10001/myaccount'
        assert client.kwargs['connection_timeout'] == 7
        assert client.kwargs['read_timeout'] == 9
        assert client.kwargs['retry_policy'].total_retries == 0
        assert ch.queue_name_prefix == 'pre-'
        assert ch._azure_name('Jobs.high') == 'pre-jobs-high'


def test_connection_string_and_credential_options(recorder):
    with Connection('azurestoragequeues://', transport_options={
            'connection_string': 'AccountName=x;AccountKey=y'}) as c:
        c.default_channel  # noqa: B018
        assert recorder.made[-1].conn_str == 'AccountName=x;AccountKey=y'
    token = object()
    with Connection('azurestoragequeues://acct', transport_options={
            'credential': token}) as c:
        c.default_channel  # noqa: B018
        assert recorder.made[-1].credential is token
        assert recorder.made[-1].account_url == 'https://acct.queue.core.windows.net'


@pytest.mark.parametrize('url', ['azurestoragequeues://', 'azurestoragequeues://acct',
                                 'azurestoragequeues://:key@'])
def test_missing_account_or_key(recorder, url):
    with Connection(url) as c:
        with pytest.raises(ValueError, match='ACCOUNT_ACCESS_KEY@ACCOUNT_NAME'):
            c.default_channel  # noqa: B018


def test_polling_interval_option(recorder):
    with Connection(URL, transport_options={'polling_interval': 0.3}) as c:
        assert c.transport.polling_interval == 0.3


@pytest.mark.parametrize('name', [
    'celery', 'Celery.Pidbox', 'a' * 100, 'a', '', 'x--y', '-x-', 'q_1.2',
    'émoji☃', 'UPPER', 'a' * 63,
])
def test_azure_names_are_valid_and_distinct(recorder, name):
    with Connection(URL) as c:
        ch = c.default_channel
        azname = ch._azure_name(name)
        assert 3 <= len(azname) <= 63
        assert all(ch.isalnum() and ch.isascii() and not ch.isupper() or ch == '-'
                   for ch in azname)
        assert '--' not in azname and not azname.startswith('-') and \
            not azname.endswith('-')
        assert azname == ch._azure_name(name)           # deterministic
        others = {ch._azure_name(n) for n in ('x-y', 'x--y', 'a' * 99, 'a' * 101)}
        assert len(others) == 4


def test_missing_sdk_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, 'azure.storage.queue', None)
    with pytest.raises(ImportError, match=r'kombu\[azurestoragequeues\]'):
        asq.Transport(Connection(URL))


def test_error_classes():
    t = asq.Transport(Connection(URL))
    assert azexc.ServiceRequestError in t.recoverable_connection_errors
    assert azexc.ServiceResponseError in t.recoverable_connection_errors
    assert azexc.ClientAuthenticationError in t.connection_errors
    assert azexc.ClientAuthenticationError not in t.recoverable_connection_errors
    assert issubclass(azexc.ResourceNotFoundError, t.channel_errors)
    assert t.recoverable_channel_errors == ()
    assert t.driver_version() == sdk.__version__


# -- primitives over a fake service: "not found" handling ----------------------------


class FakeQueue:
    def __init__(self, store, name):
        self.store, self.name = store, name

    def _q(self):
        try:
            return self.store[self.name]
        except KeyError:
            raise azexc.ResourceNotFoundError(f'{self.name} not found')

    def create_queue(self):
        if self.name in self.store:
            raise azexc.ResourceExistsError('exists')
        self.store[self.name] = deque()

    def delete_queue(self):
        self._q()
        del self.store[self.name]

    def get_queue_properties(self):
        return SimpleNamespace(approximate_message_count=len(self._q()))

    def send_message(self, content):
        self._q().append(content)

    def receive_message(self, visibility_timeout=None):
        assert visibility_timeout is not None
        q = self._q()
        return SimpleNamespace(content=q.popleft(), id='id', pop_receipt='pr',
                               dequeue_count=1) if q else None

    def delete_message(self, message, pop_receipt=None):
        self._q()
        raise azexc.ResourceNotFoundError('MessageNotFound')

    def update_message(self, message, pop_receipt=None, visibility_timeout=None):
        raise azexc.ServiceRequestError('connection refused')

    def clear_messages(self):
        self._q().clear()

    def close(self):
        pass


class FakeService:
    def __init__(self, *args, **kwargs):
        self.store = {}

    def get_queue_client(self, name):
        return FakeQueue(self.store, name)

    def list_queues(self, **kwargs):
        return iter([SimpleNamespace(name=n) for n in self.store])

    def close(self):
        pass


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr(sdk, 'QueueServiceClient', FakeService)


def test_primitives_on_missing_queue(fake):
    with Connection(URL) as c:
        ch = c.default_channel
        assert ch._has_queue('gone') is False
        assert ch._size('gone') == 0 and ch._purge('gone') == 0
        ch._delete('gone')                                # no error
        with pytest.raises(asq.Empty):
            ch._get('gone')
        ch._put('gone', {'body': 'x', 'properties': {}})   # creates it
        assert ch._has_queue('gone') and ch._size('gone') == 1
        assert json.loads(ch.queue_service.store['gone'][0]) == {'body': 'x',
                                                                 'properties': {}}
        ch.queue_service.store.clear()                    # deleted behind our back
        ch._put('gone', {'body': 'y', 'properties': {}})
        assert ch._get('gone')['body'] == 'y'
        ch._new_queue('gone')
        ch._new_queue('gone')                              # idempotent
        assert ch._purge('gone') == 0


def test_settlement_failures_are_logged(fake, caplog):
    # acking a message Azure no longer has, or failing to release one, is
    # logged, not raised: the ack/release cannot change anything any more
    with Connection(URL) as c:
        ch = c.default_channel
        ch._put('q1', {'body': 'x', 'properties': {}})
        m = ch.basic_get('q1')
        assert m._raw[asq._RECEIPT_KEY] == ('q1', 'id', 'pr')
        m.ack()
        assert "could not delete message id from queue 'q1'" in caplog.text
        ch._put('q1', {'body': 'y', 'properties': {}})
        m = ch.basic_get('q1')
        m.requeue()
        assert 'reappears when its visibility timeout lapses' in caplog.text
        assert asq._RECEIPT_KEY not in m._raw


@pytest.mark.parametrize('value,expected', [
    (None, 1800), (1, 1), (30, 30), ('45', 45), (1.2, 2), (604800, 604800),
])
def test_visibility_timeout_option(recorder, value, expected):
    options = {} if value is None else {'visibility_timeout': value}
    with Connection(URL, transport_options=options) as c:
        assert c.default_channel.visibility_timeout == expected


@pytest.mark.parametrize('value', [0, -1, 0.0, 604801, 'soon', True, [], float('inf')])
def test_bad_visibility_timeout_names_the_value(recorder, value):
    with Connection(URL, transport_options={'visibility_timeout': value}) as c:
        with pytest.raises(ValueError, match='visibility_timeout') as excinfo:
            c.default_channel  # noqa: B018
        assert repr(value) in str(excinfo.value)


def test_stored_text_is_xml_escaped_json_as_kombu4(fake):
    # Kombu 4.6.7 (azure-storage-queue 2.x, text_xmlencode) stored the JSON
    # XML-escaped: both versions must read what the other stored.
    with Connection(URL) as c:
        ch = c.default_channel
        ch._put('xmlq', {'body': 'x', 'headers': {'h': 'a<&>b'}, 'properties': {}})
        stored = ch.queue_service.store['xmlq'][0]
        assert stored == '{"body": "x", "headers": {"h": "a&lt;&amp;&gt;b"}, "properties": {}}'
        assert ch._get('xmlq')['headers'] == {'h': 'a<&>b'}
        # as Kombu 4.6.7 stored it
        ch.queue_service.store['xmlq'].append(
            '{"body": "eyJoZWxsbyI6ICJyZWYifQ==", "content-encoding": "utf-8", '
            '"content-type": "application/json", "headers": {"h": "a&lt;&amp;&gt;b"}, '
            '"properties": {"delivery_mode": 2, "delivery_info": {"exchange": "xmlq", '
            '"routing_key": "xmlq"}, "priority": 0, "body_encoding": "base64", '
            '"delivery_tag": "5c0d9bdb-7b89-4a25-9d4f-4b1c4e6c6a55"}}')
        ch.queue_service.store['xmlq'].append('{"body": "y", "properties": {}}')
        assert ch._get('xmlq')['headers'] == {'h': 'a<&>b'}
        assert ch._get('xmlq')['body'] == 'y'

from __future__ import annotations

import socket
import sys

import amqp
import pytest

from kombu import exceptions as exc


def test_serialization_errors_subclass_serialization_error():
    assert issubclass(exc.EncodeError, exc.SerializationError)
    assert issubclass(exc.DecodeError, exc.SerializationError)
    assert issubclass(exc.SerializationError, exc.KombuError)


def test_limit_exceeded_family():
    assert issubclass(exc.ConnectionLimitExceeded, exc.LimitExceeded)
    assert issubclass(exc.ChannelLimitExceeded, exc.LimitExceeded)
    assert issubclass(exc.LimitExceeded, exc.KombuError)


def test_content_disallowed_is_a_serializer_not_installed():
    assert issubclass(exc.ContentDisallowed, exc.SerializerNotInstalled)


@pytest.mark.parametrize('name', [
    'OperationalError', 'NotBoundError', 'MessageStateError', 'VersionMismatch',
    'SerializerNotInstalled',
])
def test_kombu_errors_derive_from_kombu_error(name):
    assert issubclass(getattr(exc, name), exc.KombuError)


def test_connection_and_channel_errors_are_shared_with_amqp():
    assert exc.ConnectionError is amqp.ConnectionError
    assert exc.ChannelError is amqp.ChannelError
    assert exc.ResourceError is amqp.ResourceError
    assert issubclass(exc.InconsistencyError, exc.ConnectionError)


def test_timeout_error_is_socket_timeout():
    assert exc.TimeoutError is socket.timeout


def test_every_exported_name_exists():
    for name in exc.__all__:
        assert hasattr(exc, name), name


def test_http_error_keeps_code_message_and_response():
    e = exc.HttpError(404, 'Not Found', response='resp')
    assert (e.code, e.message, e.response) == (404, 'Not Found', 'resp')
    assert str(e) == 'HTTP 404: Not Found'


def test_reraise_raises_value_with_given_traceback():
    try:
        raise KeyError('k')
    except KeyError:
        tp, value, tb = sys.exc_info()
    with pytest.raises(KeyError) as info:
        exc.reraise(tp, value, tb)
    assert info.value is value
    assert info.value.__traceback__ is not None


def test_reraise_instantiates_type_when_value_is_none():
    with pytest.raises(ValueError):
        exc.reraise(ValueError, None)

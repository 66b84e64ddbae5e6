"""The engine's ``Channel._on_no_ack`` hook (messages taken without acknowledgement)."""
from __future__ import annotations

from kombu import Connection
from kombu.transport import virtual


def test_default_hook_is_a_no_op():
    assert virtual.Channel._on_no_ack(None, object()) is None


def test_hook_runs_for_no_ack_deliveries_only():
    with Connection('memory://') as conn, conn.channel() as ch:
        events = []
        ch._on_no_ack = lambda message: events.append(('no_ack', message.body))
        ch.queue_declare('hook.q')
        for body in (b'1', b'2', b'3', b'4'):
            ch.basic_publish(ch.prepare_message(body), '', 'hook.q')

        acked = ch.basic_get('hook.q')
        assert events == [] and list(ch.qos._delivered) == [acked.delivery_tag]
        unacked = ch.basic_get('hook.q', no_ack=True)
        assert events == [('no_ack', b'2')] and unacked.delivery_tag not in ch.qos._delivered

        ch.basic_consume('hook.q', True,
                         lambda message: events.append(('callback', message.body)), 'n')
        conn.drain_events(timeout=1)
        assert events[1:] == [('no_ack', b'3'), ('callback', b'3')]  # before the callback
        ch.basic_cancel('n')

        ch.basic_consume('hook.q', False,
                         lambda message: events.append(('callback', message.body)), 'a')
        conn.drain_events(timeout=1)
        assert events[3:] == [('callback', b'4')]
        assert len(ch.qos._delivered) == 2
        acked.ack()

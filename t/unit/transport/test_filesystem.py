"""The file-system transport, including several processes sharing a folder."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from kombu import Connection, Exchange, Queue
from kombu.transport import filesystem


@pytest.fixture
def folder(tmp_path):
    return str(tmp_path / 'data')


def fs_connection(folder, **options):
    return Connection('filesystem://', transport_options={
        'data_folder_in': folder, 'data_folder_out': folder, 'polling_interval': 0.01,
        **options})


def test_transport_attributes(folder):
    transport = fs_connection(folder).transport
    assert isinstance(transport, filesystem.Transport)
    assert transport.driver_type == transport.driver_name == 'filesystem'
    assert transport.default_port == 0


def test_one_file_per_message_in_publish_order(folder):
    with fs_connection(folder) as conn, conn.channel() as ch:
        ch.queue_declare('q.one')
        for i in range(3):
            ch.basic_publish(ch.prepare_message(f'm{i}'.encode()), '', 'q.one')
        files = sorted(n for n in os.listdir(folder) if n.endswith('.msg'))
        assert len(files) == 3
        assert all(name.endswith('.q%2Eone.msg') for name in files)
        with open(os.path.join(folder, files[0])) as fh:
            stored = json.load(fh)
        assert stored['properties']['body_encoding'] == 'base64'
        assert [ch.basic_get('q.one', no_ack=True).body for _ in range(3)] == [
            b'm0', b'm1', b'm2']
        assert not [n for n in os.listdir(folder) if n.endswith('.msg')]


def test_queue_names_sharing_a_suffix_stay_apart(folder):
    with fs_connection(folder) as conn, conn.channel() as ch:
        ch.basic_publish(ch.prepare_message(b'long'), '', 'x.a.b')
        ch.basic_publish(ch.prepare_message(b'short'), '', 'b')
        assert ch._size('b') == 1
        assert ch.basic_get('b', no_ack=True).body == b'short'


def test_separate_in_and_out_folders(tmp_path):
    a, b = str(tmp_path / 'a'), str(tmp_path / 'b')
    producer = Connection('filesystem://', transport_options={
        'data_folder_in': b, 'data_folder_out': a})
    consumer = Connection('filesystem://', transport_options={
        'data_folder_in': a, 'data_folder_out': b})
    with producer.channel() as pch, consumer.channel() as cch:
        pch.basic_publish(pch.prepare_message(b'over'), '', 'q')
        assert pch.basic_get('q') is None
        assert cch.basic_get('q', no_ack=True).body == b'over'


def test_store_processed_keeps_consumed_files(folder, tmp_path):
    processed = str(tmp_path / 'done')
    conn = fs_connection(folder, store_processed=True, processed_folder=processed)
    with conn, conn.channel() as ch:
        assert ch.store_processed is True and ch.processed_folder == processed
        ch.basic_publish(ch.prepare_message(b'keep'), '', 'q')
        assert ch.basic_get('q', no_ack=True).body == b'keep'
        assert len(os.listdir(processed)) == 1


def test_bindings_are_shared_between_connections(folder):
    exchange = Exchange('shared.topic', 'topic')
    with fs_connection(folder) as consumer_conn, consumer_conn.channel() as cch:
        Queue('shared.q', exchange, 'a.#')(cch).declare()
        # A second process-like connection with its own broker state.
        with fs_connection(folder) as producer_conn:
            producer_conn.transport.state = filesystem.virtual.BrokerState()
            with producer_conn.channel() as pch:
                assert 'shared.topic' not in pch.state.exchanges
                pch.basic_publish(pch.prepare_message(b'routed'), 'shared.topic', 'a.b')
                pch.basic_publish(pch.prepare_message(b'dropped'), 'shared.topic', 'b')
        assert cch.basic_get('shared.q', no_ack=True).body == b'routed'
        assert cch.basic_get('shared.q') is None
        cch.queue_unbind('shared.q', 'shared.topic', 'a.#')
        cch.basic_publish(cch.prepare_message(b'unbound'), 'shared.topic', 'a.b')
        assert cch.basic_get('shared.q') is None


CONSUMER = textwrap.dedent('''
    import os, socket, sys
    from kombu import Connection
    folder, queue, done = sys.argv[1:4]
    conn = Connection('filesystem://', transport_options={
        'data_folder_in': folder, 'data_folder_out': folder, 'polling_interval': 0.02})
    ch = conn.channel()
    ch.basic_qos(0, 5, False)
    seen = []
    def on_message(message):
        seen.append(message.body.decode())
        message.ack()
    ch.basic_consume(queue, False, on_message, 'c')
    open(done + '.ready.%d' % os.getpid(), 'w').close()
    while True:
        try:
            conn.drain_events(timeout=0.3)
        except socket.timeout:
            if os.path.exists(done):
                break
    conn.close()
    print('\\n'.join(seen))
''')

PRODUCER = textwrap.dedent('''
    import sys
    from kombu import Connection, Exchange, Producer
    folder, total, done = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    conn = Connection('filesystem://', transport_options={
        'data_folder_in': folder, 'data_folder_out': folder})
    producer = Producer(conn.channel(), exchange=Exchange('work', 'direct'))
    for i in range(total):
        producer.publish(str(i), routing_key='jobs',
                         content_type='text/plain', content_encoding='utf-8')
    open(done, 'w').close()
''')


def test_competing_consumer_processes_take_each_message_once(folder, tmp_path):
    total = 300
    done = str(tmp_path / 'producer.done')
    with fs_connection(folder) as conn, conn.channel() as ch:
        Queue('work.q', Exchange('work', 'direct'), 'jobs')(ch).declare()
    env = dict(os.environ)
    consumers = [subprocess.Popen([sys.executable, '-c', CONSUMER, folder, 'work.q', done],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=env)
                 for _ in range(2)]
    deadline = time.monotonic() + 30
    while len([n for n in os.listdir(tmp_path) if '.ready.' in n]) < 2:
        assert time.monotonic() < deadline, 'consumers did not start'
        time.sleep(0.02)
    producer = subprocess.run([sys.executable, '-c', PRODUCER, folder, str(total), done],
                              capture_output=True, text=True, env=env, timeout=60)
    assert producer.returncode == 0, producer.stderr
    outputs = []
    for proc in consumers:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        outputs.append([line for line in out.splitlines() if line])
    received = outputs[0] + outputs[1]
    assert len(received) == total
    assert sorted(received, key=int) == [str(i) for i in range(total)]
    assert all(outputs), 'both consumers should have taken some messages'


# -- at-least-once: claim files live until the message is settled ------------

def message_files(folder):
    """(claim files, message files) in ``folder``."""
    names = os.listdir(folder)
    return (sorted(n for n in names if n.endswith('.claim')),
            sorted(n for n in names if n.endswith('.msg') and not n.startswith('.')))


def publish_all(ch, queue, bodies):
    ch.queue_declare(queue)
    for body in bodies:
        ch.basic_publish(ch.prepare_message(body.encode()), '', queue)


def test_claim_files_stay_until_ack(folder):
    with fs_connection(folder) as conn, conn.channel() as ch:
        publish_all(ch, 'q', ['a', 'b', 'c'])
        messages = [ch.basic_get('q') for _ in range(3)]
        assert [m.body for m in messages] == [b'a', b'b', b'c']
        claims, files = message_files(folder)
        assert len(claims) == 3 and not files
        assert all(f'.{os.getpid()}.' in claim for claim in claims)
        messages[0].ack()
        assert len(message_files(folder)[0]) == 2
        ch.basic_ack(messages[2].delivery_tag, multiple=True)
        assert message_files(folder) == ([], [])
        assert all('_filesystem_claim' not in m._raw for m in messages)


def test_ack_with_store_processed_moves_the_claim(folder, tmp_path):
    processed = str(tmp_path / 'done')
    conn = fs_connection(folder, store_processed=True, processed_folder=processed)
    with conn, conn.channel() as ch:
        publish_all(ch, 'q', ['a', 'b'])
        first, second = ch.basic_get('q'), ch.basic_get('q')
        assert not os.listdir(processed)
        first.ack()
        second.reject()
        assert message_files(folder) == ([], [])
        done = sorted(os.listdir(processed))
        assert len(done) == 2 and all(n.endswith('.q.msg') for n in done)


def test_reject_requeue_recover_and_close_leave_one_copy(folder):
    with fs_connection(folder) as conn:
        ch = conn.channel()
        publish_all(ch, 'q', ['a', 'b', 'c', 'd'])
        a, b, c, d = (ch.basic_get('q') for _ in range(4))
        a.reject()                                 # dropped
        b.requeue()                                # back at the head
        assert message_files(folder)[0] and len(message_files(folder)[1]) == 1
        again = ch.basic_get('q')
        assert again.body == b'b' and again.delivery_info['redelivered'] is True
        ch.basic_recover(requeue=True)             # b, c and d back, in order
        claims, files = message_files(folder)
        assert not claims and len(files) == 3
        assert [ch.basic_get('q').body for _ in range(3)] == [b'c', b'd', b'b']
        ch.close()                                 # restores the three unacked
        claims, files = message_files(folder)
        assert not claims and len(files) == 3
        with conn.channel() as ch2:
            got = []
            while (m := ch2.basic_get('q')) is not None:
                got.append(m.body)
                m.ack()
            assert sorted(got) == [b'b', b'c', b'd']
            assert ch2.basic_get('q') is None
        assert message_files(folder) == ([], [])


def test_recover_restores_in_delivery_order(folder):
    with fs_connection(folder) as conn, conn.channel() as ch:
        publish_all(ch, 'q', ['a', 'b', 'c'])
        taken = [ch.basic_get('q') for _ in range(3)]
        ch.basic_recover(requeue=True)
        assert message_files(folder)[0] == []
        again = [ch.basic_get('q', no_ack=True) for _ in range(3)]
        assert [m.body for m in again] == [m.body for m in taken]
        assert all(m.delivery_info['redelivered'] for m in again)
        assert ch.basic_get('q') is None
        assert message_files(folder) == ([], [])


def test_no_ack_deliveries_leave_no_claims(folder):
    with fs_connection(folder) as conn, conn.channel() as ch:
        publish_all(ch, 'q', ['a', 'b', 'c'])
        assert ch.basic_get('q', no_ack=True).body == b'a'
        assert message_files(folder)[0] == []
        seen = []

        def on_message(message):
            seen.append(message.body)
            assert message_files(folder)[0] == []  # settled before the callback

        ch.basic_consume('q', True, on_message, 'noack')
        while len(seen) < 2:
            conn.drain_events(timeout=2)
        assert seen == [b'b', b'c']
        ch.basic_cancel('noack')
    assert message_files(folder) == ([], [])


def test_taken_message_handed_back_without_consumer_is_not_duplicated(folder):
    with fs_connection(folder) as conn, conn.channel() as ch:
        publish_all(ch, 'q', ['a'])
        raw = ch._get('q')
        assert len(message_files(folder)[0]) == 1
        ch._deliver(raw, 'q')                  # nobody consumes 'q': put back
        assert message_files(folder)[0] == []
        assert ch.basic_get('q', no_ack=True).body == b'a'
        assert ch.basic_get('q') is None


def dead_pid():
    proc = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def fake_claim(folder, queue_body_channel, host=None, pid=None, token='feedbeef'):
    """Publish a message and rename its file to a claim of (host, pid, token)."""
    ch, queue, body = queue_body_channel
    ch.basic_publish(ch.prepare_message(body), '', queue)
    name = message_files(folder)[1][-1]
    claim = (f'.{name}.{host or filesystem._HOST_ID}.{pid or dead_pid()}.{token}.1'
             f'.claim')
    os.rename(os.path.join(folder, name), os.path.join(folder, claim))
    return claim


def test_claims_of_dead_processes_are_redelivered(folder):
    with fs_connection(folder) as conn, conn.channel() as ch:
        ch.queue_declare('q')
        fake_claim(folder, (ch, 'q', b'orphan'))
        fake_claim(folder, (ch, 'other', b'other queue'))
        with conn.channel() as consumer:
            message = consumer.basic_get('q')
            assert message.body == b'orphan'
            assert message.delivery_info['redelivered'] is True
            message.ack()
            assert consumer.basic_get('q') is None
        claims, files = message_files(folder)
        assert len(claims) == 1 and 'other' in claims[0]  # not the queue read


def test_claims_that_may_be_alive_are_left_alone(folder):
    with fs_connection(folder, claim_check_interval=0) as conn, conn.channel() as ch:
        ch.queue_declare('q')
        kept = [
            fake_claim(folder, (ch, 'q', b'parent'), pid=os.getppid()),   # alive
            fake_claim(folder, (ch, 'q', b'mine'), pid=os.getpid(),
                       token=filesystem._TOKEN),                        # ourselves
            fake_claim(folder, (ch, 'q', b'remote'), host='0ther0st'),   # other host
        ]
        fake_claim(folder, (ch, 'q', b'my pid, earlier'), pid=os.getpid())
        message = ch.basic_get('q')
        assert message.body == b'my pid, earlier'
        message.ack()
        assert ch.basic_get('q') is None
        assert message_files(folder) == (sorted(kept), [])


def test_claims_are_checked_again_while_polling(folder):
    with fs_connection(folder, claim_check_interval=0.3) as conn, conn.channel() as ch:
        ch.queue_declare('q')
        assert ch.basic_get('q') is None               # first listing: checked
        fake_claim(folder, (ch, 'q', b'late'))
        assert ch.basic_get('q') is None               # not again so soon
        time.sleep(0.35)
        message = ch.basic_get('q')
        assert message is not None and message.body == b'late'
        message.ack()
        fake_claim(folder, (ch, 'q', b'on consume'))
        got = []
        ch.basic_consume('q', False, lambda m: (got.append(m.body), m.ack()), 'c')
        conn.drain_events(timeout=0.2)                 # basic_consume checks at once
        assert got == [b'on consume']
    assert message_files(folder) == ([], [])


def test_invalid_message_file_is_kept_aside(folder, caplog):
    with fs_connection(folder) as conn, conn.channel() as ch:
        publish_all(ch, 'q', ['good'])
        bad = '00000000000000000000_000000000_1.q.msg'
        with open(os.path.join(folder, bad), 'w') as fh:
            fh.write('{not json')
        assert ch.basic_get('q', no_ack=True).body == b'good'
        assert ch.basic_get('q') is None
        assert os.path.exists(os.path.join(folder, f'.{bad}.bad'))
        assert message_files(folder) == ([], [])
        assert 'not a valid message' in caplog.text


HOLDER = textwrap.dedent('''
    import json, os, sys, time
    from kombu import Connection
    folder, queue, out, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    conn = Connection('filesystem://', transport_options={
        'data_folder_in': folder, 'data_folder_out': folder, 'polling_interval': 0.01})
    ch = conn.channel()
    ch.basic_qos(0, n, False)
    got = []
    ch.basic_consume(queue, False, lambda message: got.append(message.body.decode()), 'h')
    while len(got) < n:
        conn.drain_events(timeout=10)
    with open(out + '.tmp', 'w') as fh:
        json.dump(got, fh)
    os.rename(out + '.tmp', out)
    time.sleep(120)
''')


def test_messages_of_a_killed_consumer_are_redelivered(folder, tmp_path):
    total, held = 10, 4
    out = str(tmp_path / 'held.json')
    with fs_connection(folder, claim_check_interval=0) as conn, conn.channel() as ch:
        publish_all(ch, 'work', [str(i) for i in range(total)])
        holder = subprocess.Popen([sys.executable, '-c', HOLDER, folder, 'work', out,
                                   str(held)])
        try:
            deadline = time.monotonic() + 30
            while not os.path.exists(out):
                assert holder.poll() is None, 'holder exited'
                assert time.monotonic() < deadline, 'holder took nothing'
                time.sleep(0.02)
            with open(out) as fh:
                taken = json.load(fh)
            claims, files = message_files(folder)
            assert len(claims) == held and len(files) == total - held
            assert all(f'.{holder.pid}.' in claim for claim in claims)
            assert ch._size('work') == total - held    # a live holder keeps its claims
            assert len(message_files(folder)[0]) == held
        finally:
            holder.kill()
            holder.wait(timeout=30)
    with fs_connection(folder) as conn, conn.channel() as ch:
        received = []

        def on_message(message):
            received.append((message.body.decode(), message.delivery_info['redelivered']))
            message.ack()

        ch.basic_consume('work', False, on_message, 'new')
        while len(received) < total:
            conn.drain_events(timeout=5)
        with pytest.raises(socket.timeout):
            conn.drain_events(timeout=0.2)
    assert sorted(body for body, _ in received) == sorted(str(i) for i in range(total))
    assert sorted(body for body, redelivered in received if redelivered) == sorted(taken)
    assert message_files(folder) == ([], [])

"""The file-system transport, including several processes sharing a folder."""
from __future__ import annotations

import json
import os
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

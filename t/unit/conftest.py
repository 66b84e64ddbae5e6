"""Fixtures shared by the unit tests: a connection on each in-process transport."""
from __future__ import annotations

import pytest

from kombu import Connection, Exchange, Queue


@pytest.fixture(params=['memory', 'filesystem'])
def conn(request, tmp_path):
    """A Connection on memory:// and on filesystem:// (in a private folder)."""
    if request.param == 'memory':
        c = Connection('memory://')
    else:
        folder = tmp_path / 'fs'
        folder.mkdir()
        c = Connection('filesystem://', transport_options={
            'data_folder_in': str(folder), 'data_folder_out': str(folder),
            'polling_interval': 0.01})
    yield c
    c.release()


@pytest.fixture
def queue(unique_name):
    """A direct queue and exchange named after the test."""
    return Queue(unique_name, Exchange(unique_name, type='direct'), routing_key=unique_name)

from __future__ import annotations

import io
import os
import pickle

from kombu.utils.div import emergency_dump_state


def test_dump_pickles_state_to_reported_file():
    err = io.StringIO()
    path = emergency_dump_state({'a': [1, 2]}, stderr=err)
    try:
        assert path in err.getvalue()
        with open(path, 'rb') as f:
            assert pickle.load(f) == {'a': [1, 2]}
    finally:
        os.unlink(path)


def test_unpicklable_state_falls_back_to_pformat():
    err = io.StringIO()
    state = {'fun': lambda: 1}
    path = emergency_dump_state(state, stderr=err)
    try:
        assert 'Cannot pickle state' in err.getvalue()
        with open(path, 'rb') as f:
            assert b"'fun'" in f.read()
    finally:
        os.unlink(path)


def test_custom_dump_and_open_file():
    err = io.StringIO()
    written = []

    def dump(state, fh, protocol=None):
        fh.write(repr(state))
        written.append(protocol)

    path = emergency_dump_state([1], dump=dump, stderr=err)
    try:
        with open(path) as f:
            assert f.read() == '[1]'
        assert written == [0]
    finally:
        os.unlink(path)

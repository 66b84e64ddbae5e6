from __future__ import annotations

from kombu.utils.collections import EqualityDict, HashedSeq, eqhash


def test_hashed_seq_hash_matches_tuple():
    h = HashedSeq(1, 'a')
    assert list(h) == [1, 'a']
    assert hash(h) == hash((1, 'a'))
    assert {h: 1}[h] == 1


class Key:
    def __init__(self, v):
        self.v = v

    def __eqhash__(self):
        return ('Key', self.v)


def test_eqhash_uses_eqhash_or_hash():
    assert eqhash(Key(1)) == ('Key', 1)
    assert eqhash('x') == hash('x')


def test_equality_dict_keys_by_eqhash():
    d = EqualityDict()
    d[Key(1)] = 'one'
    assert d[Key(1)] == 'one'
    del d[Key(1)]
    assert len(d) == 0
    try:
        d[Key(2)]
    except KeyError:
        pass
    else:
        raise AssertionError('missing key did not raise')

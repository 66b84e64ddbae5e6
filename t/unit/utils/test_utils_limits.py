from __future__ import annotations

import pytest

from kombu.utils import limits
from kombu.utils.limits import TokenBucket


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = FakeClock()
    monkeypatch.setattr(limits, 'monotonic', c)
    return c


def test_starts_full_and_consumes_whole_tokens(clock):
    b = TokenBucket(2, capacity=3)
    assert b.capacity == 3.0
    assert b.fill_rate == 2.0
    assert b.can_consume(3)
    assert not b.can_consume(1)


def test_refills_at_fill_rate_up_to_capacity(clock):
    b = TokenBucket(2, capacity=3)
    b.can_consume(3)
    clock.now += 0.5  # one token
    assert b.can_consume(1)
    assert not b.can_consume(1)
    clock.now += 100
    assert b.can_consume(3)
    assert not b.can_consume(1)


def test_never_consumes_partial_tokens(clock):
    b = TokenBucket(1, capacity=2)
    b.can_consume(2)
    clock.now += 1.5
    assert not b.can_consume(2)
    assert b.can_consume(1)


def test_expected_time(clock):
    b = TokenBucket(2, capacity=3)
    assert b.expected_time(1) == 0
    b.can_consume(3)
    assert b.expected_time(1) == pytest.approx(0.5)
    assert b.expected_time(2) == pytest.approx(1.0)


def test_pending_contents(clock):
    b = TokenBucket(1)
    b.add(1)
    b.add(2)
    assert b.pop() == 1
    b.clear_pending()
    with pytest.raises(IndexError):
        b.pop()


def test_defaults():
    assert TokenBucket.capacity == 1
    assert TokenBucket.fill_rate is None
    assert TokenBucket.timestamp is None
    assert TokenBucket(1).capacity == 1.0

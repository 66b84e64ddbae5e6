from __future__ import annotations

from kombu.utils.time import maybe_s_to_ms


def test_maybe_s_to_ms():
    assert maybe_s_to_ms(1.5) == 1500
    assert maybe_s_to_ms('2') == 2000
    assert maybe_s_to_ms(0) == 0
    assert maybe_s_to_ms(None) is None
    assert isinstance(maybe_s_to_ms(0.0015), int)

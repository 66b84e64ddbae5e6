from __future__ import annotations

import logging

from kombu.utils.debug import Logwrapped, setup_logging


class Target:
    x = 10

    def add(self, a, b=0):
        return a + b

    def __repr__(self):
        return '<Target>'


def test_logwrapped_logs_calls_and_returns_results(caplog):
    w = Logwrapped(Target(), logger='kombu.test.debug', ident='[{0!r}] ')
    with caplog.at_level(logging.DEBUG, logger='kombu.test.debug'):
        assert w.add(1, b=2) == 3
    assert "[<Target>] add(1, b=2)" in caplog.text
    assert w.x == 10
    assert repr(w) == '<Target>'
    assert 'add' in dir(w)


def test_setup_logging_sets_level_on_loggers():
    name = 'kombu.test.debug.setup'
    logger = logging.getLogger(name)
    try:
        setup_logging(logging.INFO, [name])
        assert logger.level == logging.INFO
        assert any(isinstance(h, logging.StreamHandler) for h in logger.handlers)
    finally:
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)

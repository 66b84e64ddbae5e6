from __future__ import annotations

import io
import logging

import pytest

from kombu import log
from kombu.log import Log, LogMixin, get_logger, get_loglevel, safeify_format, setup_logging
from kombu.utils.functional import lazy


def test_get_logger_by_name_adds_null_handler():
    logger = get_logger('kombu.test.log.fresh')
    assert logger.name == 'kombu.test.log.fresh'
    assert any(isinstance(h, logging.NullHandler) for h in logger.handlers)
    assert get_logger(logger) is logger


def test_get_loglevel():
    assert get_loglevel('INFO') == logging.INFO
    assert get_loglevel('debug') == logging.DEBUG
    assert get_loglevel(5) == 5
    with pytest.raises(ValueError, match='NOPE'):
        get_loglevel('NOPE')
    with pytest.raises(KeyError, match='nope'):  # KeyError, as in Kombu 4
        get_loglevel('nope')
    with pytest.raises(KeyError):
        LogMixin().get_loglevel('nope')
    assert LogMixin().get_loglevel('info') == logging.INFO
    assert log.LOG_LEVELS['WARNING'] == logging.WARNING
    assert log.LOG_LEVELS[logging.ERROR] == 'ERROR'


def test_safeify_format_makes_s_args_safe():
    class Broken:
        def __str__(self):
            raise ValueError('x')

        __repr__ = __str__

    out = list(safeify_format('%s %r %d', [b'a', 'b', 3]))
    assert out == ['a', 'b', 3]
    assert list(safeify_format('%%s %s', ['x'])) == ['x']
    assert list(safeify_format('%s', [Broken()]))[0].startswith('<Unrepresentable')


class Component(LogMixin):
    pass


@pytest.fixture
def component(caplog):
    caplog.set_level(logging.DEBUG, logger='Component')
    return Component()


def test_log_mixin_logger_named_after_class(component):
    assert component.logger_name == 'Component'
    assert component.logger.name == 'Component'
    assert component.annotate('hi') == 'Component - hi'


@pytest.mark.parametrize('method,level', [
    ('debug', logging.DEBUG), ('info', logging.INFO), ('warn', logging.WARNING),
    ('error', logging.ERROR), ('critical', logging.CRITICAL),
])
def test_severity_methods(component, caplog, method, level):
    getattr(component, method)('value is %s', 3)
    record = caplog.records[-1]
    assert record.levelno == level
    assert record.getMessage() == 'Component - value is 3'


def test_log_expands_lazy_args(component, caplog):
    component.info('got %s and %r', lazy(lambda: 'L'), 'q')
    assert caplog.records[-1].getMessage() == "Component - got L and 'q'"


def test_log_joins_plain_args(component, caplog):
    component.info('a', 1)
    component.info(b'bytes')
    assert caplog.records[-2].getMessage() == 'Component - a 1'
    assert caplog.records[-1].getMessage() == 'Component - bytes'


def test_error_includes_traceback_only_inside_handler(component, caplog):
    component.error('no exception')
    assert caplog.records[-1].exc_info in (None, False)
    try:
        raise KeyError('k')
    except KeyError:
        component.error('failed')
    assert caplog.records[-1].exc_info[0] is KeyError


def test_is_enabled_for(component, caplog):
    caplog.set_level(logging.INFO, logger='Component')
    assert component.is_enabled_for('INFO')
    assert not component.is_enabled_for('DEBUG')
    assert component.get_loglevel('ERROR') == logging.ERROR
    assert component.get_loglevel(7) == 7


def test_disabled_level_logs_nothing(component, caplog):
    caplog.set_level(logging.WARNING, logger='Component')
    component.debug('hidden %s', 1)
    assert not caplog.records


def test_log_with_explicit_logger(caplog):
    logger = logging.getLogger('kombu.test.log.explicit')
    caplog.set_level(logging.INFO, logger=logger.name)
    lg = Log('myname', logger=logger)
    assert lg.logger is logger
    assert lg.logger_name == 'myname'
    lg.info('x %s', 1)
    assert caplog.records[-1].getMessage() == 'myname - x 1'
    assert Log('other').logger.name == 'other'


def test_setup_logging_configures_root_once(monkeypatch):
    root = logging.getLogger()
    monkeypatch.setattr(root, 'handlers', [])
    monkeypatch.setattr(root, 'level', root.level)
    stream = io.StringIO()
    assert setup_logging('INFO', stream) is root
    assert len(root.handlers) == 1
    assert root.level == logging.INFO
    setup_logging('DEBUG', io.StringIO())
    assert len(root.handlers) == 1  # already configured


def test_setup_logging_to_file(monkeypatch, tmp_path):
    root = logging.getLogger()
    monkeypatch.setattr(root, 'handlers', [])
    monkeypatch.setattr(root, 'level', root.level)
    path = tmp_path / 'k.log'
    setup_logging(logging.ERROR, str(path))
    try:
        root.error('written')
        root.handlers[0].flush()
        assert 'written' in path.read_text()
    finally:
        root.handlers[0].close()

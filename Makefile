PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test unit integration bench lint clean venv celery

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@# pycurl (async SQS client) compiles against libcurl's headers; .ci/run installs them
	$(PY) -m pip install -q 'pycurl>=7.43' || echo "pycurl not built (needs libcurl4-openssl-dev): its tests skip"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

test: $(STAMP)
	$(PY) -m pytest t/unit t/integration -q -p no:cacheprovider

unit: $(STAMP)
	$(PY) -m pytest t/unit -q

integration: $(STAMP)
	$(PY) -m pytest t/integration -q

# Celery 4.4 (the release line for Kombu 4.6.7) on this kombu, against the local
# RabbitMQ and Redis.  Celery 4.4 imports vine.five, so it gets its own venv
# with vine<5, on Python 3.9 (its newest supported Python).
CELERY_VENV := .venv-celery
CELERY_PYTHON ?= $(shell for p in $$HOME/.pyenv/versions/3.9*/bin/python python3.9; do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 9)' 2>/dev/null && { echo $$p; break; }; done)

celery:
	@test -n "$(CELERY_PYTHON)" || { echo "make celery needs Python 3.9 (set CELERY_PYTHON)"; exit 1; }
	test -x $(CELERY_VENV)/bin/python || $(CELERY_PYTHON) -m venv $(CELERY_VENV)
	$(CELERY_VENV)/bin/python -m pip install -q -e '.[redis]' 'pytest>=7' 'pytest-timeout>=2'
	$(CELERY_VENV)/bin/python -m pip install -q --no-deps celery==4.4.7 'billiard>=3.6.3,<4' pytz 'vine==1.3.0'
	KOMBU_TEST_REQUIRE_SERVICES=1 KOMBU_TEST_REQUIRE_CELERY=1 \
		$(CELERY_VENV)/bin/python -m pytest t/integration/test_celery.py -q -p no:cacheprovider

bench: $(STAMP)
	$(PY) benchmarks/throughput.py memory://

lint: $(STAMP)
	$(VENV)/bin/ruff check kombu t benchmarks examples

clean:
	rm -rf $(VENV) $(CELERY_VENV) build *.egg-info

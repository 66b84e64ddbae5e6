PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test unit integration bench lint clean venv

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

bench: $(STAMP)
	$(PY) benchmarks/throughput.py memory://

lint: $(STAMP)
	$(VENV)/bin/ruff check kombu t benchmarks examples

clean:
	rm -rf $(VENV) build *.egg-info

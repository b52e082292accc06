# The two commands of the README:  make demo   and   make test
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.tinykit-installed
BROWSER_STAMP := $(VENV)/.tinykit-browser-installed

.PHONY: demo test test-slow test-browser bench tools lab wheel clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# System tools for the emulated board (cross compiler, QEMU, socat), from Debian.
tools:
	sh boards/install-tools.sh

demo: $(STAMP) tools
	$(PY) -m tinykit.cli demo

test: $(STAMP) tools
	$(PY) -m pytest -m "not slow and not hardware and not browser"

test-slow: $(STAMP) tools
	$(PY) -m pytest -m slow

# The notebooks in JupyterLab, in a headless browser: Debian's chromium, driven by
# Playwright for Python (pip's playwright; no browser download). Screenshots land in
# build/screenshots/.
$(BROWSER_STAMP): $(STAMP)
	command -v chromium >/dev/null 2>&1 || { S=""; [ "$$(id -u)" = 0 ] || S=sudo; \
	  DEBIAN_FRONTEND=noninteractive $$S apt-get install -y -q chromium || \
	  { $$S apt-get update -q && DEBIAN_FRONTEND=noninteractive $$S apt-get install -y -q chromium; }; }
	$(PY) -m pip install --quiet -e '.[dev,browser]'
	touch $(BROWSER_STAMP)

test-browser: $(BROWSER_STAMP) tools
	$(PY) -m pytest -m browser

bench: $(STAMP)
	$(PY) bench/gesture.py --json bench/gesture.json
	$(PY) bench/kws.py --json bench/kws.json
	$(PY) bench/capture.py --json bench/capture.json
	$(PY) bench/device.py --json bench/device.json

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

# An installable wheel in dist/ (carries boards/, datasets/ and the C runtime); built
# offline with the venv's setuptools, as tests/test_wheel.py does.
wheel: $(STAMP)
	$(PY) -m pip wheel --no-deps --no-build-isolation --no-index -w dist .

clean:
	rm -rf build dist tinykit.egg-info .pytest_cache

# Fengqiao: `make demo` to try it, `make test` to check it. Everything installs into .venv
# (Python, pinned by requirements.lock) and node_modules (browser libraries, pinned by
# package-lock.json); `make clean` removes both.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
# The checkout (this Makefile's folder), so `make -f path/to/Makefile` finds the scripts too.
HERE := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
VENV := .venv
BIN := $(VENV)/bin
VENDOR := src/fengqiao/web/static/vendor
PORT ?= 8000
# Events the demo seed files over the past year (1100000 is a year of Keqiao; takes ~4 min).
DEMO_EVENTS ?= 100000
# The demo's stand-in media gateway (a looping HLS test pattern the demo's cameras play).
VIDEO_PORT ?= $(shell echo $$(($(PORT) + 1)))
# Overridable from the environment, e.g. to point the PostgreSQL half of the suite elsewhere.
FENGQIAO_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# Extra arguments for pytest: make test PYTEST_ARGS='-k grid -x'
PYTEST_ARGS ?=
# pytest-xdist processes (each test is isolated: its own databases, servers, ports and topics);
# 0 runs in one process. `--dist loadgroup` keeps the tests of one xdist_group (the shared
# 16-town district, tests/conftest.py) in one process, so it is seeded once per backend.
PYTEST_WORKERS ?= 2
# Arguments for every bench script: make bench BENCH_ARGS=--smoke (each at its smallest, seconds)
BENCH_ARGS ?=
# What the demo's pages need from Debian: the Chinese font of the bulletin's PDF (never Chromium,
# which only the browser tests use); silent when it is there.
DEMO_DEPS ?= bash $(HERE)/scripts/demo_deps.sh

.PHONY: help venv assets install demo cluster lint test bench clean

help:
	@echo "make demo     install, seed the demo district, serve on http://127.0.0.1:$(PORT) with a worker"
	@echo "make test     install, start PostgreSQL/Redis/Mosquitto if needed, lint, run the suite"
	@echo "make cluster  N instances (N=2) and 2 workers behind HAProxy on :$(PORT), FENGQIAO_DATABASE_URL=postgresql://..."
	@echo "make install  .venv from requirements.lock + node_modules and static/vendor"
	@echo "make lint     ruff check, ruff format --check, mypy"
	@echo "make bench    run every bench/*.py (BENCH_ARGS=--smoke: each at its smallest, to check they run)"
	@echo "make clean    remove .venv, node_modules, $(VENDOR), var/"

# --- install ------------------------------------------------------------------------------

venv: $(VENV)/.stamp

$(VENV)/.stamp: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install -r requirements.lock
	$(BIN)/pip install --no-deps -e .
	touch $@

assets: $(VENDOR)/.stamp

node_modules/.stamp: package-lock.json package.json
	npm ci --no-audit --no-fund
	touch $@

$(VENDOR)/.stamp: node_modules/.stamp scripts/vendor_assets.py
	$(PYTHON) scripts/vendor_assets.py
	touch $@

install: venv assets

# --- run ----------------------------------------------------------------------------------

# Links in the demo's messages (SMS, e-mail, the in-app inbox) point at the address it serves on.
demo: export FENGQIAO_PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)
# The login page points at the demo accounts only on a demo.
demo: export FENGQIAO_DEMO_LOGIN_HINT ?= true
demo: install
	$(DEMO_DEPS)
	mkdir -p var
	$(BIN)/fengqiao db upgrade
	$(BIN)/fengqiao seed --scale keqiao --if-empty --events $(DEMO_EVENTS)
	@# The warnings a worker running all year would have raised (about a minute; nothing to do
	@# once done): the demo's planted anomalies show on 预警 from the start.
	$(BIN)/fengqiao warnings replay --from "$$(date -d '-364 days' +%Y-%m-%d)T00:00+08:00" >var/warnings-replay.log
	@echo "Early warnings of the demo year: var/warnings-replay.log"
	$(BIN)/fengqiao users list --demo
	@echo "Fengqiao: http://127.0.0.1:$(PORT)  (Ctrl-C stops the server and the worker)"
	@echo "Walk an event round the loop (docs/pages.md): demo_grid_worker reports 市容秩序/占道经营 at /m/"
	@echo "(a phone-sized window with its location in 柯桥街道), demo_operator accepts and dispatches it"
	@echo "from /map or /events, demo_handler signs and feeds back with a photo, demo_grid_worker"
	@echo "verifies it under 任务 and it closes."
	@echo "demo_district_leader sees 分析研判 (/analytics), 考核 (/assessment), 每日通报 (/bulletins) and 预警 (/warnings)."
	@echo "Residents: the service catalogue (最多跑一次) at /services needs no login; demo_resident follows 代办 at /proxy."
	@echo "Residents' app 随手拍 at /r/ (a phone-sized window): sign in with any phone number by SMS code; the demo sends no SMS,"
	@echo "the code is in var/worker.log (grep 验证码 var/worker.log); demo_resident's number is printed above."
	@echo "Integrations (docs/integrations.md): Open311 at /open311/v2/discovery.json, IoT alarms by MQTT or"
	@echo "POST /api/v1/iot/alarms (the first seed printed a key per device type), cameras (fengqiao cameras import), 河长通 checklists in /m/ 巡查."
	@echo "The worker (reminders, overdue orders, rollups, warnings, bulletins, messages, MQTT alarms) logs to var/worker.log"
	@echo "Cameras play a looping test pattern from a stand-in media gateway on :$(VIDEO_PORT) (scripts/hls_stream.py,"
	@echo "Debian's ffmpeg; a district points FENGQIAO_VIDEO_PLAYBACK_TEMPLATE at its own gateway: docs/video.md)."
	$(BIN)/fengqiao worker >>var/worker.log 2>&1 & worker=$$!; video=; \
	if [ -z "$${FENGQIAO_VIDEO_PLAYBACK_TEMPLATE:-}" ] && [ -x $(BIN)/python ] && command -v ffmpeg >/dev/null; then \
		$(BIN)/python $(HERE)/scripts/hls_stream.py --port $(VIDEO_PORT) >var/video.log 2>&1 & video=$$!; \
		for _ in $$(seq 300); do grep -q PLAYBACK_TEMPLATE var/video.log && break; sleep 0.1; done; \
		if grep -q PLAYBACK_TEMPLATE var/video.log; then \
			export FENGQIAO_VIDEO_PLAYBACK_TEMPLATE='http://127.0.0.1:$(VIDEO_PORT)/live/{gb_id}/index.m3u8'; \
		else echo "The cameras' test pattern did not start (var/video.log): the demo runs without video."; fi; \
	fi; \
	trap 'kill $$worker $$video 2>/dev/null || true; wait $$worker $$video || true' EXIT; \
	$(BIN)/fengqiao serve --host 127.0.0.1 --port $(PORT)

# N `fengqiao serve` instances and 2 workers on PostgreSQL behind Debian's HAProxy, on :$(PORT)
# (stats on :$(CLUSTER_STATS_PORT)/stats); `.venv/bin/python scripts/cluster.py restart` does a
# rolling restart of the running cluster. See docs/scaling.md.
N ?= 2
CLUSTER_STATS_PORT ?= 8404
cluster: install
	@[ -x /usr/sbin/haproxy ] || bash -c 'source $(HERE)/scripts/debian.sh && deb_install "make cluster" haproxy'
	@case "$${FENGQIAO_DATABASE_URL:-}" in postgresql*) ;; \
		*) echo "make cluster: set FENGQIAO_DATABASE_URL to a PostgreSQL database"; exit 1;; esac
	$(BIN)/fengqiao db upgrade
	$(BIN)/python $(HERE)/scripts/cluster.py up --instances $(N) --port $(PORT) --stats-port $(CLUSTER_STATS_PORT)

# --- check --------------------------------------------------------------------------------

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install lint
	bash scripts/services.sh
	bash scripts/browser_deps.sh
	FENGQIAO_TEST_POSTGRES_URL='$(FENGQIAO_TEST_POSTGRES_URL)' $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

bench: install
	@shopt -s nullglob; scripts=(bench/*.py); \
	if (( $${#scripts[@]} == 0 )); then echo "bench: no bench/*.py scripts"; exit 0; fi; \
	for script in "$${scripts[@]}"; do \
		echo "== $$script"; \
		$(BIN)/python "$$script" $(BENCH_ARGS); \
	done

clean:
	rm -rf $(VENV) node_modules $(VENDOR) var

# Lookout — see README.md. `make run` starts the whole stack, `make test` runs every test.
SHELL := /bin/bash
export PATH := $(CURDIR)/.venv/bin:$(PATH)
HONCHO := .venv/bin/honcho

.PHONY: run test setup env test-python test-frontend lint bench bench-ingest bench-remote-write \
	bench-statsd bench-query bench-live faults definitions clean compliance screenshots

run: setup env
	$(HONCHO) -e .env run lookout migrate
	$(HONCHO) -e .env run lookout setup-broker
	@echo "Starting Lookout (ingest, worker, query, alerts, producer, nginx); Ctrl-C stops it all."
	ENV_FILE=.env $(HONCHO) -e .env -f Procfile start

test: setup test-python test-frontend

test-python:
	.venv/bin/python -m pytest

test-frontend:
	cd frontend && npm test --silent && npm run typecheck --silent && npm run lint --silent

setup:
	@scripts/bootstrap.sh

env:
	@test -f .env || { cp .env.example .env; echo "created .env from .env.example"; }

lint: setup
	.venv/bin/ruff check services tests scripts benchmarks
	.venv/bin/mypy services/common/lookout_common services/ingest/lookout_ingest \
	  services/worker/lookout_worker services/query/lookout_query services/alerts/lookout_alerts \
	  services/producer/lookout_producer
	cd frontend && npm run lint --silent

bench: bench-ingest bench-remote-write bench-statsd bench-query

bench-ingest: setup
	.venv/bin/python -m benchmarks.ingest

bench-remote-write: setup
	.venv/bin/python -m benchmarks.remote_write_decode

bench-statsd: setup
	.venv/bin/python -m benchmarks.statsd

# Loads its data set (63.6 M samples) into lookout_bench_query once and keeps it.
bench-query: setup
	.venv/bin/python -m benchmarks.query

# Live push: ingest-to-client latency under 10K samples/s, clients per query process,
# for QUERY_ASYNC_MODE gevent and threading (~10 minutes; docs/benchmarks.md).
# Flags: make bench-live BENCH_LIVE_ARGS="--modes gevent --clients 1000,1500".
bench-live: setup
	.venv/bin/python -m benchmarks.live $(BENCH_LIVE_ARGS)

# PromQL compliance: Debian's prometheus and Lookout, the same range queries (~10 minutes;
# see docs/benchmarks.md). Flags: make compliance COMPLIANCE_ARGS="--duration 10m".
compliance: setup
	.venv/bin/python -m tests.compliance $(COMPLIANCE_ARGS)

# Fault injection (several minutes; restarts the local RabbitMQ and stops PostgreSQL for 60 s).
faults: setup
	.venv/bin/python -m pytest tests/faults -m faults -s -p no:cacheprovider

# docs/screenshots/*.png: every main page in Chromium against a fresh stack (tests/browser).
screenshots: setup
	LOOKOUT_SCREENSHOTS=1 .venv/bin/python -m pytest tests/browser/test_screenshots.py -p no:cacheprovider -q

definitions: setup
	.venv/bin/python scripts/generate_rabbitmq_definitions.py

clean:
	rm -rf .run frontend/dist

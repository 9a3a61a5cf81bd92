#!/usr/bin/env bash
# Prepare a machine for `make run` and `make test`: system packages, the local
# PostgreSQL/RabbitMQ/Redis (started if they are down), the RabbitMQ management
# plugin, the Python virtualenv with every service, and the built front end.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- system packages -------------------------------------------------------------
missing=()
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || missing+=(nginx-light)
command -v npm >/dev/null || missing+=(nodejs npm)
command -v pg_isready >/dev/null || missing+=(postgresql-client)
# A real Prometheus for the remote_write end-to-end test and `make compliance`,
# with node_exporter for the latter to scrape.
command -v prometheus >/dev/null || missing+=(prometheus)
command -v prometheus-node-exporter >/dev/null || missing+=(prometheus-node-exporter)
# The reference of `make bench-query`.
command -v victoria-metrics >/dev/null || missing+=(victoria-metrics)
# A real Alertmanager for the alert-forwarding test.
command -v prometheus-alertmanager >/dev/null || missing+=(prometheus-alertmanager)
# The browser the Playwright tests drive (tests/browser), headless.
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  as_root apt-get install -y "${missing[@]}" >/dev/null || {
    as_root apt-get update >/dev/null && as_root apt-get install -y "${missing[@]}" >/dev/null; }
fi

# --- local servers (only when they are expected on this machine) -------------------
wait_for() {  # wait_for <what> <command...>
  local what=$1; shift
  for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  say "$what did not come up"; return 1
}
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null; then
    say "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432
  fi
fi
if command -v redis-cli >/dev/null && ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  say "starting Redis"
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis redis-cli -h 127.0.0.1 ping
fi
if command -v rabbitmqctl >/dev/null; then
  if ! as_root rabbitmqctl -q status >/dev/null 2>&1; then
    say "starting RabbitMQ"
    as_root rabbitmq-server -detached
    wait_for RabbitMQ as_root rabbitmqctl -q await_startup
  fi
  if ! as_root rabbitmq-plugins list -e -m 2>/dev/null | grep -qx rabbitmq_management; then
    say "enabling the RabbitMQ management plugin (http://127.0.0.1:15672, DLQ inspection)"
    as_root rabbitmq-plugins enable rabbitmq_management >/dev/null
  fi
  wait_for "RabbitMQ management API" curl -sf -u guest:guest http://127.0.0.1:15672/api/overview
fi

# --- Python ---------------------------------------------------------------------------
stamp=.venv/.lookout-deps
want=$(cat services/*/pyproject.toml requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing Python packages into .venv"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements-dev.txt \
    -e 'services/common[testing]' -e services/ingest -e services/worker -e services/query \
    -e services/alerts -e services/producer
  echo "$want" > "$stamp"
fi

# --- front end ------------------------------------------------------------------------
fstamp=frontend/node_modules/.lookout-deps
fwant=$(cat frontend/package.json | sha256sum | cut -d' ' -f1)
if [ ! -f "$fstamp" ] || [ "$(cat "$fstamp")" != "$fwant" ]; then
  say "installing front-end packages"
  (cd frontend && npm install --no-audit --no-fund --loglevel=error)
  echo "$fwant" > "$fstamp"
fi
if [ ! -f frontend/dist/index.html ] || [ -n "$(find frontend/src frontend/index.html frontend/package.json -newer frontend/dist/index.html 2>/dev/null | head -1)" ]; then
  say "building the front end"
  (cd frontend && npm run build --silent >/dev/null)
fi

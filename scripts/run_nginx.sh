#!/usr/bin/env bash
# Render the nginx config for the local run and run nginx in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
run_dir="$PWD/.run/nginx"
python scripts/render_nginx.py --run-dir "$run_dir" ${ENV_FILE:+--env-file "$ENV_FILE"} >/dev/null
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
exec "$nginx_bin" -p "$run_dir" -e stderr -c "$run_dir/nginx.conf" -g 'daemon off;'

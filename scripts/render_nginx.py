#!/usr/bin/env python3
"""Render Lookout's nginx templates for the local run (standard library only).

    python scripts/render_nginx.py --run-dir .run/nginx [--env-file .env]

writes RUN_DIR/nginx.conf (from infra/nginx/nginx.local.conf.template) and
RUN_DIR/lookout.conf (from infra/nginx/lookout.conf.template), creates RUN_DIR/logs
and RUN_DIR/tmp, and prints the command that starts nginx in the foreground.

Only the named placeholders are substituted, as ``envsubst '${HTTP_PORT} ...'``
would (both ``${NAME}`` and ``$NAME``); every other ``$variable`` is nginx's own and
is left as it is. Values come from the environment, then the env file, then these
defaults:

    HTTP_PORT       8080
    INGEST_SERVERS  "server <INGEST_HOST>:<INGEST_PORT>;"  (127.0.0.1:8081)
    QUERY_SERVERS   "server <QUERY_HOST>:<QUERY_PORT>;"    (127.0.0.1:8082)
    ALERTS_SERVERS  "server <ALERTS_HOST>:<ALERTS_PORT>;"  (127.0.0.1:8083)
    FRONTEND_ROOT   <repo>/frontend/dist
    RUN_DIR         the absolute path of --run-dir
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = REPO_ROOT / "infra" / "nginx"
SERVER_TEMPLATE = "lookout.conf.template"
MAIN_TEMPLATE = "nginx.local.conf.template"

SERVER_VARIABLES = ("HTTP_PORT", "INGEST_SERVERS", "QUERY_SERVERS", "ALERTS_SERVERS",
                    "FRONTEND_ROOT")
MAIN_VARIABLES = ("RUN_DIR",)

# Addresses a service may listen on that a client cannot connect to.
_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}
_SERVERS_RE = re.compile(r"^\s*(server\s+[^\s;]+(\s+[^;]*)?;\s*)+$")


class RenderError(Exception):
    """A setting has a value nginx cannot use."""


def substitute(template: str, values: Mapping[str, str]) -> str:
    """Replace ``${NAME}`` and ``$NAME`` for the given names only."""
    if not values:
        return template
    names = "|".join(re.escape(name) for name in sorted(values, key=len, reverse=True))
    pattern = re.compile(r"\$(?:\{(" + names + r")\}|(" + names + r")(?![A-Za-z0-9_]))")
    return pattern.sub(lambda m: values[m.group(1) or m.group(2)], template)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as in .env.example; blank lines and # comments are skipped."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise RenderError(f"{path}:{number}: expected KEY=VALUE, got {line!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _server_line(settings: Mapping[str, str], service: str, default_port: int) -> str:
    host = settings.get(f"{service}_HOST", "127.0.0.1").strip()
    if host in _WILDCARD_HOSTS:
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    port = settings.get(f"{service}_PORT", str(default_port)).strip()
    return f"server {host}:{port};"


def server_values(settings: Mapping[str, str]) -> dict[str, str]:
    """The server template's values, validated."""
    values = {
        "HTTP_PORT": settings.get("HTTP_PORT", "8080").strip(),
        "INGEST_SERVERS": settings.get("INGEST_SERVERS") or _server_line(settings, "INGEST", 8081),
        "QUERY_SERVERS": settings.get("QUERY_SERVERS") or _server_line(settings, "QUERY", 8082),
        "ALERTS_SERVERS": settings.get("ALERTS_SERVERS")
        or _server_line(settings, "ALERTS", 8083),
        "FRONTEND_ROOT": settings.get("FRONTEND_ROOT") or str(REPO_ROOT / "frontend" / "dist"),
    }
    port = values["HTTP_PORT"]
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise RenderError(f"HTTP_PORT={port!r}: expected a port number (1-65535)")
    for name in ("INGEST_SERVERS", "QUERY_SERVERS", "ALERTS_SERVERS"):
        if not _SERVERS_RE.match(values[name]):
            raise RenderError(
                f"{name}={values[name]!r}: expected nginx server lines such as "
                "'server 127.0.0.1:8081;'"
            )
    root = values["FRONTEND_ROOT"]
    if not os.path.isabs(root) or re.search(r"[\s;${}]", root):
        raise RenderError(
            f"FRONTEND_ROOT={root!r}: expected an absolute path without spaces, ';', '$' or braces"
        )
    return values


def render(run_dir: Path, settings: Mapping[str, str]) -> list[Path]:
    """Write nginx.conf and lookout.conf into ``run_dir``; return their paths."""
    run_dir = run_dir.resolve()
    if re.search(r"[\s;${}]", str(run_dir)):
        raise RenderError(f"run dir {run_dir}: its path may not hold spaces, ';', '$' or braces")
    outputs = {
        run_dir / "lookout.conf": substitute(
            (TEMPLATE_DIR / SERVER_TEMPLATE).read_text(), server_values(settings)
        ),
        run_dir / "nginx.conf": substitute(
            (TEMPLATE_DIR / MAIN_TEMPLATE).read_text(), {"RUN_DIR": str(run_dir)}
        ),
    }
    for path, text in outputs.items():
        leftover = re.search(r"\$\{?[A-Z][A-Z0-9_]*\}?", text)
        if leftover:
            raise RenderError(f"{path.name}: placeholder {leftover.group(0)} has no value")
    for sub in ("logs", "tmp"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    for path, text in outputs.items():
        path.write_text(text)
    return list(outputs)


def nginx_command(run_dir: Path) -> list[str]:
    """Foreground nginx for the rendered run dir (absolute paths: -c is prefix-relative)."""
    run_dir = run_dir.resolve()
    return [
        "nginx",
        "-p",
        f"{run_dir}/",
        "-e",
        "stderr",
        "-c",
        str(run_dir / "nginx.conf"),
        "-g",
        "daemon off;",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=Path(".run/nginx"),
        help="directory for the rendered config, pid, logs and temp files",
    )
    parser.add_argument(
        "--env-file", type=Path, help="KEY=VALUE file (such as .env) read under the environment"
    )
    args = parser.parse_args(argv)

    settings: dict[str, str] = {}
    try:
        if args.env_file is not None and args.env_file.exists():
            settings.update(read_env_file(args.env_file))
        settings.update(os.environ)
        written = render(args.run_dir, settings)
    except (RenderError, OSError) as exc:
        print(f"render_nginx: {exc}", file=sys.stderr)
        return 1
    print(f"rendered {', '.join(str(p) for p in written)}")
    print(f"start nginx with: {shlex.join(nginx_command(args.run_dir))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

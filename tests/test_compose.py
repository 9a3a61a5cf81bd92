"""docker-compose.yml is checked without Docker: schema, files, settings, topology.

The Compose specification schema in tests/data/compose-spec.json is vendored,
unchanged, from github.com/compose-spec/compose-spec, file schema/compose-spec.json
(commit 170098ba07d9f53c383a41bfd4c5166b0a4529a6, Apache License 2.0).

Each ``find_*`` function returns the problems it sees as sentences; the tests at the
bottom break a copy of the compose file on purpose to show that each check finds them.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
SCHEMA_FILE = Path(__file__).resolve().parent / "data" / "compose-spec.json"
DEFINITIONS_FILE = REPO_ROOT / "infra" / "rabbitmq" / "definitions.json"
RABBITMQ_CONF = REPO_ROOT / "infra" / "rabbitmq" / "rabbitmq.conf"

# Variables a container may be given beyond Lookout's settings (.env.example):
# the nginx image renders its config template from these, and the database image
# initialises itself from those.
EXTRA_ENVIRONMENT = {
    "nginx": {
        "HTTP_PORT",
        "INGEST_SERVERS",
        "QUERY_SERVERS",
        "ALERTS_SERVERS",
        "FRONTEND_ROOT",
        "NGINX_ENVSUBST_FILTER",
    },
    "timescaledb": {"POSTGRES_PASSWORD", "POSTGRES_DB"},
}

# The front door's published ports (DESIGN.md, Ports).
CONTRACT_PORTS = {"8080:8080", "8125:8125/udp", "15672:15672"}

Compose = dict[str, Any]


# --- loading ---------------------------------------------------------------------------


def load_compose(text: str | None = None) -> Compose:
    data = yaml.safe_load(COMPOSE_FILE.read_text() if text is None else text)
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    # YAML aliases load as one shared object; a JSON round trip gives every service
    # its own copy, so a test can change one service without changing its siblings.
    unshared: Compose = json.loads(json.dumps(data))
    return unshared


def env_example_names() -> set[str]:
    names = set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            names.add(line.split("=", 1)[0].strip())
    return names


def environment_of(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's environment as a mapping, whichever of the two forms it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return {k: v for k, _, v in (item.partition("=") for item in env)}
    return {str(k): None if v is None else str(v) for k, v in env.items()}


def dockerfile_of(service: dict[str, Any]) -> Path | None:
    build = service.get("build")
    if build is None:
        return None
    if isinstance(build, str):
        build = {"context": build}
    context = REPO_ROOT / str(build.get("context", "."))
    return context / str(build.get("dockerfile", "Dockerfile"))


# --- checks ------------------------------------------------------------------------------


def find_schema_errors(compose: Compose) -> list[str]:
    schema = json.loads(SCHEMA_FILE.read_text())
    # The schema says draft-07 (spelt without the trailing "#" jsonschema looks up).
    assert "draft-07" in schema["$schema"]
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in validator.iter_errors(compose)
    ]


def find_missing_build_files(compose: Compose) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        build = service.get("build")
        if build is None:
            continue
        context = REPO_ROOT / (build if isinstance(build, str) else build.get("context", "."))
        dockerfile = dockerfile_of(service)
        if not context.is_dir():
            problems.append(f"{name}: build context {context} is not a directory")
        elif dockerfile is None or not dockerfile.is_file():
            problems.append(f"{name}: Dockerfile {dockerfile} does not exist")
    return problems


def bind_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host path, container path) of every bind mount; named volumes are left out."""
    mounts = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source, _, rest = volume.partition(":")
            target = rest.split(":", 1)[0]
            if source.startswith((".", "/", "~")):
                mounts.append((source, target))
        elif volume.get("type") == "bind":
            mounts.append((volume["source"], volume["target"]))
    return mounts


def find_missing_mounts(compose: Compose) -> list[str]:
    problems = []
    declared_volumes = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for source, _ in bind_mounts(service):
            if not (REPO_ROOT / source).exists():
                problems.append(f"{name}: mounted host path {source} does not exist")
        for volume in service.get("volumes") or []:
            source = (
                volume.partition(":")[0] if isinstance(volume, str) else volume.get("source", "")
            )
            is_named = (
                isinstance(volume, str) and ":" in volume and not source.startswith((".", "/", "~"))
            )
            if is_named and source not in declared_volumes:
                problems.append(f"{name}: named volume {source} is not declared under volumes:")
    return problems


# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?err}, ${NAME?err}, ${NAME:+alt}, $NAME;
# $$ is a literal dollar sign.
_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<modifier>:?[-?+][^}]*)?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def find_undefined_variables(text: str, known: set[str]) -> list[str]:
    """Each ${VAR} must have a default in the file or be one of Lookout's settings."""
    problems = []
    for match in _INTERPOLATION.finditer(text):
        if match.group("escaped"):
            continue
        name = match.group("braced") or match.group("bare")
        modifier = match.group("modifier") or ""
        has_default = modifier.startswith(("-", ":-"))
        if not has_default and name not in known:
            problems.append(f"${{{name}}} has no default and is not in .env.example")
    return problems


def find_unknown_environment(compose: Compose, known: set[str]) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        allowed = known | EXTRA_ENVIRONMENT.get(name, set())
        for var in environment_of(service):
            if var not in allowed:
                problems.append(f"{name}: environment variable {var} is not in .env.example")
    return problems


def has_healthcheck(service: dict[str, Any]) -> bool:
    check = service.get("healthcheck")
    if check is not None:
        return not check.get("disable", False) and check.get("test") not in (["NONE"], "NONE")
    dockerfile = dockerfile_of(service)
    if dockerfile is None or not dockerfile.is_file():
        return False
    instructions = [line.split() for line in dockerfile.read_text().splitlines()]
    return any(words[:1] == ["HEALTHCHECK"] and words[1:2] != ["NONE"] for words in instructions)


def find_bad_dependencies(compose: Compose) -> list[str]:
    problems = []
    services = compose["services"]
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        if isinstance(depends_on, list):
            depends_on = {target: {"condition": "service_started"} for target in depends_on}
        for target, spec in depends_on.items():
            if target not in services:
                problems.append(f"{name}: depends on {target}, which is not a service")
            elif target == name:
                problems.append(f"{name}: depends on itself")
            elif spec.get("condition") == "service_healthy" and not has_healthcheck(
                services[target]
            ):
                problems.append(
                    f"{name}: waits for {target} to be healthy, which has no healthcheck"
                )
    return problems


# --- the compose file as it is -------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> Compose:
    return load_compose()


def test_compose_file_matches_the_compose_specification(compose: Compose) -> None:
    assert find_schema_errors(compose) == []


def test_every_build_context_and_dockerfile_exists(compose: Compose) -> None:
    assert find_missing_build_files(compose) == []


def test_every_mounted_host_file_exists(compose: Compose) -> None:
    assert find_missing_mounts(compose) == []


def test_every_interpolated_variable_has_a_default_or_is_a_setting() -> None:
    assert find_undefined_variables(COMPOSE_FILE.read_text(), env_example_names()) == []


def test_services_are_given_only_lookout_settings(compose: Compose) -> None:
    assert find_unknown_environment(compose, env_example_names()) == []


def test_every_dependency_exists_and_can_be_waited_for(compose: Compose) -> None:
    assert find_bad_dependencies(compose) == []


def test_contract_ports_are_published(compose: Compose) -> None:
    published = {str(port) for s in compose["services"].values() for port in s.get("ports") or []}
    assert CONTRACT_PORTS <= published


def test_rabbitmq_loads_the_mounted_definitions(compose: Compose) -> None:
    conf = dict(
        (key.strip(), value.strip())
        for key, _, value in (
            line.partition("=")
            for line in RABBITMQ_CONF.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        )
    )
    mounts = dict(
        (target, source) for source, target in bind_mounts(compose["services"]["rabbitmq"])
    )
    definitions_path = conf["management.load_definitions"]
    assert definitions_path in mounts, f"{definitions_path} is not mounted into rabbitmq"
    assert (REPO_ROOT / mounts[definitions_path]).resolve() == DEFINITIONS_FILE
    assert mounts.get("/etc/rabbitmq/rabbitmq.conf") is not None


# --- RabbitMQ definitions --------------------------------------------------------------------


def test_broker_definitions_match_the_declared_topology(monkeypatch: pytest.MonkeyPatch) -> None:
    from lookout_common.broker import topology_definitions
    from lookout_common.settings import BrokerSettings

    # Compose runs with the default BROKER_* settings, whatever this shell sets.
    for name in [n for n in os.environ if n.upper().startswith("BROKER_")]:
        monkeypatch.delenv(name)
    expected = topology_definitions(BrokerSettings())
    actual = json.loads(DEFINITIONS_FILE.read_text())
    for section in ("exchanges", "queues", "bindings"):
        assert actual[section] == expected[section], (
            f"{DEFINITIONS_FILE.name} {section} drifted from lookout_common.broker: run "
            "`.venv/bin/python scripts/generate_rabbitmq_definitions.py`"
        )


def test_broker_definitions_let_the_compose_services_in(compose: Compose) -> None:
    amqp = urlsplit(compose["x-lookout-env"]["AMQP_URL"])
    user, password = unquote(amqp.username or ""), unquote(amqp.password or "")
    vhost = unquote(amqp.path[1:]) if len(amqp.path) > 1 else "/"
    definitions = json.loads(DEFINITIONS_FILE.read_text())

    assert {"name": vhost} in [{"name": v["name"]} for v in definitions["vhosts"]]
    users = {u["name"]: u for u in definitions["users"]}
    assert user in users, f"AMQP_URL's user {user} is not defined"
    stored = base64.b64decode(users[user]["password_hash"])
    salt, digest = stored[:4], stored[4:]
    assert users[user]["hashing_algorithm"] == "rabbit_password_hashing_sha256"
    assert hashlib.sha256(salt + password.encode()).digest() == digest, "password differs"
    grants = [p for p in definitions["permissions"] if p["user"] == user and p["vhost"] == vhost]
    assert grants and all(grants[0][k] == ".*" for k in ("configure", "write", "read"))


# --- the checks find what they are for ---------------------------------------------------------


def test_schema_check_finds_a_malformed_service(compose: Compose) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["redis"]["ports"] = {"6379": 6379}  # a mapping where a list belongs
    broken["services"]["redis"]["helthcheck"] = broken["services"]["redis"].pop("healthcheck")
    errors = find_schema_errors(broken)
    assert any(e.startswith("services/redis/ports") for e in errors), errors
    assert any("helthcheck" in e for e in errors), errors


def test_build_check_finds_a_missing_dockerfile(compose: Compose) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["alerts"]["build"]["dockerfile"] = "services/alerts/Dockerfile.missing"
    broken["services"]["producer"]["build"]["context"] = "services/no-such-dir"
    problems = find_missing_build_files(broken)
    assert len(problems) == 2, problems


def test_mount_check_finds_a_missing_file(compose: Compose) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["rabbitmq"]["volumes"].append("./infra/rabbitmq/missing.conf:/etc/x.conf:ro")
    broken["services"]["redis"]["volumes"] = ["redis-data:/data"]
    problems = find_missing_mounts(broken)
    assert any("missing.conf" in p for p in problems), problems
    assert any("redis-data" in p for p in problems), problems


def test_interpolation_check_finds_a_variable_without_default() -> None:
    text = COMPOSE_FILE.read_text() + "\nx-extra:\n  a: ${LOOKOUT_NOT_A_SETTING}\n  b: $$HOME\n"
    problems = find_undefined_variables(text, env_example_names())
    assert problems == ["${LOOKOUT_NOT_A_SETTING} has no default and is not in .env.example"]


def test_environment_check_finds_an_unknown_setting(compose: Compose) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["query-1"]["environment"]["QUERY_PROT"] = "8082"  # a typo
    broken["services"]["worker"]["environment"]["INGEST_SERVERS"] = "server x:1;"  # nginx's only
    problems = find_unknown_environment(broken, env_example_names())
    assert sorted(problems) == [
        "query-1: environment variable QUERY_PROT is not in .env.example",
        "worker: environment variable INGEST_SERVERS is not in .env.example",
    ]


def test_dependency_check_finds_a_missing_or_unhealthy_target(compose: Compose) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["nginx"]["depends_on"]["query-3"] = {"condition": "service_healthy"}
    broken["services"]["alerts"]["depends_on"]["mailcatcher"] = {"condition": "service_healthy"}
    problems = find_bad_dependencies(broken)
    assert sorted(problems) == [
        "alerts: waits for mailcatcher to be healthy, which has no healthcheck",
        "nginx: depends on query-3, which is not a service",
    ]

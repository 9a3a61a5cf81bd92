#!/usr/bin/env python3
"""Write infra/rabbitmq/definitions.json, which compose's RabbitMQ loads at boot.

    .venv/bin/python scripts/generate_rabbitmq_definitions.py

exchanges, queues and bindings come from lookout_common.broker.topology_definitions
with the default settings (tests/test_compose.py fails when the file drifts from
them). The vhosts, users and permissions sections are added here: a broker that
imports definitions at boot creates neither the default vhost nor the guest user,
so the file has to. guest/guest matches AMQP_URL in docker-compose.yml; the broker
lets guest in over the network because rabbitmq.conf sets loopback_users.guest = false.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from lookout_common.broker import topology_definitions
from lookout_common.settings import BrokerSettings

OUTPUT = Path(__file__).resolve().parent.parent / "infra" / "rabbitmq" / "definitions.json"

VHOST = "/"
USER = "guest"
PASSWORD = "guest"
# A fixed salt keeps the file byte-for-byte reproducible.
_SALT = bytes.fromhex("908dc60a")


def rabbit_password_hash(password: str, salt: bytes = _SALT) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def access_definitions() -> dict[str, Any]:
    """The sections added to the generated topology."""
    return {
        "vhosts": [{"name": VHOST}],
        "users": [
            {
                "name": USER,
                "password_hash": rabbit_password_hash(PASSWORD),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                # administrator: may log in to the management UI to inspect metrics.dlq.
                "tags": ["administrator"],
            }
        ],
        "permissions": [
            {"user": USER, "vhost": VHOST, "configure": ".*", "write": ".*", "read": ".*"}
        ],
    }


def definitions() -> dict[str, Any]:
    # Compose runs the services with the default BROKER_* settings: ignore this shell's.
    for name in [n for n in os.environ if n.upper().startswith("BROKER_")]:
        del os.environ[name]
    return {**access_definitions(), **topology_definitions(BrokerSettings(), vhost=VHOST)}


def main() -> None:
    OUTPUT.write_text(json.dumps(definitions(), indent=2) + "\n")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()

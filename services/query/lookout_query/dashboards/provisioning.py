"""Dashboards provisioned from files (``QUERY_DASHBOARDS_DIR``, e.g. infra/dashboards):
each ``*.json`` (Lookout dashboard JSON, or a Grafana export) is created or brought up
to date at start and marked provisioned. Provisioned dashboards have no owner, so only
admins may change them through the API — and the file wins at the next start."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from lookout_common.errors import ValidationFailed

from . import grafana
from .model import EXPORT_FORMAT, DashboardDraft, parse_dashboard
from .store import DashboardStore

log = logging.getLogger(__name__)


def load_file(path: Path) -> DashboardDraft:
    document = json.loads(path.read_text())
    if isinstance(document, dict) and document.get("format") == EXPORT_FORMAT:
        return parse_dashboard(document)
    if grafana.is_grafana(document):
        return grafana.convert(document)[0]
    raise ValidationFailed(f"{path} is neither Lookout nor Grafana dashboard JSON",
                           field="format")


def provision(store: DashboardStore, directory: Path) -> list[str]:
    """Provision every dashboard file of ``directory``; the names of those loaded."""
    loaded = []
    for path in sorted(directory.glob("*.json")):
        draft = load_file(path)
        store.provision(draft, path.name)
        loaded.append(draft.name)
    return loaded

"""Dashboards and panels: validation, storage, Grafana import, provisioning."""

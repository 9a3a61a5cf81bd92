"""Lookout's query service. So far: the metric catalogue (names, label names and
values) and health; PromQL, dashboards and live push arrive with later issues."""

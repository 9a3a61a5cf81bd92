"""Lookout's alerting: the rules API (``python -m lookout_alerts``) and the evaluator
(``python -m lookout_alerts.evaluator``); see docs/alerting.md."""

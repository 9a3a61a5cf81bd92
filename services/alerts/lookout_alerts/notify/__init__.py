"""Notifications: grouping (grouping.py), payloads (payloads.py), senders for e-mail and
webhooks (senders.py), and delivery with retries and a circuit breaker per destination
(delivery.py). Alertmanager targets are forwarded to by the evaluator itself."""

"""Sending one notification: e-mail over SMTP, a webhook POST.
Each raises ``DeliveryFailed`` saying whether another attempt could succeed."""

from __future__ import annotations

import smtplib
from typing import Any, Protocol

import requests

from ..settings import AlertsSettings
from .grouping import Notification
from .payloads import email_message, webhook_payload


class DeliveryFailed(Exception):
    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class PermanentDeliveryFailure(DeliveryFailed):
    """The receiver refused (4xx, a rejected recipient): retrying cannot help. The
    receiver did answer, so it does not count against its circuit breaker."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class Sender(Protocol):
    def __call__(self, n: Notification) -> None: ...


def _check_http(response: requests.Response, what: str) -> None:
    if 200 <= response.status_code < 300:
        return
    message = f"{what} answered {response.status_code}: {response.text[:200]}"
    if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
        raise PermanentDeliveryFailure(message)
    raise DeliveryFailed(message, retryable=True)


def _post(url: str, body: Any, timeout: float, what: str) -> None:
    try:
        response = requests.post(url, json=body, timeout=timeout,
                                 headers={"User-Agent": "Lookout-Alerts"})
    except requests.RequestException as exc:
        raise DeliveryFailed(f"{what} unreachable: {exc}", retryable=True) from exc
    _check_http(response, what)


class WebhookSender:
    def __init__(self, settings: AlertsSettings) -> None:
        self.settings = settings

    def __call__(self, n: Notification) -> None:
        _post(n.target.address, webhook_payload(n, self.settings.alerts_external_url),
              self.settings.alerts_http_timeout_s, f"webhook {n.target.address}")


class EmailSender:
    def __init__(self, settings: AlertsSettings) -> None:
        self.settings = settings

    def __call__(self, n: Notification) -> None:
        s = self.settings
        msg = email_message(n, s.smtp_from, n.target.address, s.alerts_external_url)
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.alerts_http_timeout_s) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_username:
                    smtp.login(s.smtp_username, s.smtp_password)
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentDeliveryFailure(f"SMTP refused {n.target.address}: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentDeliveryFailure(f"SMTP answered {exc.smtp_code}") from exc
            raise DeliveryFailed(f"SMTP answered {exc.smtp_code}", retryable=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP {s.smtp_host}:{s.smtp_port}: {exc}",
                                 retryable=True) from exc


def senders(settings: AlertsSettings) -> dict[str, Sender]:
    """The grouped targets' senders (``alertmanager`` targets are forwarded to on every
    evaluation instead, see ``Evaluator.forward_to_alertmanager``)."""
    return {"email": EmailSender(settings), "webhook": WebhookSender(settings)}

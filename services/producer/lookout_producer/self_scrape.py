"""``python -m lookout_producer.self_scrape``: Lookout watching itself.

Every ``SCRAPE_INTERVAL_S`` it reads each of Lookout's own ``/metrics`` endpoints and
pushes the text, as it is, to Lookout's exposition push endpoint with the grouping
labels ``job`` and ``instance`` — the path any agent's data takes. An ``up`` sample (1
when the scrape worked, 0 when it did not) and ``scrape_duration_seconds`` are added,
as Prometheus adds them.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass
from types import FrameType
from urllib.parse import quote, urlsplit

import requests
from pydantic import Field, field_validator

from lookout_common.log_config import configure_logging
from lookout_common.settings import load_settings

from .settings import ProducerSettings

log = logging.getLogger("lookout_producer.self_scrape")

IMPORT_PATH = "/api/v1/import/prometheus/metrics/job/{job}/instance/{instance}"


@dataclass(frozen=True)
class Target:
    job: str
    url: str

    @property
    def instance(self) -> str:
        return urlsplit(self.url).netloc


def parse_targets(text: str) -> list[Target]:
    """``job=url,job=url`` → targets."""
    targets = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        job, sep, url = item.partition("=")
        if not sep or not job.strip() or not url.strip().startswith(("http://", "https://")):
            raise ValueError(f"target {item!r} is not job=http(s)://host:port/path")
        targets.append(Target(job.strip(), url.strip()))
    return targets


class SelfScrapeSettings(ProducerSettings):
    scrape_targets: str = Field(
        "ingest=http://127.0.0.1:8081/metrics,worker=http://127.0.0.1:9101/metrics,"
        "query=http://127.0.0.1:8082/metrics,alerts=http://127.0.0.1:8083/metrics,"
        "alerts-evaluator=http://127.0.0.1:9102/metrics")
    scrape_interval_s: float = Field(15.0, ge=1, le=3600)

    @field_validator("scrape_targets")
    @classmethod
    def _targets(cls, value: str) -> str:
        parse_targets(value)
        return value


def with_scrape_samples(text: str, up: bool, duration_s: float) -> str:
    """The scraped exposition text plus ``up`` and ``scrape_duration_seconds``."""
    return (text.rstrip("\n") + "\n" if text else "") + (
        "# TYPE up gauge\n"
        f"up {1 if up else 0}\n"
        "# TYPE scrape_duration_seconds gauge\n"
        f"scrape_duration_seconds {duration_s:.6f}\n"
    )


class SelfScraper:
    def __init__(self, settings: SelfScrapeSettings) -> None:
        self.settings = settings
        self.targets = parse_targets(settings.scrape_targets)
        self.session = requests.Session()
        if settings.producer_token:
            self.session.headers["Authorization"] = f"Bearer {settings.producer_token}"

    def scrape_once(self) -> dict[str, int]:
        """Scrape and push every target; the push's HTTP status by job."""
        results = {}
        for target in self.targets:
            started = time.perf_counter()
            try:
                response = self.session.get(target.url, timeout=10)
                response.raise_for_status()
                text, up = response.text, True
            except requests.RequestException as exc:
                log.warning("scrape failed", extra={"job": target.job, "error": str(exc)})
                text, up = "", False
            body = with_scrape_samples(text, up, time.perf_counter() - started)
            url = self.settings.producer_url.rstrip("/") + IMPORT_PATH.format(
                job=quote(target.job, safe=""), instance=quote(target.instance, safe=":"))
            try:
                pushed = self.session.post(url, data=body.encode(), timeout=30,
                                           headers={"Content-Type": "text/plain"})
                results[target.job] = pushed.status_code
                if pushed.status_code >= 300:
                    log.warning("push refused", extra={"job": target.job,
                                                       "status": pushed.status_code,
                                                       "answer": pushed.text[:300]})
            except requests.RequestException as exc:
                log.warning("push failed", extra={"job": target.job, "error": str(exc)})
                results[target.job] = 0
        return results


def main() -> int:
    settings = load_settings(SelfScrapeSettings)
    configure_logging(settings, "self-scrape")
    scraper = SelfScraper(settings)
    stopped = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("scraping", extra={"targets": [t.url for t in scraper.targets],
                                "interval_s": settings.scrape_interval_s})
    while not stopped.is_set():
        scraper.scrape_once()
        stopped.wait(settings.scrape_interval_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())

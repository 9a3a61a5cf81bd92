"""``python -m lookout_producer``: demo data every PRODUCER_INTERVAL_S, or a load test.

    python -m lookout_producer                      # services + signals demo, until stopped
    python -m lookout_producer --once               # one demo tick; exit 1 unless acknowledged
    python -m lookout_producer --load --rate 50000 --series 1000 --batch 2000 --duration 30

The load generator prints a summary on stdout and exits 1 when any sample was
rejected or given up. SIGINT and SIGTERM stop either mode cleanly.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from types import FrameType

from lookout_common.log_config import configure_logging
from lookout_common.settings import load_settings

from .client import IngestClient, Outcome, SendStats
from .demo import DemoFeed
from .demo_runner import run_demo
from .load_runner import LoadPlan, run_load
from .settings import ProducerSettings

log = logging.getLogger("lookout_producer")

# Largest batch: at ~100 bytes a sample this stays well under the ingest API's
# default 10 MB body limit.
MAX_BATCH = 50_000


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lookout_producer",
        description="Push demo data or a synthetic load to Lookout's JSON ingest API.",
        epilog=(
            "Demo series: latency_ms, throughput_rps, error_rate_percent, cpu_percent and "
            "memory_percent with {service=auth|api|database|cache|queue}, and "
            "signal{signal=sine|cosine|noise|random_walk|damped}. "
            "Settings: PRODUCER_URL, PRODUCER_INTERVAL_S, PRODUCER_TIMEOUT_S, LOG_LEVEL, "
            "LOG_FORMAT."
        ),
    )
    parser.add_argument("--url", help="base URL of Lookout (overrides PRODUCER_URL)")
    parser.add_argument("--seed", type=int, help="random seed, for a reproducible run")
    parser.add_argument("--once", action="store_true",
                        help="send one demo tick and exit (status 1 unless acknowledged)")
    load = parser.add_argument_group("load generator")
    load.add_argument("--load", action="store_true", help="run the load generator")
    load.add_argument("--rate", type=_non_negative_float, default=10_000,
                      help="samples per second over all series, 0 = unpaced (default 10000)")
    load.add_argument("--series", type=_positive_int, default=1_000,
                      help="number of series, load_test_value{series=\"s00000\"...} "
                           "(default 1000)")
    load.add_argument("--batch", type=_positive_int, default=1_000,
                      help=f"samples per request, at most {MAX_BATCH} (default 1000)")
    load.add_argument("--concurrency", type=_positive_int, default=2,
                      help="sender threads, each with its own connection (default 2)")
    load.add_argument("--duration", type=_positive_float, metavar="SECONDS",
                      help="stop after this many seconds")
    load.add_argument("--total", type=_positive_int, metavar="SAMPLES",
                      help="stop after this many samples")
    return parser


def _stop_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    # Same path as Ctrl-C: unwinds whatever the main thread is doing (even a
    # retry's sleep), and the modes below catch it to finish cleanly.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.load and any(
        getattr(args, name) != parser.get_default(name)
        for name in ("rate", "series", "batch", "concurrency", "duration", "total")
    ):
        parser.error("--rate, --series, --batch, --concurrency, --duration and --total "
                     "need --load")
    if args.load and args.once:
        parser.error("--once is for the demo; use --total or --duration with --load")
    if args.batch > MAX_BATCH:
        parser.error(f"--batch must be at most {MAX_BATCH}")
    if args.concurrency > args.series:
        parser.error("--concurrency cannot exceed --series")

    overrides = {} if args.url is None else {"producer_url": args.url}
    settings = load_settings(ProducerSettings, **overrides)
    configure_logging(settings, "producer")
    # The client logs each retry itself (with the status); urllib3 would repeat it.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)

    if args.load:
        return _load(settings, args)
    return _demo(settings, args)


def _client(settings: ProducerSettings, stats: SendStats | None = None) -> IngestClient:
    return IngestClient(settings.metrics_url, timeout_s=settings.producer_timeout_s,
                        stats=stats, token=settings.producer_token)


def _demo(settings: ProducerSettings, args: argparse.Namespace) -> int:
    log.info("demo starting", extra={"url": settings.metrics_url,
                                     "interval_s": settings.producer_interval_s})
    feed = DemoFeed(int(time.time() * 1000), seed=args.seed)
    with _client(settings) as client:
        try:
            outcome = run_demo(client, feed, settings.producer_interval_s, once=args.once)
        except KeyboardInterrupt:
            log.info("demo stopped", extra=vars(client.stats.snapshot()))
            return 0
    return 0 if outcome is Outcome.ACKNOWLEDGED else 1


def _load(settings: ProducerSettings, args: argparse.Namespace) -> int:
    plan = LoadPlan(rate=args.rate, series=args.series, batch=args.batch,
                    concurrency=args.concurrency, duration_s=args.duration,
                    total=args.total, seed=args.seed)
    log.info("load test starting", extra={"url": settings.metrics_url, "rate": plan.rate,
                                          "series": plan.series, "batch": plan.batch,
                                          "concurrency": plan.concurrency})
    summary = run_load(plan, lambda stats: _client(settings, stats))
    print(summary.format(), flush=True)
    log.info("load test finished", extra={**vars(summary.totals),
                                           "elapsed_s": round(summary.elapsed_s, 3),
                                           "rate": round(summary.achieved_rate)})
    return 1 if summary.totals.rejected or summary.totals.failed else 0


if __name__ == "__main__":
    sys.exit(main())

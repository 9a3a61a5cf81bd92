"""``python -m tests.compliance`` (``make compliance``): is Lookout's PromQL Prometheus's?

Starts a Prometheus (Debian's package) that scrapes three demo-exporter instances,
node_exporter and itself every 5 s and remote-writes everything into a Lookout stack of
its own (see stack.py). Halfway through ``--duration`` the demo exporter restarts
(failed scrapes, staleness markers, counter resets). At the end, the harness waits until
Lookout holds every sample Prometheus holds, then runs every query of the compliance project's list and of
Lookout's own (queries_lookout.yml), expanded (expand.py), as a range query over the
same window and step against Prometheus's ``/api/v1/query_range`` and Lookout's
``/prometheus/api/v1/query_range``, compares the answers (compare.py), prints matched /
total and each failure, and writes the figures as JSON (``--report``).

Before the queries run, scraping stops (Prometheus reloads a configuration without
targets) and the harness waits until Lookout holds every sample Prometheus holds, so
both answer from the same data whatever a query's offset or range — the compliance
tester gets the same effect by querying a window that ended 12 minutes ago. The window
is the last ten minutes of data at most (as there), starting no earlier than a minute
after the first scrape and ending 10 s before scraping stopped; the step is 10 s. With ``--prometheus-url`` and ``--lookout-url``
nothing is started and the two running systems are compared over the last
``--duration`` ending a minute ago.

Exit status: 0 when at least ``--fail-under`` percent matched, 1 when fewer did, 2 when
the comparison could not run.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from lookout_common.testing import _from_environment

from ..stack import ROOT
from .compare import DEFAULT_TOLERANCE, Answer, compare, parse_answer
from .expand import QueryCase, QueryListError, load_cases
from .report import CaseResult, render_text, summarise
from .stack import ComplianceStack, ProcessError

UPSTREAM_QUERIES = ROOT.parent / "shared" / "data" / "promql-compliance" / \
    "promql-test-queries.yml"
LOOKOUT_QUERIES = Path(__file__).with_name("queries_lookout.yml")
MAX_WINDOW_S = 600
LEAD_IN_S = 60  # data before the window's start, for lookback and range selectors
SETTLE_S = 10  # the window ends this long before scraping stops
LOOKOUT_API = "/prometheus/api/v1/query_range"
PROMETHEUS_API = "/api/v1/query_range"


def duration(text: str) -> float:
    """``90``, ``90s``, ``5m``, ``1h`` → seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smh]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 300s, 5m)")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.compliance",
                                description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=duration, default=duration("8m"),
                   help="how long data accumulates before the queries run (default 8m; "
                        "a run takes about a minute more)")
    p.add_argument("--step", type=duration, default=duration("10s"),
                   help="the range queries' step (default 10s)")
    p.add_argument("--queries", type=Path, action="append",
                   help="query lists to run (repeatable; default: the compliance project's "
                        f"{UPSTREAM_QUERIES.name} and Lookout's {LOOKOUT_QUERIES.name})")
    p.add_argument("--only", type=re.compile, metavar="REGEX",
                   help="run only the expanded queries this regular expression finds")
    p.add_argument("--report", type=Path, default=ROOT / ".run" / "compliance.json",
                   help="where to write the JSON report (default .run/compliance.json)")
    p.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                   help="relative tolerance for values (default 1e-5)")
    p.add_argument("--parallel", type=int, default=4, help="queries in flight at once")
    p.add_argument("--timeout", type=float, default=60, help="seconds per HTTP request")
    p.add_argument("--fail-under", type=float, default=95.0, metavar="PERCENT",
                   help="exit 1 when fewer than this share of queries match (default 95)")
    p.add_argument("--prometheus-url", help="compare a running Prometheus ...")
    p.add_argument("--lookout-url", help="... with a running Lookout query service "
                                         "(both, or neither: then the harness starts its own)")
    p.add_argument("--restart-demo", action=argparse.BooleanOptionalAction, default=True,
                   help="restart the demo exporter halfway, down for two scrape intervals, "
                        "for counter resets and staleness (default: yes)")
    p.add_argument("--hold", action="store_true",
                   help="after comparing, keep the started stack running until Ctrl-C")
    p.add_argument("--keep-dir", action="store_true",
                   help="keep the run's directory (logs, Prometheus's TSDB)")
    args = p.parse_args(argv)
    if bool(args.prometheus_url) != bool(args.lookout_url):
        p.error("give both --prometheus-url and --lookout-url, or neither")
    if args.duration < 30:
        p.error("--duration must be at least 30s")
    return args


def load_all(paths: list[Path], only: re.Pattern[str] | None) -> list[QueryCase]:
    cases = [case for path in paths for case in load_cases(path)]
    return [c for c in cases if only.search(c.query)] if only else cases


class RangeQueries:
    """Runs one range query against a system's query_range endpoint."""

    def __init__(self, url: str, start_s: float, end_s: float, step_s: float,
                 timeout_s: float) -> None:
        self.url = url
        self.form = {"start": f"{start_s:.3f}", "end": f"{end_s:.3f}", "step": f"{step_s:g}"}
        self.timeout_s = timeout_s
        self._local = threading.local()

    def __call__(self, query: str) -> tuple[Answer, float]:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        started = time.perf_counter()
        try:
            r = session.post(self.url, data={"query": query, **self.form},
                             timeout=self.timeout_s)
            answer = parse_answer(r.status_code, r.content)
        except requests.Timeout:
            answer = Answer(False, 0, error_type="client_timeout",
                            error=f"no answer within {self.timeout_s:g} s")
        except requests.RequestException as exc:
            answer = Answer(False, 0, error_type="connection", error=repr(exc))
        return answer, time.perf_counter() - started


def run_cases(cases: list[QueryCase], prometheus: RangeQueries, lookout: RangeQueries,
              tolerance: float, parallel: int) -> list[CaseResult]:
    done = 0
    lock = threading.Lock()

    def one(case: QueryCase) -> CaseResult:
        nonlocal done
        reference, reference_s = prometheus(case.query)
        candidate, candidate_s = lookout(case.query)
        result = CaseResult(case, compare(case, reference, candidate, tolerance),
                            reference_s, candidate_s, len(reference.series),
                            sum(len(points) for _, points in reference.series))
        with lock:
            done += 1
            if done % 50 == 0 or done == len(cases):
                print(f"  {done} / {len(cases)} queries compared", flush=True)
        return result

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(one, cases))


def lookout_has_query_range(lookout_url: str) -> bool:
    now = time.time()
    r = requests.post(lookout_url + LOOKOUT_API, timeout=30, data={
        "query": "vector(1)", "start": f"{now - 60:.3f}", "end": f"{now:.3f}", "step": "10"})
    return r.status_code != 404


def _clock(seconds: float) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


def accumulate(stack: ComplianceStack, seconds: float, restart_demo: bool) -> None:
    """Let data accumulate, saying how it goes every 30 s; halfway, restart the demo
    exporter when asked to."""
    until = stack.started_at + seconds
    restart_at = stack.started_at + seconds / 2 if restart_demo else math.inf
    while (left := until - time.time()) > 0:
        time.sleep(max(0.0, min(30.0, left, restart_at - time.time())))
        if time.time() >= restart_at:
            restart_at = math.inf
            stack.restart_demo_exporter()
            print(f"  {_clock(time.time() - stack.started_at)}: demo exporter restarted "
                  "(failed scrapes, counter resets)", flush=True)
            continue
        elapsed = time.time() - stack.started_at
        stored = stack.lookout_samples(time.time())
        print(f"  {_clock(elapsed)} / {_clock(seconds)}: Lookout holds {stored:,} samples",
              flush=True)


def compare_systems(args: argparse.Namespace, cases: list[QueryCase], prometheus_url: str,
                    lookout_url: str, start_s: float, end_s: float,
                    run: dict[str, Any]) -> int:
    step_s = args.step
    print(f"Comparing {len(cases)} range queries over "
          f"{datetime.fromtimestamp(start_s, UTC):%H:%M:%S} to "
          f"{datetime.fromtimestamp(end_s, UTC):%H:%M:%S} UTC, step {step_s:g} s", flush=True)
    prometheus = RangeQueries(prometheus_url + PROMETHEUS_API, start_s, end_s, step_s,
                              args.timeout)
    lookout = RangeQueries(lookout_url + LOOKOUT_API, start_s, end_s, step_s, args.timeout)
    results = run_cases(cases, prometheus, lookout, args.tolerance, args.parallel)
    summary = summarise(results, {
        **run, "window": {"start": start_s, "end": end_s, "step_s": step_s,
                          "steps": int((end_s - start_s) // step_s) + 1},
        "tolerance": args.tolerance, "finished_at": datetime.now(UTC).isoformat()})
    print()
    print(render_text(summary))
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"Report: {args.report}")
    return 0 if summary["totals"]["percent"] >= args.fail_under else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        cases = load_all(args.queries or [UPSTREAM_QUERIES, LOOKOUT_QUERIES], args.only)
    except QueryListError as exc:
        print(f"compliance: {exc}", file=sys.stderr)
        return 2
    if not cases:
        print("compliance: no queries to run", file=sys.stderr)
        return 2
    run: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(),
                           "duration_s": args.duration,
                           "query_lists": [str(p) for p in args.queries or
                                           [UPSTREAM_QUERIES, LOOKOUT_QUERIES]]}
    if args.prometheus_url:
        end_s = round(time.time() - 60, 3)
        return compare_systems(args, cases, args.prometheus_url.rstrip("/"),
                               args.lookout_url.rstrip("/"),
                               end_s - min(args.duration, MAX_WINDOW_S), end_s, run)

    work_dir = Path(tempfile.mkdtemp(prefix="lookout-compliance-"))
    stack = ComplianceStack(_from_environment(), work_dir)
    try:
        print(f"Starting Prometheus, exporters and Lookout (logs in {work_dir})", flush=True)
        stack.start()
        if not lookout_has_query_range(stack.lookout_url):
            print(f"compliance: Lookout's query service answers 404 at {LOOKOUT_API}; "
                  "nothing to compare yet", file=sys.stderr)
            return 2
        run["prometheus_version"] = stack.prometheus_version()
        print(f"Prometheus {run['prometheus_version']} at {stack.prometheus_url}, Lookout at "
              f"{stack.lookout_url}; collecting data for {_clock(args.duration)}", flush=True)
        accumulate(stack, args.duration, args.restart_demo)
        frozen_at = stack.freeze()
        print("Scraping stopped; waiting for Lookout to hold everything Prometheus holds",
              flush=True)
        want, got = stack.wait_until_caught_up()
        run["samples"] = {"prometheus": want, "lookout": got}
        print(f"Samples: Prometheus {want:,}, Lookout {got:,}"
              + ("" if want == got else "  (NOT CAUGHT UP: expect differences)"), flush=True)
        end_s = round(frozen_at - SETTLE_S, 3)
        start_s = max(stack.started_at + min(LEAD_IN_S, args.duration / 4),
                      end_s - MAX_WINDOW_S)
        status = compare_systems(args, cases, stack.prometheus_url, stack.lookout_url,
                                 round(start_s, 3), end_s, run)
        if args.hold:
            print(f"Holding: Prometheus {stack.prometheus_url}, Lookout {stack.lookout_url} "
                  "(Ctrl-C stops)", flush=True)
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                pass
        return status
    except ProcessError as exc:
        print(f"compliance: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        stack.close()
        if args.keep_dir:
            print(f"Kept {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

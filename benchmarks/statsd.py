"""StatsD listener: the highest rate it takes with no datagram dropped.

    .venv/bin/python -m benchmarks.statsd        (--help for rates, duration, datagram size)

Starts ``python -m lookout_ingest.statsd`` on a vhost of its own, then for each rate a
sender process sends that many lines/s for a few seconds, packed ``--lines`` to a
datagram (a mix of tagged counters, timers, gauges and sets over ``--series`` names,
as DogStatsD clients send them). Around each step it reads the kernel's drop counter
for the listener's socket (the ``drops`` column of /proc/net/udp) and the listener's
own count of lines received (``statsd_metrics_received_total`` on its /metrics). A
step is sustained when the kernel dropped nothing, the listener counted every line,
and it had caught up within ``--catch-up`` seconds of the sender's end (so the
receive buffer was not merely hiding a backlog). The reference, measured in the same
run: the parser alone on the same datagrams in this process (no socket), in lines/s.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

from lookout_common.testing import RabbitAdmin
from tests.stack import ServiceProcess, free_port

NOW_MS = int(time.time() * 1000)


def datagrams(series: int, lines_per_datagram: int, count: int = 2000) -> list[bytes]:
    """``count`` distinct datagrams of a realistic mix of line types."""
    out = []
    n = 0
    for _ in range(count):
        lines = []
        for _ in range(lines_per_datagram):
            i, kind = n % series, n % 5
            n += 1
            tags = f"#service:svc{i % 7},env:prod,host:web{i % 13}"
            if kind == 0:
                lines.append(f"bench.requests.{i}:1|c|{tags}")
            elif kind == 1:
                lines.append(f"bench.latency.{i}:{n % 997}.5|ms|@0.5|{tags}")
            elif kind == 2:
                lines.append(f"bench.queue.{i}:{n % 50}|g|{tags}")
            elif kind == 3:
                lines.append(f"bench.users.{i}:user{n % 101}|s")
            else:
                lines.append(f"bench.size.{i}:{n % 4096}|d|{tags}")
        out.append("\n".join(lines).encode())
    return out


def send(port: int, rate: int, duration: float, series: int, lines_per_datagram: int) -> None:
    """The sender process: ``rate`` lines/s for ``duration`` s; prints lines sent."""
    payloads = datagrams(series, lines_per_datagram)
    per_second = rate / lines_per_datagram
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    target = ("127.0.0.1", port)
    sent = 0
    started = time.perf_counter()
    end = started + duration
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        due = int((now - started) * per_second) + 1
        while sent < due:
            sock.sendto(payloads[sent % len(payloads)], target)
            sent += 1
        if sent >= due:
            time.sleep(0.0005)
    sock.close()
    print(sent * lines_per_datagram, time.perf_counter() - started, flush=True)


def kernel_drops(port: int) -> int:
    """Datagrams the kernel dropped for the UDP socket bound to ``port``."""
    for path in ("/proc/net/udp", "/proc/net/udp6"):
        with open(path) as f:
            next(f)
            for row in f:
                fields = row.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port:
                    return int(fields[-1])
    raise RuntimeError(f"no UDP socket on port {port} in /proc/net/udp")


def received(metrics_url: str) -> float:
    text = requests.get(metrics_url, timeout=5).text
    match = re.search(r"^statsd_metrics_received_total (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def parse_reference(series: int, lines_per_datagram: int, seconds: float = 3.0) -> float:
    from lookout_ingest.statsd.parser import StatsdParser

    payloads = datagrams(series, lines_per_datagram)
    parser = StatsdParser()
    for data in payloads:  # warm the name and tag caches, as the listener's are
        parser.parse_datagram(data, NOW_MS)
    lines = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for data in payloads:
            lines += parser.parse_datagram(data, NOW_MS).lines
    return lines / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="25000,50000,100000,150000,200000,250000,300000,"
                                           "350000,400000,500000,600000,800000",
                        help="lines/s to try, comma-separated, increasing")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per rate")
    parser.add_argument("--lines", type=int, default=20, help="lines per datagram")
    parser.add_argument("--series", type=int, default=2000, help="distinct metric names")
    parser.add_argument("--catch-up", type=float, default=0.5,
                        help="seconds the listener may take to catch up after a step")
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672")
    parser.add_argument("--rabbitmq-api", default="http://guest:guest@127.0.0.1:15672")
    parser.add_argument("--send", nargs=2, type=int, metavar=("PORT", "RATE"),
                        help=argparse.SUPPRESS)  # the sender process
    args = parser.parse_args()
    if args.send:
        send(args.send[0], args.send[1], args.duration, args.series, args.lines)
        return

    udp_port, metrics_port = free_udp_port(), free_port()
    vhost = f"lookout_bench_{uuid.uuid4().hex[:8]}"
    admin = RabbitAdmin(args.rabbitmq_api)
    admin.create_vhost(vhost)
    logs = Path(tempfile.mkdtemp(prefix="lookout-bench-"))
    listener = ServiceProcess("lookout_ingest.statsd", {
        "AMQP_URL": f"{args.amqp}/{vhost}", "STATSD_PORT": str(udp_port),
        "STATSD_METRICS_PORT": str(metrics_port), "LOG_LEVEL": "WARNING",
    }, logs)
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    results: list[tuple[int, float, int, int, float, bool]] = []
    try:
        listener.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                received(metrics_url)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        failures = 0
        for rate in (int(r) for r in args.rates.split(",")):
            drops_before, received_before = kernel_drops(udp_port), received(metrics_url)
            sender = subprocess.run(
                [sys.executable, "-m", "benchmarks.statsd", "--send", str(udp_port), str(rate),
                 "--duration", str(args.duration), "--lines", str(args.lines),
                 "--series", str(args.series)],
                capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent,
            )
            sent_lines, elapsed = sender.stdout.split()
            sent, ended = int(sent_lines), time.monotonic()
            got = received(metrics_url) - received_before
            while got < sent and time.monotonic() - ended < 10:
                time.sleep(0.02)
                got = received(metrics_url) - received_before
            catch_up = time.monotonic() - ended
            drops = kernel_drops(udp_port) - drops_before
            ok = drops == 0 and got == sent and catch_up <= args.catch_up
            achieved = sent / float(elapsed)
            results.append((rate, achieved, sent, drops, catch_up, ok))
            print(f"{rate:>9,} lines/s asked, {achieved:>9,.0f} sent: {int(got):>9,} of "
                  f"{sent:>9,} received, {drops:>6,} datagrams dropped by the kernel, "
                  f"caught up in {catch_up:.2f} s -> {'ok' if ok else 'NOT sustained'}",
                  flush=True)
            failures = 0 if ok else failures + 1
            if failures == 2:
                break
            time.sleep(1.0)  # let a flush happen between steps
    finally:
        listener.stop()
        admin.delete_vhost(vhost)
    reference = parse_reference(args.series, args.lines)
    sustained = max((achieved for _, achieved, *_, ok in results if ok), default=0.0)
    print()
    print(f"datagrams:               {args.lines} lines each, {args.series:,} metric names, "
          f"{args.duration:g} s per step")
    print(f"highest sustained rate:  {sustained:,.0f} lines/s with zero drops")
    print(f"parser in-process:       {reference:,.0f} lines/s (reference, same datagrams)")
    print(f"ratio:                   {sustained / reference:.2f}")
    print(f"cores:                   {os.cpu_count()} (sender and listener share them)")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    main()

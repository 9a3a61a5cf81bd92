"""remote_write decoding on one core against the bare protobuf parse of the same body.

    .venv/bin/python -m benchmarks.remote_write_decode        (--help for the shape)

Builds a WriteRequest as Prometheus sends one (series of 5 labels plus ``__name__``;
counters, gauges, zeros and the odd stale marker; timestamps 15 s apart), compresses
it with snappy, then times, median of several runs:

- decode: what ingest does with a body — snappy, protobuf, the series rules, the
  timestamp window — into a ``SampleBatch`` (series seen before, the steady state;
  and once more with every series new, as after a restart);
- reference: snappy + ``WriteRequest.ParseFromString`` alone on the same body.

The goal is >= 500,000 samples/s decoded. A second shape, 2,000 series of one sample
each, is Prometheus's default batch (``max_samples_per_send``), where the cost per
series dominates.
"""

from __future__ import annotations

import argparse
import random
import statistics
import struct
import time
from collections.abc import Callable

import cramjam

from lookout_ingest.proto.remote_pb2 import WriteRequest
from lookout_ingest.remote_write import RemoteWriteDecoder

STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
GOAL = 500_000


def build_body(series: int, samples: int, now_ms: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    request = WriteRequest()
    for i in range(series):
        ts = request.timeseries.add()
        labels = {
            "__name__": f"node_metric_{i % 40}_total" if i % 2 else f"node_gauge_{i % 40}",
            "instance": f"host-{i % 50:03d}.example.net:9100",
            "job": "node",
            "cpu": str(i % 16),
            "mode": rng.choice(["idle", "user", "system", "iowait", "steal"]),
            "series": str(i),
        }
        for name in sorted(labels):
            ts.labels.add(name=name, value=labels[name])
        counter = rng.random() * 1e6
        for j in range(samples):
            t = now_ms - (samples - j) * 15_000 + rng.randint(-50, 50)
            if i % 2:
                counter += rng.random() * 100
                value = counter
            else:
                value = rng.choice([0.0, 1.0, rng.random() * 100])
            if rng.random() < 0.001:
                value = STALE_NAN
            ts.samples.add(value=value, timestamp=t)
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))


def median_seconds(run: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def reference_parse(body: bytes) -> WriteRequest:
    request = WriteRequest()
    request.ParseFromString(bytes(cramjam.snappy.decompress_raw(body)))
    return request


def measure(series: int, samples: int, runs: int) -> tuple[float, float, float]:
    """Samples/s: decode (steady state), decode (every series new), reference."""
    now_ms = int(time.time() * 1000)
    body = build_body(series, samples, now_ms)
    total = series * samples
    limit = 1 << 30
    decoder = RemoteWriteDecoder()
    batch = decoder.decode(body, now_ms, limit)
    assert len(batch) == total, (len(batch), total)
    steady = median_seconds(lambda: decoder.decode(body, now_ms, limit), runs)
    cold = median_seconds(lambda: RemoteWriteDecoder().decode(body, now_ms, limit), runs)
    reference = median_seconds(lambda: reference_parse(body), runs)
    print(f"  {series:,} series x {samples:,} samples = {total:,} samples, "
          f"{len(body) / 2**20:.2f} MiB compressed")
    return total / steady, total / cold, total / reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=1_000)
    parser.add_argument("--samples", type=int, default=100, help="samples per series")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    print("remote_write decode (one core, median of "
          f"{args.runs} runs)")
    rows = [("main", *measure(args.series, args.samples, args.runs))]
    rows.append(("prometheus default batch", *measure(2_000, 1, args.runs * 5)))
    print()
    for name, steady, cold, reference in rows:
        print(f"{name}:")
        print(f"  decode, known series:    {steady:,.0f} samples/s")
        print(f"  decode, all series new:  {cold:,.0f} samples/s")
        print(f"  reference (snappy + ParseFromString): {reference:,.0f} samples/s")
        print(f"  ratio decode / reference:  {steady / reference:.2f}")
    steady = rows[0][1]
    print()
    print(f"goal: >= {GOAL:,} samples/s decoded: "
          f"{'met' if steady >= GOAL else 'NOT met'} ({steady:,.0f})")


if __name__ == "__main__":
    main()

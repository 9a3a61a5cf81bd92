"""Series limits: how many series a metric, and Lookout as a whole, may have.

A series seen before always flows. A new series is admitted while its metric has
fewer than ``INGEST_MAX_SERIES_PER_METRIC`` series and Lookout fewer than
``INGEST_MAX_SERIES_TOTAL``; the decision is one Redis script per request, so every
ingest instance sees the same counts. Beyond a limit the new series' samples are
dropped and counted, the rest of the request is accepted, and the answer (400,
``limit_exceeded``) names the limit — as Prometheus-compatible stores do, so a
remote_write batch mixing old and new series does not lose the old ones.
If Redis is unreachable the check is skipped (and counted): limits protect storage,
they must not stop ingestion.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import redis
from prometheus_client import Counter

from lookout_common.codec import SampleBatch
from lookout_common.errors import ValidationFailed
from lookout_common.series import SeriesKey

from .settings import IngestSettings

log = logging.getLogger(__name__)

SERIES_REJECTED = Counter(
    "ingest_series_rejected_total", "New series refused by a series limit", ["limit"])
SAMPLES_REJECTED = Counter(
    "ingest_samples_rejected_total", "Samples dropped because their series was refused",
    ["limit"])
CHECKS_SKIPPED = Counter(
    "ingest_limit_checks_skipped_total", "Series-limit checks skipped because Redis was down")

# For each (metric, fingerprint): 1 admitted (known or new), -1 metric full, -2 total full.
ADMIT_SCRIPT = """
local prefix, per_metric, total = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local count_key = prefix .. 'series_total'
local out = {}
for i = 4, #ARGV, 2 do
  local metric_key = prefix .. 'series:' .. ARGV[i]
  local fp = ARGV[i + 1]
  if redis.call('SISMEMBER', metric_key, fp) == 1 then
    out[#out + 1] = 1
  elseif total > 0 and tonumber(redis.call('GET', count_key) or '0') >= total then
    out[#out + 1] = -2
  elseif per_metric > 0 and redis.call('SCARD', metric_key) >= per_metric then
    out[#out + 1] = -1
  else
    redis.call('SADD', metric_key, fp)
    redis.call('INCR', count_key)
    out[#out + 1] = 1
  end
end
return out
"""


@dataclass
class Admission:
    batch: SampleBatch  # what may be published
    refused: dict[str, list[SeriesKey]] = field(default_factory=dict)  # limit -> series
    samples_dropped: int = 0


class SeriesLimiter:
    def __init__(self, settings: IngestSettings) -> None:
        self._settings = settings
        self._redis = redis.Redis.from_url(settings.redis_url, socket_timeout=1,
                                           socket_connect_timeout=1)
        self._script = self._redis.register_script(ADMIT_SCRIPT)
        self._known: set[bytes] = set()  # admitted before, by this process

    def check_labels(self, batch: SampleBatch) -> None:
        limit = self._settings.ingest_max_labels_per_series
        for key in batch.series:
            if len(key.labels) > limit:
                raise ValidationFailed(
                    f"series {key.metric} has {len(key.labels)} labels, the limit is {limit} "
                    "(INGEST_MAX_LABELS_PER_SERIES); nothing in this request was accepted",
                    field="labels")

    def admit(self, batch: SampleBatch) -> Admission:
        s = self._settings
        if not s.ingest_max_series_per_metric and not s.ingest_max_series_total:
            return Admission(batch)
        new = [(i, k) for i, k in enumerate(batch.series) if k.fingerprint not in self._known]
        if not new:
            return Admission(batch)
        args: list[str | int | bytes] = [s.redis_key_prefix, s.ingest_max_series_per_metric,
                              s.ingest_max_series_total]
        for _, key in new:
            args += [key.metric, key.fingerprint]
        try:
            verdicts = self._script(args=args)
        except redis.RedisError as exc:
            CHECKS_SKIPPED.inc()
            log.warning("series limits not checked: Redis unavailable", extra={"error": str(exc)})
            return Admission(batch)
        refused: dict[str, list[SeriesKey]] = {}
        refused_index: list[int] = []
        for (i, key), verdict in zip(new, verdicts, strict=True):
            if verdict == 1:
                if len(self._known) >= 1_000_000:
                    self._known.clear()
                self._known.add(key.fingerprint)
            else:
                limit = ("INGEST_MAX_SERIES_PER_METRIC" if verdict == -1
                         else "INGEST_MAX_SERIES_TOTAL")
                refused.setdefault(limit, []).append(key)
                refused_index.append(i)
        if not refused:
            return Admission(batch)
        keep_series = np.ones(len(batch.series), dtype=bool)
        keep_series[refused_index] = False
        keep = keep_series[batch.index]
        remap = np.cumsum(keep_series) - 1
        admitted = SampleBatch(
            [k for k, ok in zip(batch.series, keep_series, strict=True) if ok],
            remap[batch.index[keep]].astype(np.int32), batch.time_ms[keep], batch.value[keep],
            batch.metadata)
        dropped = int((~keep).sum())
        for limit, keys in refused.items():
            SERIES_REJECTED.labels(limit).inc(len(keys))
        SAMPLES_REJECTED.labels(",".join(sorted(refused))).inc(dropped)
        return Admission(admitted, refused, dropped)

    def describe(self, admission: Admission) -> str:
        s = self._settings
        parts = []
        for limit, keys in sorted(admission.refused.items()):
            value = (s.ingest_max_series_per_metric if limit == "INGEST_MAX_SERIES_PER_METRIC"
                     else s.ingest_max_series_total)
            metrics = sorted({k.metric for k in keys})
            parts.append(f"{len(keys)} new series refused by {limit}={value} "
                         f"(metrics: {', '.join(metrics[:10])})")
        return "; ".join(parts) + (f"; {admission.samples_dropped} samples dropped, the other "
                                   f"{len(admission.batch)} were accepted")

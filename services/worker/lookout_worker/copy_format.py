"""PostgreSQL's binary COPY format for ``samples(time, series_id, value)`` rows.

Built with NumPy in one pass: no per-row Python work, and float bits (NaN payloads
such as Prometheus's stale marker) reach the table unchanged.
"""

from __future__ import annotations

import struct

import numpy as np

PG_EPOCH_MS = 946_684_800_000  # 2000-01-01T00:00:00Z, PostgreSQL's timestamp origin
HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
TRAILER = struct.pack("!h", -1)
ROW = np.dtype(
    [("fields", ">i2"), ("time_len", ">i4"), ("time", ">i8"), ("sid_len", ">i4"),
     ("series_id", ">i4"), ("value_len", ">i4"), ("value", ">f8")]
)
COPY_SAMPLES_SQL = "COPY {table} (time, series_id, value) FROM STDIN WITH (FORMAT binary)"


def encode_sample_rows(times_ms: np.ndarray, series_ids: np.ndarray, values: np.ndarray) -> bytes:
    rows = np.empty(len(times_ms), dtype=ROW)
    rows["fields"] = 3
    rows["time_len"] = 8
    rows["time"] = (times_ms.astype(np.int64) - PG_EPOCH_MS) * 1000
    rows["sid_len"] = 4
    rows["series_id"] = series_ids
    rows["value_len"] = 8
    rows["value"] = values
    return HEADER + rows.tobytes() + TRAILER

"""``POST /api/v2/write``: the InfluxDB v2 write API (line protocol, see influx.py).

``precision`` (ns, us, ms, s; default ns) says what the timestamps count; ``org`` and
``bucket`` are accepted and ignored, so Telegraf's ``outputs.influxdb_v2`` and the
Influx client libraries work unchanged. 204 once the broker confirmed, as InfluxDB
answers. String fields cannot be stored and are skipped: the answer is still 204,
with ``X-Lookout-Skipped-String-Fields`` (and ``X-Lookout-Skipped-Lines`` for lines
that had nothing else) giving the counts, which are also logged and counted.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, g, request
from prometheus_client import Counter

from lookout_common.errors import BadRequest

from .accept import instrumented, publish_batch, request_body
from .influx import PRECISIONS, parse_line_protocol

PROTOCOL = "influx"
SKIPPED_STRING_FIELDS = Counter(
    "ingest_influx_string_fields_skipped_total",
    "Influx string field values skipped (Lookout stores numbers only)",
)

log = logging.getLogger(__name__)
bp = Blueprint("influx_api", __name__)


@bp.post("/api/v2/write")
@instrumented(PROTOCOL)
def post_influx_write() -> Response:
    precision = request.args.get("precision", "ns")
    if precision not in PRECISIONS:
        raise BadRequest(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    write = parse_line_protocol(request_body(), precision=precision,
                                now_ms=int(time.time() * 1000))
    message_id = publish_batch(write.batch, PROTOCOL)
    response = Response(status=204)
    if write.skipped_string_fields:
        SKIPPED_STRING_FIELDS.inc(write.skipped_string_fields)
        response.headers["X-Lookout-Skipped-String-Fields"] = str(write.skipped_string_fields)
        if write.skipped_lines:
            response.headers["X-Lookout-Skipped-Lines"] = str(write.skipped_lines)
        log.info(
            "influx write: string fields skipped",
            extra={"request_id": g.get("request_id"), "message_id": message_id,
                   "samples": len(write.batch), "skipped_string_fields":
                   write.skipped_string_fields, "skipped_lines": write.skipped_lines},
        )
    return response

"""What metrics exist and which labels they carry, read from the series table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

METRICS_SQL = text("SELECT metric, count(*) AS series FROM series GROUP BY metric ORDER BY metric")
TAGS_SQL = text("""
    SELECT l.key, array_agg(DISTINCT l.value ORDER BY l.value) AS values
    FROM series s CROSS JOIN LATERAL jsonb_each_text(s.labels) AS l(key, value)
    WHERE s.metric = :metric
    GROUP BY l.key ORDER BY l.key
""")
EXISTS_SQL = text("SELECT EXISTS (SELECT 1 FROM series WHERE metric = :metric)")


class MetricCatalogue:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def metrics(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [{"name": r.metric, "series": r.series} for r in conn.execute(METRICS_SQL)]

    def tags(self, metric: str) -> dict[str, list[str]] | None:
        """Label names and their values for ``metric``; None if it has no series."""
        with self.engine.connect() as conn:
            if not conn.execute(EXISTS_SQL, {"metric": metric}).scalar():
                return None
            return {r.key: list(r.values) for r in conn.execute(TAGS_SQL, {"metric": metric})}

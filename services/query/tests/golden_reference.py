"""Checks golden PromQL scripts against the real Prometheus: each eval becomes a
``promtool test rules`` file (``input_series`` and one ``promql_expr_test``), promtool
evaluates it, and its answer is compared with what the script expects, with the same
tolerance the runner uses.

promtool compares exactly and only lists what differs, so every case is given no
expected samples: promtool then prints the whole answer ("got: ...") or its error,
which is read back here. One promtool run per eval keeps every answer unambiguous.

What promtool cannot check, this says instead of guessing:

* an eval whose script line is preceded by a ``# reference: <reason>`` comment is not
  sent (the reason says how its expectation was verified);
* ``eval_ordered``: promtool sorts answers, so the values are checked, not the order;
* a scalar answer arrives as one sample without labels, as ``vector(s)`` would.

promtool loads samples only up to its last evaluation, in 1-minute steps; each file
gets one more (passing) test after the last sample, so every sample is loaded before
the case is evaluated.

Run directly (``python golden_reference.py FILE.test ...``) to see every difference.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from pathlib import Path

import yaml

try:
    from .promqltest import (
        STALE_NAN,
        CaseFailed,
        Clear,
        Eval,
        Labels,
        Load,
        Script,
        Vector,
        compare,
        parse_script,
        parse_series_line,
        show_labels,
    )
except ImportError:  # run as a script, from this folder
    from promqltest import (  # type: ignore[no-redef]
        STALE_NAN,
        CaseFailed,
        Clear,
        Eval,
        Labels,
        Load,
        Script,
        Vector,
        compare,
        parse_script,
        parse_series_line,
        show_labels,
    )

REFERENCE_MARK = re.compile(r"^\s*#\s*reference:\s*(.+)$")
MINUTE_MS = 60_000


def promtool_path() -> str | None:
    return shutil.which("promtool")


@dataclass(frozen=True)
class Outcome:
    case_id: str
    verdict: str  # "agrees", "differs", "reasoned"
    detail: str = ""


# -- writing promtool's test file ------------------------------------------------------


def _value_text(value: float) -> str:
    if math.isnan(value):
        return "stale" if _is_stale(value) else "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return repr(value)


def _is_stale(value: float) -> bool:
    import struct

    return struct.pack("<d", value) == struct.pack("<d", STALE_NAN)


def _series_text(labels: Labels) -> str:
    named = dict(labels)
    name = named.pop("__name__", "")
    inner = ", ".join(f"{k}={_quote(v)}" for k, v in sorted(named.items()))
    return f"{name}{{{inner}}}"


def _quote(value: str) -> str:
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\t", "\\t"))
    return f'"{escaped}"'


def segment_before(script: Script, case: Eval) -> list[Load]:
    """The loads since the last ``clear`` before ``case``: what storage holds for it."""
    loads: list[Load] = []
    for command in script.commands:
        if command is case:
            return loads
        if isinstance(command, Clear):
            loads = []
        elif isinstance(command, Load):
            loads.append(command)
    raise ValueError("the case is not in the script")


def input_series(loads: Sequence[Load]) -> tuple[int, list[dict[str, str]], int]:
    """promtool's interval, input_series and last sample time for ``loads``: every
    series written out at the loads' common interval, missing steps as ``_``."""
    samples: dict[Labels, dict[int, float]] = {}
    for load in loads:
        for labels, points in load.series.items():
            for t, v in points:
                samples.setdefault(labels, {}).setdefault(t, v)
    if not samples:
        return MINUTE_MS, [], 0
    interval = reduce(math.gcd, (load.interval_ms for load in loads))
    out = []
    last = 0
    for labels, points in samples.items():
        steps = max(points) // interval + 1
        last = max(last, max(points))
        items: list[str] = []
        gap = 0
        for step in range(steps):
            value = points.get(step * interval)
            if value is None:
                gap += 1
                continue
            if gap:
                items.append("_" if gap == 1 else f"_x{gap}")
                gap = 0
            items.append(_value_text(value))
        out.append({"series": _series_text(labels), "values": " ".join(items)})
    return interval, out, last


def promtool_file(script: Script, case: Eval) -> dict[str, object]:
    interval, series, last_ms = input_series(segment_before(script, case))
    # A last test after every sample (and the case), so promtool loads them all.
    load_all_ms = (max(last_ms, case.t_ms) // MINUTE_MS + 2) * MINUTE_MS
    return {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": f"{interval}ms",
            "input_series": series,
            "promql_expr_test": [
                {"expr": case.expr, "eval_time": f"{case.t_ms}ms", "exp_samples": []},
                {"expr": "vector(0)", "eval_time": f"{load_all_ms}ms",
                 "exp_samples": [{"labels": "{}", "value": 0}]},
            ],
        }],
    }


# -- reading promtool's answer ---------------------------------------------------------


def parse_samples(text: str) -> list[tuple[Labels, float]]:
    """``{a="b"} 1E+00, {...} 2E+00`` (or ``nil``) as (labels, value) pairs."""
    text = text.strip()
    if text == "nil":
        return []
    out = []
    pos = 0
    while pos < len(text):
        end = _end_of_labels(text, pos)
        value_end = text.find(", {", end)
        value_end = len(text) if value_end < 0 else value_end
        labels, _ = parse_series_line(text[pos:end])
        out.append((labels, float(text[end:value_end].strip())))
        pos = value_end + 2 if value_end < len(text) else value_end
    return out


def _end_of_labels(text: str, pos: int) -> int:
    """Index just after the ``}`` closing the label set that starts at ``text[pos]``."""
    i, quoted = pos, False
    while i < len(text):
        c = text[i]
        if quoted:
            if c == "\\":
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c == "}":
            return i + 1
        i += 1
    raise ValueError(f"unterminated label set in {text[pos:pos + 40]!r}")


@dataclass(frozen=True)
class Answer:
    samples: list[tuple[Labels, float]]
    error: str | None = None


def promtool_answer(promtool: str, document: dict[str, object], workdir: Path) -> Answer:
    path = workdir / "case.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    run = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True,
                         text=True, timeout=120, check=False)
    if run.returncode == 0:
        return Answer([])
    lines = (run.stderr + "\n" + run.stdout).splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("    expr: ") or '"vector(0)"' in line.split(", time:")[0]:
            continue
        if ", err: " in line:
            return Answer([], line.split(", err: ", 1)[1])
        got = next((g for g in lines[i + 1:i + 4] if g.strip().startswith("got: ")), None)
        if got is None:
            break
        return Answer(parse_samples(got.strip()[len("got: "):]))
    raise RuntimeError(f"promtool failed in a way this does not read:\n{run.stderr}{run.stdout}")


def check_case(promtool: str, script: Script, case: Eval, workdir: Path) -> Outcome:
    answer = promtool_answer(promtool, promtool_file(script, case), workdir)
    case_id = script.case_id(case)
    if case.fail:
        if answer.error is not None:
            return Outcome(case_id, "agrees")
        return Outcome(case_id, "differs", "Prometheus answers where the script expects an "
                                           f"error: {answer.samples}")
    if answer.error is not None:
        return Outcome(case_id, "differs", f"Prometheus fails: {answer.error}")
    try:
        if case.scalar is not None:
            if [labels for labels, _ in answer.samples] != [()]:
                raise CaseFailed(f"expected a scalar, Prometheus answers {answer.samples}")
            compare(case, _scalar(case, answer.samples[0][1]), ordered=False)
        else:
            compare(case, Vector(case.t_ms, answer.samples), ordered=False)
    except CaseFailed as exc:
        return Outcome(case_id, "differs", str(exc))
    return Outcome(case_id, "agrees")


def _scalar(case: Eval, value: float):  # type: ignore[no-untyped-def]
    from lookout_query.promql.model import Scalar

    return Scalar(case.t_ms, value)


def reasoned_cases(text: str) -> dict[int, str]:
    """Line numbers (1-based) of evals preceded by a ``# reference:`` comment, and why."""
    lines = text.split("\n")
    out = {}
    for i, line in enumerate(lines):
        mark = REFERENCE_MARK.match(line)
        if mark and i + 1 < len(lines) and lines[i + 1].strip().startswith("eval"):
            out[i + 2] = mark.group(1).strip()
    return out


def check_file(promtool: str, path: Path) -> list[Outcome]:
    text = path.read_text()
    script = parse_script(path.name, text)
    reasoned = reasoned_cases(text)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="lookout-golden-") as tmp:
        for case in script.evals:
            if case.line in reasoned:
                outcomes.append(Outcome(script.case_id(case), "reasoned", reasoned[case.line]))
                continue
            outcomes.append(check_case(promtool, script, case, Path(tmp)))
    return outcomes


def main(paths: Sequence[str]) -> int:
    promtool = promtool_path()
    if promtool is None:
        print("promtool is not on PATH", file=sys.stderr)
        return 2
    differing = 0
    for name in paths:
        for outcome in check_file(promtool, Path(name)):
            if outcome.verdict != "agrees":
                print(f"{outcome.case_id}: {outcome.verdict}: {outcome.detail}")
            differing += outcome.verdict == "differs"
    print(f"{differing} differ from Prometheus")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

__all__ = ["Outcome", "check_file", "promtool_file", "promtool_path", "show_labels"]

"""Binary operators: arithmetic, comparisons (filtering or ``bool``), ``atan2`` and the
set operators, between scalars and instant vectors, with Prometheus's vector matching
(``on``/``ignoring``, ``group_left``/``group_right``) and its errors for ambiguous
matches — checked per step, where Prometheus checks them.
"""

from __future__ import annotations

import numpy as np

from .ast import VectorMatching
from .model import METRIC_NAME, ExecutionError, Labels
from .values import ScalarSteps, VectorSteps, drop_name, merge_same_labels

ARITHMETIC = {"+", "-", "*", "/", "%", "^", "atan2"}
COMPARISON = {"==", "!=", ">", "<", ">=", "<="}
SET_OPERATORS = {"and", "or", "unless"}
DROPS_NAME = {"+", "-", "*", "/", "%", "^"}  # atan2 keeps it, as in Prometheus 2.42


def apply(op: str, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``op`` element-wise: the value for arithmetic, the truth (as bool) for comparisons."""
    with np.errstate(all="ignore"):
        if op == "+":
            return lhs + rhs
        if op == "-":
            return lhs - rhs
        if op == "*":
            return lhs * rhs
        if op == "/":
            return lhs / rhs
        if op == "%":
            return np.fmod(lhs, rhs)
        if op == "^":
            return np.power(lhs, rhs)
        if op == "atan2":
            return np.arctan2(lhs, rhs)
        if op == "==":
            return lhs == rhs
        if op == "!=":
            return lhs != rhs
        if op == ">":
            return lhs > rhs
        if op == "<":
            return lhs < rhs
        if op == ">=":
            return lhs >= rhs
        if op == "<=":
            return lhs <= rhs
    raise ExecutionError(f"operator {op!r} not allowed here")


def scalar_scalar(op: str, lhs: ScalarSteps, rhs: ScalarSteps) -> ScalarSteps:
    out = apply(op, lhs.values, rhs.values)
    return ScalarSteps(out.astype(np.float64))


def vector_scalar(op: str, vec: VectorSteps, scalar: ScalarSteps, scalar_left: bool,
                  return_bool: bool) -> VectorSteps:
    s = scalar.values[None, :]
    lv, rv = (s, vec.values) if scalar_left else (vec.values, s)
    result = apply(op, lv, rv)
    present = vec.present.copy()
    if op in COMPARISON:
        if return_bool:
            values = result.astype(np.float64)
        else:
            present &= result
            values = vec.values  # the vector's value, whichever side it is on
    else:
        values = result
    labels = vec.labels
    if op in DROPS_NAME or return_bool:
        labels = [drop_name(ls) for ls in labels]
    values = np.broadcast_to(values, present.shape).copy()
    return merge_same_labels(labels, values, present).without_empty_rows()


def signature(labels: Labels, matching: VectorMatching | None) -> Labels:
    if matching is not None and matching.on:
        keep = set(matching.labels)
        return tuple(p for p in labels if p[0] in keep)
    dropped = {METRIC_NAME, *(matching.labels if matching else ())}
    return tuple(p for p in labels if p[0] not in dropped)


def _by_signature(vec: VectorSteps, matching: VectorMatching | None) -> dict[Labels, list[int]]:
    out: dict[Labels, list[int]] = {}
    for i, labels in enumerate(vec.labels):
        out.setdefault(signature(labels, matching), []).append(i)
    return out


def _any_present(vec: VectorSteps, groups: dict[Labels, list[int]]) -> dict[Labels, np.ndarray]:
    return {sig: np.asarray(vec.present[rows].any(axis=0)) for sig, rows in groups.items()}


def set_operation(op: str, lhs: VectorSteps, rhs: VectorSteps,
                  matching: VectorMatching | None) -> VectorSteps:
    steps = lhs.steps
    rhs_any = _any_present(rhs, _by_signature(rhs, matching))
    none = np.zeros(steps, dtype=bool)
    if op in ("and", "unless"):
        present = lhs.present.copy()
        for i, labels in enumerate(lhs.labels):
            other = rhs_any.get(signature(labels, matching), none)
            present[i] &= other if op == "and" else ~other
        return VectorSteps(list(lhs.labels), lhs.values, present).without_empty_rows()
    # or: every lhs sample, and the rhs samples whose signature lhs lacks at that step
    lhs_any = _any_present(lhs, _by_signature(lhs, matching))
    rhs_present = rhs.present.copy()
    for j, labels in enumerate(rhs.labels):
        rhs_present[j] &= ~lhs_any.get(signature(labels, matching), none)
    merged = merge_same_labels(
        list(lhs.labels) + list(rhs.labels),
        np.concatenate([lhs.values, rhs.values]) if len(rhs) else lhs.values,
        np.concatenate([lhs.present, rhs_present]) if len(rhs) else lhs.present)
    return merged.without_empty_rows()


def _result_labels(many: Labels, one: Labels, op: str, matching: VectorMatching,
                   return_bool: bool) -> Labels:
    labels = dict(many)
    if op in DROPS_NAME or return_bool:
        labels.pop(METRIC_NAME, None)
    if matching.card == "one-to-one":
        if matching.on:
            labels = {k: v for k, v in labels.items() if k in set(matching.labels)}
        else:
            for name in matching.labels:
                labels.pop(name, None)
    one_side = dict(one)
    for name in matching.include:
        if one_side.get(name):
            labels[name] = one_side[name]
        else:
            labels.pop(name, None)
    return tuple(sorted(labels.items()))


def _format(labels: Labels) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in labels) + "}"


def vector_vector(op: str, lhs: VectorSteps, rhs: VectorSteps,
                  matching: VectorMatching | None, return_bool: bool) -> VectorSteps:
    if op in SET_OPERATORS:
        return set_operation(op, lhs, rhs, matching)
    matching = matching or VectorMatching("one-to-one", False, (), ())
    swapped = matching.card == "one-to-many"
    many, one = (rhs, lhs) if swapped else (lhs, rhs)
    steps = lhs.steps
    one_groups = _by_signature(one, matching)
    many_groups = _by_signature(many, matching)
    many_any_step = many.present.any(axis=0) if len(many) else np.zeros(steps, dtype=bool)
    for sig, rows in one_groups.items():
        if len(rows) > 1:
            clash = (one.present[rows].sum(axis=0) > 1) & many_any_step
            if clash.any():
                side = "left" if swapped else "right"
                step = int(np.argmax(clash))
                both = [one.labels[r] for r in rows if one.present[r, step]][:2]
                raise ExecutionError(
                    f"found duplicate series for the match group {_format(sig)} on the {side} "
                    f"hand-side of the operation: [{', '.join(_format(b) for b in both)}];"
                    "many-to-many matching not allowed: matching labels must be unique on one side")
    out_labels: list[Labels] = []
    out_values: list[np.ndarray] = []
    out_present: list[np.ndarray] = []
    for sig, many_rows in many_groups.items():
        one_rows = one_groups.get(sig)
        if not one_rows:
            continue
        matched_by_sig = np.zeros(steps, dtype=np.int64)
        seen: dict[Labels, np.ndarray] = {}
        for i in many_rows:
            for j in one_rows:
                present = many.present[i] & one.present[j]
                if not present.any():
                    continue
                lv, rv = (one.values[j], many.values[i]) if swapped else (
                    many.values[i], one.values[j])
                result = apply(op, lv, rv)
                if op in COMPARISON:
                    if return_bool:
                        values = result.astype(np.float64)
                    else:
                        present = present & result
                        values = lv
                else:
                    values = result
                labels = _result_labels(many.labels[i], one.labels[j], op, matching, return_bool)
                if matching.card == "one-to-one":
                    matched_by_sig += present
                    if (matched_by_sig > 1).any():
                        raise ExecutionError("multiple matches for labels: many-to-one matching "
                                             "must be explicit (group_left/group_right)")
                else:
                    earlier = seen.get(labels)
                    if earlier is not None and (earlier & present).any():
                        raise ExecutionError("multiple matches for labels: grouping labels must "
                                             "ensure unique matches")
                    seen[labels] = present if earlier is None else (earlier | present)
                out_labels.append(labels)
                out_values.append(np.asarray(values, dtype=np.float64))
                out_present.append(present)
    if not out_labels:
        return VectorSteps.empty(steps)
    return merge_same_labels(out_labels, np.array(out_values),
                             np.array(out_present)).without_empty_rows()

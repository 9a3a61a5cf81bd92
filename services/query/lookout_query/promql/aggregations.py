"""Aggregation operators over an instant vector, all steps at once.

Rows are grouped by their labels after ``by``/``without`` (``without`` also drops the
metric name); each group is reduced along the series axis with the ``present`` mask.
The float arithmetic (running mean for ``avg``, Welford for ``stddev``/``stdvar``,
NaN handling of ``min``/``max``/``topk``) follows Prometheus 2.42.
"""

from __future__ import annotations

import numpy as np

from .model import METRIC_NAME, ExecutionError, Labels, format_float, is_valid_label_name
from .range_functions import quantile_of_rows
from .values import ScalarSteps, StringValue, VectorSteps


def group_labels(labels: Labels, grouping: tuple[str, ...], without: bool) -> Labels:
    if without:
        dropped = set(grouping) | {METRIC_NAME}
        return tuple(p for p in labels if p[0] not in dropped)
    keep = set(grouping)
    return tuple(p for p in labels if p[0] in keep)


def _groups(vec: VectorSteps, grouping: tuple[str, ...], without: bool) -> dict[Labels, list[int]]:
    groups: dict[Labels, list[int]] = {}
    for i, labels in enumerate(vec.labels):
        groups.setdefault(group_labels(labels, grouping, without), []).append(i)
    return groups


def _running_mean(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    steps = values.shape[1]
    mean = np.zeros(steps)
    count = np.zeros(steps)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for v, p in zip(values, present, strict=True):
            count = count + p
            skip = np.isinf(mean) & (
                (np.isinf(v) & ((mean > 0) == (v > 0))) | (~np.isinf(v) & ~np.isnan(v)))
            step = np.where(p & ~skip, v / count - mean / count, 0.0)
            mean = mean + step
    return mean


def _welford(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    steps = values.shape[1]
    mean = np.zeros(steps)
    acc = np.zeros(steps)
    count = np.zeros(steps)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for v, p in zip(values, present, strict=True):
            count = count + p
            delta = np.where(p, v - mean, 0.0)
            mean = mean + np.where(p, delta / np.maximum(count, 1), 0.0)
            acc = acc + np.where(p, delta * (v - mean), 0.0)
        return acc / count


def _reduce(op: str, values: np.ndarray, present: np.ndarray,
            param: np.ndarray | None) -> np.ndarray:
    if op == "sum":
        return np.where(present, values, 0.0).sum(axis=0)
    if op == "count":
        return present.sum(axis=0).astype(np.float64)
    if op == "group":
        return np.ones(values.shape[1])
    if op == "min":
        return np.fmin.reduce(np.where(present, values, np.nan), axis=0)
    if op == "max":
        return np.fmax.reduce(np.where(present, values, np.nan), axis=0)
    if op == "avg":
        return _running_mean(values, present)
    if op == "stdvar":
        return _welford(values, present)
    if op == "stddev":
        return np.sqrt(_welford(values, present))
    if op == "quantile":
        assert param is not None
        return quantile_of_rows(param, values.T, present.T)
    raise ExecutionError(f"unknown aggregation {op}")


def _select_k(values: np.ndarray, present: np.ndarray, k: np.ndarray, top: bool) -> np.ndarray:
    """Which rows are among the ``k`` largest (or smallest) at each step; NaN values are
    taken last, absent rows never."""
    category = np.where(present, np.where(np.isnan(values), 1, 0), 2)
    key = np.where(category == 0, -values if top else values, 0.0)
    order = np.argsort(key, axis=0, kind="stable")
    order = np.take_along_axis(order, np.argsort(
        np.take_along_axis(category, order, axis=0), axis=0, kind="stable"), axis=0)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(values.shape[0])[:, None].repeat(
        values.shape[1], axis=1), axis=0)
    return present & (rank < k[None, :])


def aggregate(op: str, vec: VectorSteps, grouping: tuple[str, ...], without: bool,
              param: ScalarSteps | StringValue | None) -> VectorSteps:
    steps = vec.steps
    if op in ("topk", "bottomk"):
        assert isinstance(param, ScalarSteps)
        return _topk(vec, grouping, without, param.values, op == "topk")
    if op == "count_values":
        assert isinstance(param, StringValue)
        return _count_values(vec, grouping, without, param.value)
    q = param.values if isinstance(param, ScalarSteps) else None
    out_labels, out_values, out_present = [], [], []
    for labels, rows in _groups(vec, grouping, without).items():
        block_v, block_p = vec.values[rows], vec.present[rows]
        present = block_p.any(axis=0)
        if not present.any():
            continue
        out_labels.append(labels)
        out_values.append(_reduce(op, block_v, block_p, q))
        out_present.append(present)
    if not out_labels:
        return VectorSteps.empty(steps)
    return VectorSteps(out_labels, np.array(out_values), np.array(out_present))


def _topk(vec: VectorSteps, grouping: tuple[str, ...], without: bool, k_param: np.ndarray,
          top: bool) -> VectorSteps:
    with np.errstate(invalid="ignore"):
        k = np.where(np.isnan(k_param), 0, np.clip(k_param, -1, 2**31)).astype(np.int64)
    selected = np.zeros_like(vec.present)
    rank_key = np.zeros(vec.present.shape)
    for rows in _groups(vec, grouping, without).values():
        block_v, block_p = vec.values[rows], vec.present[rows]
        selected[rows] = _select_k(block_v, block_p, k, top)
        rank_key[rows] = np.where(np.isnan(block_v), -np.inf if top else np.inf, block_v)
    out = VectorSteps(list(vec.labels), vec.values, selected).without_empty_rows()
    if vec.steps == 1 and len(out):
        # An instant query lists the chosen series best first.
        keys = np.where(np.isnan(out.values[:, 0]), -np.inf if top else np.inf, out.values[:, 0])
        order = np.argsort(-keys if top else keys, kind="stable")
        out = out.keep_rows(order)
        out.ordered = True
    return out


def _count_values(vec: VectorSteps, grouping: tuple[str, ...], without: bool,
                  label: str) -> VectorSteps:
    if not is_valid_label_name(label):
        raise ExecutionError(f"invalid label name {label!r}")
    counts: dict[Labels, np.ndarray] = {}
    steps = vec.steps
    for i, labels in enumerate(vec.labels):
        base = dict(group_labels(labels, grouping, without))
        for step in np.nonzero(vec.present[i])[0]:
            text = format_float(float(vec.values[i, step]))
            key = tuple(sorted({**base, label: text}.items()))
            counts.setdefault(key, np.zeros(steps))[step] += 1
    if not counts:
        return VectorSteps.empty(steps)
    values = np.array(list(counts.values()))
    return VectorSteps(list(counts), values, values > 0)

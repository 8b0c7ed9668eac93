"""Statistics across seeds: means, Student-t confidence intervals, relative changes.

The per-group intervals use the Student-t quantile computed here from the
regularised incomplete beta function (a continued fraction, inverted by bisection,
exact to ~1e-12). The comparison intervals (:func:`mean_interval`,
:func:`paired_interval`, :func:`welch_interval`) use :mod:`scipy.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

SUMMARY_COLUMNS = ("policy", "metric", "n", "mean", "std", "ci_low", "ci_high", "ci_half", "rel_change")


class MeanCI(NamedTuple):
    """A sample mean with its two-sided confidence interval.

    Attributes
    ----------
    mean : float
        Sample mean (NaN without values), in the unit of the values.
    low, high : float
        Interval bounds; NaN with fewer than two values.
    half : float
        Half-width ``high - mean``; NaN with fewer than two values.
    n : int
        Number of finite values used.
    """

    mean: float
    low: float
    high: float
    half: float
    n: int


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function ``I_x(a, b)``.

    Parameters
    ----------
    a, b : float
        Positive shape parameters.
    x : float
        Point in [0, 1].

    Returns
    -------
    float
        ``I_x(a, b)`` in [0, 1].
    """
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbeta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    front = math.exp(lbeta + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Cumulative distribution function of Student's t.

    Parameters
    ----------
    t : float
        Point.
    df : float
        Degrees of freedom (> 0); ``math.inf`` gives the standard normal.

    Returns
    -------
    float
        P(T <= t).
    """
    if math.isinf(df):
        return 0.5 * math.erfc(-t / math.sqrt(2.0))
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Quantile (inverse CDF) of Student's t.

    Parameters
    ----------
    p : float
        Probability in (0, 1), e.g. 0.975 for a two-sided 95% interval.
    df : float
        Degrees of freedom (> 0); ``math.inf`` gives the standard normal.

    Returns
    -------
    float
        ``t`` with P(T <= t) = p (1.96 for p = 0.975 and df = inf; 12.706 for df = 1).
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if df <= 0:
        raise ValueError(f"df must be positive, got {df}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    if df == 1:  # Cauchy: closed form
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2.0 * p - 1.0) / math.sqrt(2.0 * p * (1.0 - p))
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


def mean_ci(values: Iterable[float | None], confidence: float = 0.95) -> MeanCI:
    """Mean and Student-t confidence interval of independent replications.

    Parameters
    ----------
    values : iterable of float or None
        One value per seed; None and NaN are ignored (e.g. no LLM request in a run).
    confidence : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    MeanCI
        ``mean +- t_{(1+c)/2, n-1} s / sqrt(n)``; bounds are NaN when n < 2.
    """
    x = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return MeanCI(math.nan, math.nan, math.nan, math.nan, 0)
    m = float(x.mean())
    if n < 2:
        return MeanCI(m, math.nan, math.nan, math.nan, n)
    half = t_quantile(0.5 + confidence / 2.0, n - 1) * float(x.std(ddof=1)) / math.sqrt(n)
    return MeanCI(m, m - half, m + half, half, n)


def relative_change(value: float, base: float) -> float:
    """Relative change ``(value - base) / |base|`` (0.1 = 10% higher).

    Both zero gives 0; a zero base with a non-zero value, or a NaN, gives NaN.
    """
    if not (math.isfinite(value) and math.isfinite(base)):
        return math.nan
    if base == 0:
        return 0.0 if value == 0 else math.nan
    return (value - base) / abs(base)


def summarize_runs(
    runs: pd.DataFrame,
    *,
    by: str = "policy",
    metrics: Sequence[str] | None = None,
    baseline: str | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mean and confidence interval of every metric per group, with the change against a baseline.

    Parameters
    ----------
    runs : DataFrame
        One row per (group, seed), e.g. ``runs.csv`` of ``simsched compare``.
    by : str, default "policy"
        The grouping column.
    metrics : sequence of str, optional
        The columns to summarise; default every numeric column except ``by`` and ``seed``.
    baseline : str, optional
        The group the relative change is computed against; default the first group.
    confidence : float, default 0.95
        Two-sided confidence level of ``ci_low`` and ``ci_high``.

    Returns
    -------
    DataFrame
        Long format, one row per (group, metric), columns ``SUMMARY_COLUMNS`` (``policy``
        renamed to ``by``): ``n`` seeds with a value, ``mean``, ``std`` (ddof=1),
        ``ci_low``, ``ci_high``, ``ci_half`` (in the metric's unit) and ``rel_change``
        (``(mean - baseline mean) / |baseline mean|``; 0 for the baseline). Groups keep
        their order of first appearance, metrics their column order.
    """
    groups = list(dict.fromkeys(runs[by].tolist()))
    if metrics is None:
        metrics = [c for c in runs.columns if c not in (by, "seed") and _numeric(runs[c])]
    if baseline is None and groups:
        baseline = groups[0]
    if baseline is not None and baseline not in groups:
        raise ValueError(f"baseline {baseline!r} is not one of {groups}")
    values = {(g, m): _finite(runs.loc[runs[by] == g, m]) for g in groups for m in metrics}
    stats = {key: mean_ci(x.tolist(), confidence) for key, x in values.items()}
    rows = []
    for g in groups:
        for m in metrics:
            ci = stats[(g, m)]
            x = values[(g, m)]
            std = float(x.std(ddof=1)) if len(x) > 1 else math.nan
            if g == baseline:
                rel = 0.0 if math.isfinite(ci.mean) else math.nan
            else:
                rel = relative_change(ci.mean, stats[(baseline, m)].mean) if baseline is not None else math.nan
            rows.append((g, m, ci.n, ci.mean, std, ci.low, ci.high, ci.half, rel))
    columns = [by if c == "policy" else c for c in SUMMARY_COLUMNS]
    return pd.DataFrame(rows, columns=columns)


def wide_table(summary: pd.DataFrame, metrics: Sequence[str], *, by: str = "policy") -> pd.DataFrame:
    """Pivot a :func:`summarize_runs` table to one row per group and one column block per metric.

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`summarize_runs`.
    metrics : sequence of str
        The metrics to keep, in this order.
    by : str, default "policy"
        The grouping column.

    Returns
    -------
    DataFrame
        Index: the groups (their order in ``summary``); columns: a MultiIndex
        ``(metric, field)`` with fields ``mean``, ``ci_low``, ``ci_high``, ``ci_half``, ``rel_change``.
    """
    fields = ["mean", "ci_low", "ci_high", "ci_half", "rel_change"]
    groups = list(dict.fromkeys(summary[by].tolist()))
    sub = summary[summary["metric"].isin(metrics)].set_index([by, "metric"])
    data = {(m, f): [sub[f].get((g, m), math.nan) for g in groups] for m in metrics for f in fields}
    table = pd.DataFrame(data, index=pd.Index(groups, name=by))
    table.columns = pd.MultiIndex.from_tuples(list(data), names=["metric", "field"])
    return table


def _finite(col: pd.Series) -> np.ndarray:
    x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    return x[np.isfinite(x)]


def _numeric(col: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(col):
        return False
    if pd.api.types.is_numeric_dtype(col):
        return True
    return bool(col.isna().all())


# ----------------------------------------------------------------------------- paired and unpaired intervals


@dataclass(frozen=True)
class Interval:
    """An estimate with its two-sided confidence interval and test.

    Attributes
    ----------
    mean : float
        Estimate of the difference (``b - a``) or of the mean, in the unit of the values.
    half_width : float
        Half-width of the two-sided interval at ``level`` (NaN when it cannot be estimated).
    p_value : float
        Two-sided p-value of "difference = 0" (NaN for a one-sample mean interval).
    n : int
        Pairs (paired) or total samples.
    method : str
        ``"paired-t"``, ``"welch-t"`` or ``"t"``.
    """

    mean: float
    half_width: float
    p_value: float
    n: int
    method: str


def _clean(x: Iterable[float | None]) -> np.ndarray:
    a = np.array([np.nan if v is None else float(v) for v in x], dtype=float)
    return a[np.isfinite(a)]


def mean_interval(x: Iterable[float | None], level: float = 0.95) -> Interval:
    """Student-t interval of a mean of independent replications (NaN and None ignored).

    Parameters
    ----------
    x : iterable of float
        One value per seed.
    level : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    Interval
        ``method="t"``; ``p_value`` is NaN; ``half_width`` NaN with fewer than two values.
    """
    from scipy import stats

    a = _clean(x)
    n = len(a)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, "t")
    m = float(a.mean())
    if n < 2:
        return Interval(m, math.nan, math.nan, n, "t")
    half = float(stats.t.ppf(0.5 + level / 2.0, n - 1)) * float(a.std(ddof=1)) / math.sqrt(n)
    return Interval(m, half, math.nan, n, "t")


def paired_interval(a: Sequence[float | None], b: Sequence[float | None], level: float = 0.95) -> Interval:
    """Paired-t interval and test of ``b - a`` over shared seeds.

    Parameters
    ----------
    a, b : sequence of float
        Values of the same seeds in the same order; a pair with a missing or non-finite
        value on either side is left out.
    level : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    Interval
        ``mean`` is the mean difference, ``n`` the number of pairs, ``method="paired-t"``.
        With identical differences (zero spread) the half-width is 0 and the p-value
        is 1 for a zero difference, 0 otherwise.
    """
    from scipy import stats

    if len(a) != len(b):
        raise ValueError(f"paired samples must have the same length, got {len(a)} and {len(b)}")
    x = np.array([np.nan if v is None else float(v) for v in a], dtype=float)
    y = np.array([np.nan if v is None else float(v) for v in b], dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    d = y[keep] - x[keep]
    n = len(d)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, "paired-t")
    m = float(d.mean())
    if n < 2:
        return Interval(m, math.nan, math.nan, n, "paired-t")
    sd = float(d.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2.0, n - 1)) * sd / math.sqrt(n)
    if sd == 0.0:
        p = 1.0 if m == 0.0 else 0.0
    else:
        p = float(2.0 * stats.t.sf(abs(m) / (sd / math.sqrt(n)), n - 1))
    return Interval(m, half, p, n, "paired-t")


def welch_interval(a: Iterable[float | None], b: Iterable[float | None], level: float = 0.95) -> Interval:
    """Unpaired interval and test of ``mean(b) - mean(a)`` with Welch-Satterthwaite degrees of freedom.

    Parameters
    ----------
    a, b : iterable of float
        Independent samples (NaN and None ignored).
    level : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    Interval
        ``n`` is the total number of values, ``method="welch-t"``; NaN half-width and
        p-value when either side has fewer than two values.
    """
    from scipy import stats

    x, y = _clean(a), _clean(b)
    n = len(x) + len(y)
    if len(x) == 0 or len(y) == 0:
        return Interval(math.nan, math.nan, math.nan, n, "welch-t")
    m = float(y.mean() - x.mean())
    if len(x) < 2 or len(y) < 2:
        return Interval(m, math.nan, math.nan, n, "welch-t")
    vx, vy = float(x.var(ddof=1)) / len(x), float(y.var(ddof=1)) / len(y)
    se2 = vx + vy
    if se2 == 0.0:
        return Interval(m, 0.0, 1.0 if m == 0.0 else 0.0, n, "welch-t")
    df = se2 * se2 / (vx * vx / (len(x) - 1) + vy * vy / (len(y) - 1))
    se = math.sqrt(se2)
    half = float(stats.t.ppf(0.5 + level / 2.0, df)) * se
    p = float(2.0 * stats.t.sf(abs(m) / se, df))
    return Interval(m, half, p, n, "welch-t")

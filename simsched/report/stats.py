"""Statistics across seeds: means, confidence intervals of means and of differences, relative changes.

The one place where simsched computes intervals: ``compare`` (per policy, and the
paired change against the baseline policy), ``check`` (paired per-seed differences,
or Welch's test without shared seeds) and the reports use these functions.
Distributions and tests come from :mod:`scipy.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import optimize, stats

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
    if math.isinf(df):
        return float(stats.norm.ppf(p))
    return float(stats.t.ppf(p, df))


@dataclass(frozen=True)
class Interval:
    """A mean, or a difference of means, with its two-sided confidence interval.

    Attributes
    ----------
    mean : float
        Estimate of the difference ``b - a``, or of the mean (unit of the values).
    half_width : float
        Half-width of the two-sided interval at the requested level (NaN when it is
        undefined: fewer than two values, or no spread to estimate it from).
    p_value : float
        Two-sided p-value of "difference = 0" (NaN for a one-sample mean interval).
    n : int
        Pairs (paired) or total samples.
    method : str
        ``paired-t``, ``welch-t`` or ``t``.
    """

    mean: float
    half_width: float
    p_value: float
    n: int
    method: str

    @property
    def low(self) -> float:
        """Lower bound of the interval."""
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        """Upper bound of the interval."""
        return self.mean + self.half_width

    def excludes_zero(self) -> bool:
        """True when the interval lies entirely above or below zero (False if undefined)."""
        if not math.isfinite(self.half_width):
            return False
        return self.low > 0.0 or self.high < 0.0


def _values(x: Iterable[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in x], dtype=float)


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")


def mean_interval(x: Iterable[float | None], level: float = 0.95) -> Interval:
    """Student-t interval of the mean of independent values.

    Parameters
    ----------
    x : iterable of float or None
        One value per seed; None and NaN are ignored.
    level : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    Interval
        ``mean +- t_{(1+level)/2, n-1} s / sqrt(n)``, method ``t``, p-value NaN.
    """
    _check_level(level)
    v = _values(x)
    v = v[np.isfinite(v)]
    n = len(v)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, "t")
    m = float(v.mean())
    if n < 2:
        return Interval(m, math.nan, math.nan, n, "t")
    half = t_quantile(0.5 + level / 2.0, n - 1) * float(v.std(ddof=1)) / math.sqrt(n)
    return Interval(m, half, math.nan, n, "t")


def paired_interval(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> Interval:
    """Paired-t interval of ``b - a`` over matched pairs (e.g. the same seed run twice).

    Parameters
    ----------
    a, b : sequence of float
        Values of the two sides, ``a[i]`` and ``b[i]`` from the same seed. Pairs
        where either side is missing (None or NaN) are left out.
    level : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    Interval
        Mean difference ``d = mean(b_i - a_i)`` and ``t_{(1+level)/2, n-1} s_d / sqrt(n)``;
        the p-value of the paired t-test. With identical differences (``s_d = 0``) the
        half-width is 0 and the p-value 0 (or 1 when every difference is 0).
    """
    _check_level(level)
    av, bv = _values(a), _values(b)
    if len(av) != len(bv):
        raise ValueError(f"paired samples need equal lengths, got {len(av)} and {len(bv)}")
    d = (bv - av)[np.isfinite(av) & np.isfinite(bv)]
    n = len(d)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, "paired-t")
    m = float(d.mean())
    if n < 2:
        return Interval(m, math.nan, math.nan, n, "paired-t")
    sd = float(d.std(ddof=1))
    if sd == 0.0:
        # No spread: the difference is exactly known (deterministic runs on shared seeds).
        return Interval(m, 0.0, 1.0 if m == 0.0 else 0.0, n, "paired-t")
    half = t_quantile(0.5 + level / 2.0, n - 1) * sd / math.sqrt(n)
    p = float(stats.ttest_1samp(d, 0.0).pvalue)
    return Interval(m, half, p, n, "paired-t")


def welch_from_stats(
    mean_a: float, sd_a: float, n_a: int, mean_b: float, sd_b: float, n_b: int, level: float = 0.95
) -> Interval:
    """Welch interval of ``mean_b - mean_a`` from each side's mean, sample sd (ddof=1) and count.

    Degrees of freedom by Welch-Satterthwaite. Used directly for baselines that kept
    only summary statistics. Both spreads zero gives a half-width of 0.
    """
    _check_level(level)
    n = n_a + n_b
    diff = mean_b - mean_a
    if n_a < 2 or n_b < 2:
        return Interval(diff, math.nan, math.nan, n, "welch-t")
    va, vb = sd_a**2 / n_a, sd_b**2 / n_b
    se2 = va + vb
    if se2 == 0.0:
        return Interval(diff, 0.0, 1.0 if diff == 0.0 else 0.0, n, "welch-t")
    df = se2**2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
    se = math.sqrt(se2)
    half = t_quantile(0.5 + level / 2.0, df) * se
    p = float(2.0 * stats.t.sf(abs(diff) / se, df))
    return Interval(diff, half, p, n, "welch-t")


def welch_interval(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> Interval:
    """Welch (unpaired, unequal variances) interval of ``mean(b) - mean(a)``.

    Parameters
    ----------
    a, b : sequence of float
        Independent values of the two sides; None and NaN are ignored.
    level : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    Interval
        Method ``welch-t``; ``n`` is the total number of values. The p-value is that of
        Welch's t-test (``scipy.stats.ttest_ind(..., equal_var=False)``).
    """
    av, bv = _values(a), _values(b)
    av, bv = av[np.isfinite(av)], bv[np.isfinite(bv)]
    if len(av) == 0 or len(bv) == 0:
        return Interval(math.nan, math.nan, math.nan, len(av) + len(bv), "welch-t")
    sa = float(av.std(ddof=1)) if len(av) > 1 else math.nan
    sb = float(bv.std(ddof=1)) if len(bv) > 1 else math.nan
    return welch_from_stats(float(av.mean()), sa, len(av), float(bv.mean()), sb, len(bv), level)


def detectable_effect(n: int, *, paired: bool = True, level: float = 0.95, power: float = 0.8) -> float:
    """Smallest true difference, in units of the standard deviation, detected with ``power``.

    For a two-sided t-test at ``1 - level``: with ``paired``, the sd is that of the
    per-seed differences and ``n`` the number of pairs; otherwise two independent
    samples of ``n`` seeds each with equal sd (Welch's test then has about
    ``2(n - 1)`` degrees of freedom). Solved exactly with the noncentral t
    distribution (``scipy.stats.nct``).

    Parameters
    ----------
    n : int
        Seeds (pairs, or per side), at least 2.
    paired : bool, default True
        Paired design (shared seeds) or two independent samples.
    level : float, default 0.95
        Confidence level of the test (significance ``1 - level``).
    power : float, default 0.8
        Probability of detecting the effect.

    Returns
    -------
    float
        The effect size ``delta / sd``.
    """
    if n < 2:
        raise ValueError("n must be at least 2")
    df = n - 1 if paired else 2 * (n - 1)
    scale = math.sqrt(n) if paired else math.sqrt(n / 2.0)
    crit = t_quantile(0.5 + level / 2.0, df)

    def achieved(effect: float) -> float:
        nc = effect * scale
        return float(stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc))

    lo, hi = 0.0, 1.0
    while achieved(hi) < power:
        hi *= 2.0
    return float(optimize.brentq(lambda e: achieved(e) - power, lo, hi, xtol=1e-10))


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
    iv = mean_interval(values, confidence)
    return MeanCI(iv.mean, iv.low, iv.high, iv.half_width, iv.n)


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

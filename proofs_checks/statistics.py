"""Orderings measured over seeds: paired differences, the confidence band of their mean, and the
three-way reading every family uses for a claim of the form "A does better than B on average".

A band wholly below 0 refutes the ordering (``fail``), a band wholly above 0 confirms it (``pass``),
a band that contains 0 leaves it unresolved (``inconclusive``): the measurement cannot tell the
two apart at that number of seeds.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from proofs_checks.context import Context
from proofs_checks.verdict import Comparison


def mean_band(values: list[float], level: float = 0.9) -> tuple[float, float]:
    """Two-sided Student-t confidence band (``level``) of the mean of ``values``:
    mean ± t_{(1+level)/2, n−1} · s/√n. Honest at the few seeds a training sweep affords (a
    percentile bootstrap of two values is just their range); (−∞, ∞) for a single value."""
    array = np.asarray(values, dtype=np.float64)
    if array.size < 2:
        return (-np.inf, np.inf)
    half = stats.t.ppf((1 + level) / 2, array.size - 1) * array.std(ddof=1) / np.sqrt(array.size)
    return (float(array.mean() - half), float(array.mean() + half))


def ordering(ctx: Context, name: str, differences: dict[str, list[float]], *,
             why: str) -> tuple[Comparison, list[str]]:
    """Check that every list of paired differences (predicted better − other, one per seed or
    case) has a mean > 0: the comparison measures (upper end of the 90 % band of the mean)₋
    against 0, so it fails only when a whole band lies below 0. Also returns, as text, the entries
    whose band reaches down to 0 (unresolved), for the caller to report ``inconclusive``."""
    bands = {key: mean_band(values) for key, values in differences.items()}
    comparison = ctx.compare(
        name + ": (upper end of the 90 % t-band of the mean paired difference)₋, i.e. how far the "
        "whole band lies below 0", [0.0] * len(bands), [float(max(0.0, -b[1])) for b in bands.values()],
        rtol=0.0, atol=1e-9, why=why,
        cases=[{"versus": key, "mean": float(np.mean(differences[key])), "band": band}
               for key, band in bands.items()])
    unresolved = [f"{key}: {np.mean(differences[key]):+.3f} [{band[0]:+.3f}, {band[1]:+.3f}]"
                  for key, band in bands.items() if band[0] <= 0.0]
    return comparison, unresolved

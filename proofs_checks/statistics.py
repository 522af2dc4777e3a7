"""Orderings measured over seeds: paired differences, the confidence band of their mean, and the
three-way reading every family uses for a claim of the form "A does better than B on average";
and the best of several restarts of a training.

A band wholly below 0 refutes the ordering (``fail``), a band wholly above 0 confirms it (``pass``),
a band that contains 0 leaves it unresolved (``inconclusive``): the measurement cannot tell the
two apart at that number of seeds.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from rankcheck.proofs_checks.context import Context
from rankcheck.proofs_checks.verdict import Comparison

__all__ = ["best_of_restarts", "mean_band", "ordering", "band_ordering"]


def best_of_restarts(rows: list[dict], keys: tuple[str, ...]) -> dict[tuple, dict]:
    """For each value of the fields ``keys``, the converged row with the least ``objective``.

    A cost is a minimum over networks, so the best local minimum the restarts found stands for it (a
    row without ``converged`` counts as converged).

    Parameters
    ----------
    rows : list of dict
    keys : tuple of str
        E.g. ("target", "depth").

    Returns
    -------
    dict of tuple to dict
    """
    best: dict[tuple, dict] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        if row.get("converged", True) and (key not in best or row["objective"] < best[key]["objective"]):
            best[key] = row
    return best


def mean_band(values: list[float], level: float = 0.9) -> tuple[float, float]:
    """Two-sided Student-t band of the mean: mean ± t_{(1+level)/2, n−1} · s/√n.

    Honest at the few seeds a training sweep affords (a percentile bootstrap of two values is just
    their range).

    Parameters
    ----------
    values : list of float
    level : float, default 0.9

    Returns
    -------
    (low, high) : tuple of float
        (−∞, ∞) for a single value.
    """
    array = np.asarray(values, dtype=np.float64)
    if array.size < 2:
        return (-np.inf, np.inf)
    half = stats.t.ppf((1 + level) / 2, array.size - 1) * array.std(ddof=1) / np.sqrt(array.size)
    return (float(array.mean() - half), float(array.mean() + half))


def ordering(ctx: Context, name: str, differences: dict[str, list[float]], *,
             why: str) -> tuple[Comparison, list[str]]:
    """``band_ordering`` with each band the 90 % t-band (``mean_band``) of the mean of paired differences.

    Parameters
    ----------
    ctx : Context
    name : str
    differences : dict of str to list of float
        Predicted better − other, one per seed or case, for each comparison.
    why : str

    Returns
    -------
    (comparison, unresolved) : tuple of Comparison and list of str
    """
    return band_ordering(ctx, name, {key: (float(np.mean(values)), *mean_band(values))
                                     for key, values in differences.items()}, why=why)


def band_ordering(ctx: Context, name: str, estimates: dict[str, tuple[float, float, float]], *,
                  why: str) -> tuple[Comparison, list[str]]:
    """Check that every estimated difference (predicted better − other) is > 0, band by band.

    The comparison measures (upper end)₋ against 0, so it fails only when a whole band lies below 0;
    the entries whose band reaches down to 0 are returned as unresolved, for the caller to report
    ``inconclusive``.

    Parameters
    ----------
    ctx : Context
    name : str
    estimates : dict of str to (estimate, lower, upper)
        The 90 % band of each difference.
    why : str

    Returns
    -------
    (comparison, unresolved) : tuple of Comparison and list of str
    """
    comparison = ctx.compare(
        name + ": (upper end of the 90 % band of the difference)₋, i.e. how far the whole band lies "
        "below 0", [0.0] * len(estimates), [float(max(0.0, -hi)) for _, _, hi in estimates.values()],
        rtol=0.0, atol=1e-9, why=why,
        cases=[{"versus": key, "estimate": mid, "band": (lo, hi)}
               for key, (mid, lo, hi) in estimates.items()])
    unresolved = [f"{key}: {mid:+.3f} [{lo:+.3f}, {hi:+.3f}]"
                  for key, (mid, lo, hi) in estimates.items() if lo <= 0.0]
    return comparison, unresolved

"""Orderings measured over seeds: paired differences, the confidence band of their mean, and the
three-way reading every family uses for a claim of the form "A does better than B on average";
rates over fresh draws ("it happens in most draws"), read from the exact binomial interval; and the
best of several restarts of a training.

A band wholly below 0 refutes the ordering (``fail``), a band wholly above 0 confirms it (``pass``),
a band that contains 0 leaves it unresolved (``inconclusive``): the measurement cannot tell the
two apart at that number of seeds.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from rankcheck.proofs_checks.context import Context
from rankcheck.proofs_checks.verdict import Comparison

__all__ = ["best_of_restarts", "mean_band", "ordering", "band_ordering", "resolving_power",
           "seeds_to_resolve",
           "clopper_pearson", "share_above"]


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


def resolving_power(effect: float, spread: float, seeds: int, level: float = 0.9) -> float:
    """The probability that the ``level`` t-band of a mean of ``seeds`` paired differences lies wholly
    on the side of ``effect``, when the differences are normal with mean ``effect`` and standard
    deviation ``spread`` (exact: a noncentral t).

    Parameters
    ----------
    effect : float
        The true mean difference, ≠ 0.
    spread : float
        Its standard deviation, > 0.
    seeds : int
        >= 2.
    level : float, default 0.9

    Returns
    -------
    float
    """
    critical = stats.t.ppf((1 + level) / 2, seeds - 1)
    return float(stats.nct.sf(critical, seeds - 1, abs(effect) * np.sqrt(seeds) / spread))


def seeds_to_resolve(differences: list[float], level: float = 0.9, power: float = 0.9,
                     limit: int = 10**7) -> int:
    """A power analysis: the fewest seeds whose ``level`` t-band would exclude 0 with probability
    ``power``, for an effect of the measured size (the mean and standard deviation of
    ``differences``, taken as the truth).

    Parameters
    ----------
    differences : list of float
        Measured paired differences, at least 2, not all equal.
    level : float, default 0.9
    power : float, default 0.9
    limit : int, default 10⁷
        The search stops there.

    Returns
    -------
    int
        The number of seeds (``limit`` + 1 when even ``limit`` does not suffice).

    Raises
    ------
    ValueError
        Fewer than 2 differences, all equal, or a mean of 0 (no effect to resolve).
    """
    values = np.asarray(differences, dtype=np.float64)
    if values.size < 2 or not np.all(np.isfinite(values)):
        raise ValueError(f"differences must hold at least 2 finite values, got {values.size}")
    effect, spread = float(values.mean()), float(values.std(ddof=1))
    if spread == 0 or effect == 0:
        raise ValueError(f"differences need a non-zero mean and spread, got mean {effect}, sd {spread}")
    if resolving_power(effect, spread, limit, level) < power:
        return limit + 1
    low, high = 2, 2
    while resolving_power(effect, spread, high, level) < power:
        low, high = high, min(2 * high, limit)
    while low < high:  # the power grows with the seeds: bisection for the first n reaching it
        middle = (low + high) // 2
        enough = resolving_power(effect, spread, middle, level) >= power
        low, high = (low, middle) if enough else (middle + 1, high)
    return high


def clopper_pearson(successes: int, trials: int, level: float = 0.9) -> tuple[float, float]:
    """The exact (Clopper–Pearson) two-sided binomial interval of a success probability.

    low = Beta⁻¹((1 − level)/2; k, n − k + 1), high = Beta⁻¹((1 + level)/2; k + 1, n − k), with
    low = 0 at k = 0 and high = 1 at k = n: it covers the probability with at least ``level``
    for every probability and sample size (conservative, never below).

    Parameters
    ----------
    successes : int
        k, 0 <= k <= n.
    trials : int
        n >= 1.
    level : float, default 0.9

    Returns
    -------
    (low, high) : tuple of float

    Raises
    ------
    ValueError
        When the counts are not integers with 0 <= k <= n, n >= 1, or the level is not in (0, 1).
    """
    k, n = int(successes), int(trials)
    if k != successes or n != trials or n < 1 or not 0 <= k <= n:
        raise ValueError(f"need integer counts 0 <= successes <= trials, trials >= 1; got {successes}, "
                         f"{trials}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    tail = (1 - level) / 2
    low = 0.0 if k == 0 else float(stats.beta.ppf(tail, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - tail, k + 1, n - k))
    return low, high


def share_above(ctx: Context, name: str, successes: int, trials: int, *, threshold: float = 0.5,
                why: str) -> tuple[Comparison, bool]:
    """Check that a success rate exceeds ``threshold``, read from its 90 % Clopper–Pearson interval.

    The comparison measures (threshold − upper end)₊ against 0, so it fails only when the whole
    interval lies below the threshold; the second value says whether the interval reaches down to
    the threshold (unresolved), for the caller to report ``inconclusive``.

    Parameters
    ----------
    ctx : Context
    name : str
    successes, trials : int
    threshold : float, default 0.5
    why : str

    Returns
    -------
    (comparison, unresolved) : tuple of Comparison and bool
    """
    low, high = clopper_pearson(successes, trials)
    case = {"successes": successes, "trials": trials, "share": successes / trials,
            "interval": (low, high), "threshold": threshold}
    comparison = ctx.compare(name, [0.0], [max(0.0, threshold - high)], rtol=0.0, atol=1e-12,
                             why=why, cases=[case])
    return comparison, low <= threshold

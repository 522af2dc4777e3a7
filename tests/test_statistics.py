"""proofs_checks.statistics: the band of a mean and the three-way reading of an ordering."""

import numpy as np
import pytest

from rankcheck.proofs_checks.context import Context
from rankcheck.proofs_checks.statistics import (
    best_of_restarts,
    clopper_pearson,
    mean_band,
    ordering,
    share_above,
)
from rankcheck.testing import assert_close


def test_mean_band_by_hand():
    # n = 2, values 1 and 3: mean 2, s = √2, s/√2 = 1, t_{0.95, 1} = 6.3138 (table value)
    assert_close(mean_band([1.0, 3.0]), [2 - 6.3138, 2 + 6.3138], rtol=1e-4, why="4-digit table value")
    assert mean_band([0.3] * 5) == (0.3, 0.3)
    assert mean_band([0.5]) == (-np.inf, np.inf)


def test_mean_band_covers_the_mean_at_its_level():
    rng = np.random.default_rng(1)
    covered = [low <= 0.0 <= high for low, high in (mean_band(rng.normal(0.0, 1.0, 5)) for _ in range(4000))]
    # binomial s.e. of the coverage over 4 000 draws is √(0.9·0.1/4000) ≈ 0.005; allow 3 s.e.
    assert abs(np.mean(covered) - 0.9) < 0.015


def test_ordering_passes_fails_or_leaves_unresolved():
    ctx = Context("demo")
    above, unresolved = ordering(ctx, "gain", {"a": [0.02, 0.04, 0.03]}, why="test")
    assert above.passed and unresolved == []
    below, _ = ordering(ctx, "gain", {"a": [-0.02, -0.04, -0.03]}, why="test")
    assert not below.passed
    straddling, unresolved = ordering(ctx, "gain", {"a": [0.05, -0.04, 0.01], "b": [0.1, 0.2, 0.15]},
                                      why="test")
    assert straddling.passed and len(unresolved) == 1 and unresolved[0].startswith("a:")


def test_best_of_restarts_keeps_the_least_converged_objective():
    rows = [{"target": 1, "depth": 3, "objective": 2.0, "converged": True},
            {"target": 1, "depth": 3, "objective": 1.0, "converged": False},  # lower, but left out
            {"target": 1, "depth": 3, "objective": 1.5, "converged": True},
            {"target": 1, "depth": 4, "objective": 3.0},  # no field: counts as converged
            {"target": 2, "depth": 3, "objective": 0.5, "converged": False}]
    best = best_of_restarts(rows, ("target", "depth"))
    assert {key: row["objective"] for key, row in best.items()} == {(1, 3): 1.5, (1, 4): 3.0}


def test_clopper_pearson_against_scipy_and_by_hand():
    from scipy.stats import binomtest

    for k, n in [(0, 2), (2, 2), (11, 16), (14, 16), (1, 32), (22, 32), (32, 32)]:
        exact = binomtest(k, n).proportion_ci(confidence_level=0.9, method="exact")
        assert_close(clopper_pearson(k, n), [exact.low, exact.high], rtol=1e-10, atol=1e-12,
                     why="two implementations of the same Beta quantiles")
    # k = n: the lower end solves p^n = 0.05 (one-sided 5 %): 0.05^(1/n); k = 0 mirrors it
    assert_close(clopper_pearson(5, 5)[0], 0.05 ** (1 / 5), rtol=1e-12, why="closed form")
    assert_close(clopper_pearson(0, 5)[1], 1 - 0.05 ** (1 / 5), rtol=1e-12, why="closed form")


def test_clopper_pearson_covers_at_least_its_level():
    rng = np.random.default_rng(4)
    for p in (0.3, 0.7):
        hits = [low <= p <= high for low, high in
                (clopper_pearson(int(k), 24) for k in rng.binomial(24, p, 3000))]
        # conservative by construction; 3 binomial s.e. (0.016) below 0.9 is already a failure
        assert np.mean(hits) >= 0.9 - 3 * np.sqrt(0.09 / 3000)


def test_share_above_reads_the_interval_three_ways():
    ctx = Context("demo")
    above, unresolved = share_above(ctx, "rate", 30, 32, why="test")
    assert above.passed and not unresolved
    below, _ = share_above(ctx, "rate", 2, 32, why="test")
    assert not below.passed
    between, unresolved = share_above(ctx, "rate", 11, 16, why="test")  # [0.45, 0.87]
    assert between.passed and unresolved
    for bad in ((3, 2), (-1, 4), (1.5, 4)):
        with pytest.raises(ValueError, match="integer counts"):
            clopper_pearson(*bad)


def test_resolving_power_matches_a_simulation_and_the_normal_approximation():
    """The noncentral-t power against 20 000 simulated experiments, and the seed count against the
    large-sample formula n ≈ ((z_{(1+level)/2} + z_power)·s/δ)²."""
    from scipy import stats as scipy_stats

    from rankcheck.proofs_checks.statistics import resolving_power, seeds_to_resolve

    rng = np.random.default_rng(0)
    effect, spread, seeds = 0.3, 1.0, 40
    draws = rng.normal(effect, spread, size=(20_000, seeds))
    half = scipy_stats.t.ppf(0.95, seeds - 1) * draws.std(axis=1, ddof=1) / np.sqrt(seeds)
    simulated = np.mean(draws.mean(axis=1) - half > 0)
    assert abs(resolving_power(effect, spread, seeds) - simulated) < 0.01  # 3 s.e. of 20 000 draws
    z = rng.normal(size=16)
    measured = list(0.018 + 0.105 * (z - z.mean()) / z.std(ddof=1))  # mean 0.018, sd 0.105 exactly
    n = seeds_to_resolve(measured)
    mean, sd = 0.018, 0.105
    normal = ((scipy_stats.norm.ppf(0.95) + scipy_stats.norm.ppf(0.9)) * sd / mean) ** 2  # 291.3
    assert normal <= n <= 1.02 * normal + 2  # the t-band is wider than the normal one, slightly
    assert resolving_power(mean, sd, n) >= 0.9 > resolving_power(mean, sd, n - 1)  # the fewest
    assert seeds_to_resolve([1.0, 1.1, 0.9]) <= 4
    assert seeds_to_resolve([1.0, -1.0, 0.01], limit=1000) == 1001  # needs ~8·10⁵
    with pytest.raises(ValueError, match="non-zero mean"):
        seeds_to_resolve([1.0, 1.0])

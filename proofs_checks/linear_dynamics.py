"""Claims on the training dynamics of linear networks (note: notes/linear_dynamics.md).

Source: Jacot, Ged, Şimşek, Hongler, Gabriel, arXiv 2106.15933. Prediction:
``theory.linear_dynamics``; measurement: ``numerics.linear_dynamics`` (an ODE solver and torch GD).
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from numerics import linear_dynamics as solvers  # noqa: E402
from proofs_checks.context import Context  # noqa: E402
from proofs_checks.figures import loglog_slope  # noqa: E402
from proofs_checks.registry import claim  # noqa: E402
from proofs_checks.sweep import grid  # noqa: E402
from theory import linear_dynamics as theory  # noqa: E402

SOURCE = "Jacot, Ged, Şimşek, Hongler, Gabriel 2021, arXiv 2106.15933, saddle-to-saddle dynamics"
TARGETS = (2.0, 1.2, 0.8)  # singular values of the diagonal target A*


def _broken_escape_time(s0, target, depth):
    """Planted error: the logistic (L = 2) escape time log((y − s₀)/s₀)/(2y) at every depth."""
    s0, target = np.broadcast_arrays(np.atleast_1d(s0), np.atleast_1d(target))
    return np.log((target - s0) / s0) / (2 * target)


def _step(depth: int, fraction: float) -> float:
    """GD step as a fraction of 1/r, r = L·y_max^{2−2/L} the fastest rate of the mode ODE."""
    return fraction / (depth * max(TARGETS) ** (2 - 2 / depth))


def first_crossing_case(case: dict) -> dict:
    """Sweep case: torch GD from a Gaussian start of scale ``sigma`` (depth, seed); the time at
    which the top singular value first reaches half its target."""
    run = solvers.train_saddle_to_saddle(TARGETS, case["depth"], case["sigma"],
                                         lr=_step(case["depth"], 0.05), max_time=1e5,
                                         aligned=False, seed=case["seed"], stop_after=1)
    return {"time": float(run.crossing_times[0])}


def aligned_case(case: dict) -> dict:
    """Sweep case: torch GD from the aligned balanced start W_ℓ = εI; all crossing times."""
    run = solvers.train_saddle_to_saddle(TARGETS, case["depth"], case["epsilon"],
                                         lr=_step(case["depth"], 0.01), max_time=1e5)
    return {"times": run.crossing_times.tolist()}


def _slope(sigmas: np.ndarray, times: np.ndarray, depth: int) -> float:
    """d log t / d log σ for L >= 3 (power law σ^{−(L−2)}), d t / d log σ for L = 2 (t ≈ log(1/σ)/y)."""
    if depth == 2:
        return float(np.polyfit(np.log(sigmas), times, 1)[0])
    return loglog_slope(sigmas, times).slope


def _plot_scaling(ctx: Context, sigmas, rows, predict) -> None:
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for depth in sorted({row["depth"] for row in rows}):
        for seed in sorted({row["seed"] for row in rows}):
            times = [r["time"] for r in rows if r["depth"] == depth and r["seed"] == seed]
            ax.loglog(sigmas, times, "o", ms=4, color=f"C{depth}", alpha=0.7)
        ax.loglog(sigmas, predict(np.asarray(sigmas) ** depth, TARGETS[0], depth), "-",
                  color=f"C{depth}", label=f"L = {depth}: escape_time(σ^L, y₁)")
    ax.set(xlabel="init scale σ", ylabel="first plateau exit time",
           title="Escape time vs init scale (dots: GD, random init)")
    ax.legend(fontsize=8)
    ctx.savefig(fig, "escape_scaling")


@claim(
    "dln.saddle_to_saddle",
    statement="From small balanced initialization, each singular mode of a deep linear network "
    "follows da/dt = L·a^{2−2/L}(y − a): it leaves the saddle at the exact escape time "
    "y^{−(2−2/L)}·T_L(s₀/y), so modes are learned one at a time in decreasing order of y, with "
    "plateau lengths ∝ log(1/σ) for L = 2 and σ^{−(L−2)} for L >= 3.",
    source=SOURCE,
    predict=theory.escape_time,
    broken=_broken_escape_time,
    broken_how="the logistic escape time log((y − s₀)/s₀)/(2y) of L = 2 used at every depth",
)
def check_saddle_to_saddle(ctx: Context, predict: Callable[..., np.ndarray]) -> list:
    # 1. ODE crossing times, Hypothesis-drawn modes (s₀/y log-uniform over 10 decades).
    modes = ctx.draw(
        st.tuples(st.integers(2, 4), st.floats(-10.0, -0.6), st.floats(0.3, 3.0)),
        ctx.pick(quick=12, full=100),
        label="modes",
    )
    cases = [(depth, 10.0**log_ratio * y, y) for depth, log_ratio, y in modes]
    ode = ctx.compare(
        "ODE crossing time of a = y/2",
        [float(predict(s0, y, depth)[0]) for depth, s0, y in cases],
        ctx.cached("ode", lambda: [solvers.mode_crossing_time(s0, y, depth)
                                   for depth, s0, y in cases]),
        rtol=1e-8,
        why="DOP853 at rtol 1e-11 in log a; observed errors ≤ 2e-11",
        cases=cases,
    )

    # 2. GD from the aligned balanced start: every mode, depths 2–4.
    aligned_grid = grid(depth=[2, 3, 4], epsilon=ctx.pick(quick=[0.35], full=[0.1, 0.2, 0.35]))
    aligned = ctx.sweep("aligned", aligned_case, aligned_grid).rows
    gd = ctx.compare(
        "torch GD (aligned start) crossing times of the three modes",
        [predict(row["epsilon"] ** row["depth"], np.asarray(TARGETS), row["depth"])
         for row in aligned],
        [row["times"] for row in aligned],
        rtol=1e-2,
        why="step η = 0.01/r: GD multiplies a mode by 1 + ηr per step where the flow gives e^{ηr}, "
        "shifting times by ≈ ηr/2 = 5e-3 relative; observed ≤ 3e-3",
        cases=aligned_grid,
    )

    # 3. GD from a random Gaussian start: the σ-scaling of the first plateau exit.
    sigmas = ctx.pick(quick=[0.1, 0.13, 0.17, 0.22], full=[0.06, 0.08, 0.11, 0.15, 0.2, 0.27])
    depths = ctx.pick(quick=[3, 4], full=[2, 3, 4])
    seeds = ctx.pick(quick=[0], full=[0, 1, 2])
    rows = ctx.sweep("random_init", first_crossing_case,
                     grid(depth=depths, seed=seeds, sigma=sigmas)).rows
    _plot_scaling(ctx, sigmas, rows, predict)
    keys = [(depth, seed) for depth in depths for seed in seeds]
    scaling = ctx.compare(
        "σ-scaling of the first exit time (slope in log σ), torch GD from random init",
        [_slope(np.asarray(sigmas), predict(np.asarray(sigmas) ** depth, TARGETS[0], depth), depth)
         for depth, _ in keys],
        [_slope(np.asarray(sigmas), np.array([r["time"] for r in rows
                                              if (r["depth"], r["seed"]) == key]), key[0])
         for key in keys],
        rtol=0.0,
        atol=0.1,
        why="the random start acts as s₀ ≈ c·σ^L with a seed-dependent c, which moves the finite-σ "
        "correction to the slope: measured deviation ≤ 0.066 over 8 seeds on the quick grid "
        "(σ ≥ 0.15 gave 0.13, hence the grid), ≤ 0.058 over 3 seeds on the full one",
        cases=[{"depth": d, "seed": s} for d, s in keys],
    )
    return [ode, gd, scaling]

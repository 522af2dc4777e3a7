"""Claims on the convolution bottleneck of CNNs (note: notes/cbn.md).

Source: Wen, Jacot, arXiv 2402.08010. Prediction: ``theory.cbn`` (the DFT
block-diagonalization, the per-frequency cost, and the DLN scalar problem at every frequency);
measurement: ``numerics.cbn`` (linear circular CNNs trained by L-BFGS with weight decay, float64).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import strategies as st

from rankcheck.errors import NotConvergedError
from rankcheck.numerics import bottleneck
from rankcheck.numerics import cbn as solvers
from rankcheck.proofs_checks.context import Context
from rankcheck.proofs_checks.figures import subplots
from rankcheck.proofs_checks.registry import claim
from rankcheck.proofs_checks.statistics import best_of_restarts
from rankcheck.theory import cbn as theory
from rankcheck.theory import dln

#: the case functions (module level: sweep workers import them) and constants of the designs;
#: the checks are reached through the registry (``rankcheck show ID``), not imported
__all__ = ["SOURCE", "GRADIENT_TOL", "linear_case", "FREQUENCY_RTOL", "STALLED", "frequency_case"]

SOURCE = "Wen, Jacot 2024, arXiv 2402.08010, which frequencies do CNNs need (linear circular CNNs)"
GRADIENT_TOL = 1e-6  # train_linear_cnn's stationarity: every gradient entry below it


def linear_case(case: dict) -> dict:
    """Sweep case: a few-frequency target (``few_frequency_filters``), a depth-L linear circular CNN
    trained on it; the learned and target singular values per frequency, every layer's
    ‖Â_ℓ(ω)‖_F, ‖θ‖² and the learned filters."""
    target = solvers.few_frequency_filters(case["channels"], case["n"], {int(k): v for k, v in case["ranks"]},
                                           seed=case["seed"])
    fit = solvers.train_linear_cnn(target, case["depth"], case["channels"], case["lam"], seed=case["seed"],
                                   gradient_tol=GRADIENT_TOL)
    spectra = [np.linalg.svd(theory.frequency_matrices(f), compute_uv=False) for f in (fit.outputs, target)]
    layers = [np.linalg.norm(theory.frequency_matrices(w), axis=(1, 2)).tolist() for w in fit.layers]
    return {"learned": spectra[0].tolist(), "target": spectra[1].tolist(), "layers": layers,
            "norm_sq": fit.norm_sq, "filters": fit.outputs.tolist()}


def _curvature(minima: np.ndarray, depth: int, lam: float) -> np.ndarray:
    """f''(s) of the DLN scalar problem at its positive local minima, 1 at the minimum 0 (a kink)."""
    curvature = np.ones_like(minima)
    positive = minima > 0
    curvature[positive] = dln.regularized_curvature(minima[positive], depth, lam)
    return curvature


def _kept(case: dict) -> set[int]:
    n = case["n"]
    return {w for k, _ in case["ranks"] for w in (k, (n - k) % n)}


@claim(
    "cbn.linear_cost",
    statement="A depth-L linear circular CNN (length n, C channels, full-size filters) trained to a "
    "stationary point of ½‖A − A*‖² + λ‖θ‖² on a target A* that keeps few frequencies has "
    "‖θ‖² = (L/n)·Σ_ω ‖Â(ω)‖_{S_{2/L}}^{2/L}, the singular values of every learned Â(ω) at local "
    "minima of the DLN scalar problem ½(s − s*)² + λ·L·s^{2/L} (s* the target's), and every layer's "
    "frequency matrices Â_ℓ(ω) zero outside the frequencies the target keeps.",
    source=SOURCE + "; per-frequency cost (L/n)·Σ_ω ‖Â(ω)‖_{S_{2/L}}^{2/L}",
    predict=theory.linear_cnn_cost,
    broken=lambda filters, depth: np.asarray(filters).shape[-1] * theory.linear_cnn_cost(filters, depth),
    broken_how="the per-frequency cost without Parseval's 1/n",
)
def check_linear_cost(ctx: Context, predict: Callable[[np.ndarray, int], float]) -> list:
    drawn = ctx.draw(st.tuples(st.sampled_from([6, 8]), st.integers(2, 3), st.integers(0, 3),
                               st.integers(1, 3), st.floats(0.01, 0.1), st.integers(0, 2**16)),
                     ctx.pick(quick=2, full=5), label="targets")
    depths = ctx.pick(quick=(2, 3, 4), full=(2, 3, 4, 5, 6))
    cases = [{"n": n, "channels": c, "ranks": sorted({(0, min(r, c)), (1 + k % (n // 2), min(r + 1, c))}),
              "lam": round(lam, 4), "seed": seed, "depth": depth}
             for n, c, k, r, lam, seed in drawn for depth in depths]
    rows = ctx.sweep("trainings", linear_case, cases).rows
    _plot(ctx, cases[:len(depths)], rows[:len(depths)])
    labels = [{"n": c["n"], "C": c["channels"], "depth": c["depth"], "lam": c["lam"], "seed": c["seed"]}
              for c in cases]
    learned = [np.asarray(r["learned"]).ravel() for r in rows]
    minima = [dln.nearest_local_minima(s, np.asarray(r["target"]).ravel(), c["depth"], c["lam"])
              for s, r, c in zip(learned, rows, cases, strict=True)]
    flat = [_curvature(m, c["depth"], c["lam"]) for m, c in zip(minima, cases, strict=True)]
    outside = [max(v for layer in r["layers"] for w, v in enumerate(layer) if w not in _kept(c))
               for r, c in zip(rows, cases, strict=True)]
    return [
        ctx.compare("‖θ‖² vs (L/n)·Σ_ω ‖Â(ω)‖_{S_{2/L}}^{2/L} of the learned filters",
                    [predict(np.asarray(r["filters"]), c["depth"]) for r, c in zip(rows, cases, strict=True)],
                    [r["norm_sq"] for r in rows], rtol=1e-5, atol=1e-9, cases=labels,
                    why="at a stationary point the network is balanced and aligned per frequency, so the "
                    "identity is exact; gradient entries <= 1e-6 leave ~1e-7 relative (measured)"),
        ctx.compare("learned singular values vs the nearest local minimum of the DLN scalar problem, worst "
                    "per training", [0.0] * len(rows),
                    [float(np.max(np.abs(s - m) * g)) for s, m, g in zip(learned, minima, flat, strict=True)],
                    rtol=0.0, atol=1e-4, cases=labels,
                    why="|s − s_min|·f''(s_min) is the stationarity residual of the scalar problem; the tap "
                    "gradient (<= 1e-6 per entry) maps to frequencies with a factor up to √(n·C²) <= 8.5, "
                    "so 1e-4 leaves a 10× margin"),
        ctx.compare("largest ‖Â_ℓ(ω)‖_F over layers and frequencies the target does not keep",
                    [0.0] * len(rows), outside, rtol=0.0, cases=labels,
                    atol=[c["n"] * c["channels"] * GRADIENT_TOL / (2 * c["lam"]) for c in cases],
                    why="with a zero target the only stationary point of a frequency is 0 (s + 2λs^{2/L−1} "
                    "has no positive root); weight decay dominates there, so a tap-gradient residual ε "
                    "leaves ‖Â_ℓ(ω)‖_F <= n·C·ε/(2λ)"),
    ]


def _plot(ctx: Context, cases: list[dict], rows: list[dict]) -> None:
    """One target at every depth: learned vs target singular values per frequency, and the middle
    layer's ‖Â_ℓ(ω)‖_F."""
    fig, axes = subplots(1, 2, figsize=(9, 3.5))
    n = cases[0]["n"]
    target = np.asarray(rows[0]["target"])
    for k in range(target.shape[1]):
        axes[0].plot(range(n), target[:, k], "k_", ms=14, label="target" if k == 0 else None)
    for j, (c, r) in enumerate(zip(cases, rows, strict=True)):
        learned = np.asarray(r["learned"])
        for k in range(learned.shape[1]):
            axes[0].plot(np.arange(n) + 0.08 * (j + 1), learned[:, k], "o", color=f"C{j}", ms=4,
                         label=f"L = {c['depth']}" if k == 0 else None)
        middle = r["layers"][len(r["layers"]) // 2]
        axes[1].semilogy(range(n), np.maximum(middle, 1e-12), "o-", color=f"C{j}", label=f"L = {c['depth']}")
    axes[0].set(xlabel="frequency ω", ylabel="singular values of Â(ω)", title="end-to-end spectra")
    axes[1].set(xlabel="frequency ω", ylabel="‖Â_ℓ(ω)‖_F, middle layer", title="middle-layer spectra")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    ctx.savefig(fig, "spectra", judged=(
        "left, learned singular values per frequency against the nearest local minimum of the DLN scalar "
        "problem (stationarity residual ≤ 1e-4) and ‖θ‖² against the per-frequency cost (rtol 1e-5); right, "
        "middle-layer spectra at unkept frequencies against 0 (atol n·C·ε/(2λ))."))


# ------------------------------------------------------------------- the nonlinear frequency bottleneck
SIGNAL_LENGTH, CHANNELS, POINTS, NONLINEAR_LAM = 8, 4, 24, 1e-2
#: Numerical rank cut for the layers' frequency matrices, relative to the layer's largest singular
#: value: kept pairs are of order 1, the ones weight decay removes sit at the solver's plateau.
FREQUENCY_RTOL = 1e-3
#: A plateau with a gradient entry above this is L-BFGS stuck away from a minimum (measured: 5e-3 to
#: 0.7 there, at 2–3× the cost of the depth trend), not a minimum on a kink (<= 1e-3 measured).
STALLED = 1e-3


def frequency_case(case: dict) -> dict:
    """Sweep case: a depth-``depth`` bias-free ReLU circular CNN (n = 8, 4 hidden channels) trained
    (restart ``restart``) with λ = 10⁻² on 24 signals x (3 channels, N(0, 1) taps) ↦ the constant
    signals A·relu(B x̄) of rank ``rank`` (``mean_target``; ``target`` seeds x, A, B). Returns the
    objective, ‖θ‖², the final gradient, every layer's numerical rank per frequency and every hidden
    representation's fraction of energy at ω ≠ 0 (``hidden_spectra``); ``converged``
    False (the restart is then left out) when 30 rounds of L-BFGS reach neither gradient <= 10⁻⁵ nor
    a relative plateau of 10⁻⁸, or when the plateau comes with a gradient entry above ``STALLED``.
    Tighter stops (10⁻⁶, 10⁻¹⁰) move ‖θ‖² by < 10⁻⁵ at 4–7× the time."""
    X = np.random.default_rng(case["target"]).normal(size=(POINTS, 3, SIGNAL_LENGTH))
    Y = solvers.mean_target(X, case["rank"], 3, seed=case["target"])
    try:
        fit = solvers.train_relu_cnn(X, Y, case["depth"], CHANNELS, NONLINEAR_LAM, seed=case["restart"],
                                     rounds=30, gradient_tol=1e-5, plateau_rtol=1e-8)
    except NotConvergedError:
        return {"converged": False}
    misfit = float(np.sum((fit.outputs - Y) ** 2))
    return {"converged": fit.gradient <= STALLED, "objective": 0.5 * misfit + NONLINEAR_LAM * fit.norm_sq,
            "norm_sq": fit.norm_sq, "misfit": misfit, "gradient": fit.gradient,
            "ranks": [solvers.frequency_ranks(w, FREQUENCY_RTOL).tolist() for w in fit.layers],
            "off_zero_energy": [float(1 - e[0] / e.sum()) if e.sum() > 0 else 0.0
                                for e in solvers.hidden_spectra(fit.layers, X)]}


@claim(
    "cbn.frequency_bottleneck",
    statement="Bias-free ReLU circular CNNs (n = 8, 4 hidden channels, full-length filters) trained "
    "with weight decay on a task that needs only frequency 0 — constant outputs A·relu(B x̄) of rank "
    "k = 1, 2 of the channel means — keep k (frequency, channel) pairs in most middle layers, none "
    "at a non-zero frequency, and their parameter norm grows as ‖θ‖² ≈ L·k/n + R⁽¹⁾ + R⁽²⁾/L: the "
    "cost per layer tends to the number of kept pairs (with Parseval's 1/n for full-length filters).",
    source="Wen, Jacot 2024, arXiv 2402.08010, the CBN rank: ‖θ‖² ≈ depth × the number of kept "
    "(frequency, channel) pairs, few frequencies in the middle layers",
    predict=lambda rank: float(rank),
    broken=lambda rank: float(rank + 1),
    broken_how="one more kept (frequency, channel) pair than the task needs",
)
def check_frequency_bottleneck(ctx: Context, predict: Callable[[int], float]) -> list:
    targets = ctx.draw(st.tuples(st.integers(1, 2), st.integers(0, 2**16)), ctx.pick(quick=1, full=3),
                       label="targets")
    depths = ctx.pick(quick=[4, 6, 8], full=[4, 5, 6, 7])
    restarts = ctx.seeds(ctx.pick(quick=2, full=5), label="restarts")
    cases = [{"rank": k, "target": seed, "depth": L, "restart": r}
             for k, seed in targets for L in depths for r in restarts]
    best = best_of_restarts(ctx.sweep("trainings", frequency_case, cases).rows, ("rank", "target", "depth"))
    missing = [(k, seed, L) for k, seed in targets for L in depths if (k, seed, L) not in best]
    if missing:
        ctx.inconclusive(f"no restart converged at (rank, target, depth) = {missing}")
    pairs, off_zero, slopes, labels = [], [], [], []
    for k, seed in targets:
        middle = best[k, seed, depths[-1]]["ranks"][1:-1]
        pairs.append(float(np.median([sum(ranks) for ranks in middle])))
        off_zero.append(float(np.median([sum(ranks[1:]) for ranks in middle])))
        costs = [best[k, seed, L]["norm_sq"] for L in depths]
        fit = bottleneck.depth_fit(depths, costs, terms=3)
        slopes.append(float(fit[0]) * SIGNAL_LENGTH)
        energy = best[k, seed, depths[-1]]["off_zero_energy"]
        labels.append({"rank": k, "target": seed, "middle ranks per frequency": middle,
                       "hidden energy at ω ≠ 0": [f"{e:.1e}" for e in energy],
                       "costs": [round(c, 4) for c in costs], "R0·n": round(slopes[-1], 4),
                       "R1": round(float(fit[1]), 4), "R2": round(float(fit[2]), 4)})
    _plot_frequency(ctx, targets, depths, best)
    return [
        ctx.compare(f"median over the middle layers at depth {depths[-1]} of the kept (frequency, channel) "
                    "pairs vs k", [predict(k) for k, _ in targets], pairs, rtol=0.0, atol=0.5,
                    why=f"integers (0.5: equal or not); numerical ranks of ŵ_ℓ(ω) at {FREQUENCY_RTOL:g} × "
                    "the layer's largest singular value", cases=labels),
        ctx.compare("median over the middle layers of the pairs kept at non-zero frequencies",
                    [0.0] * len(targets), off_zero, rtol=0.0, atol=0.5, why="integers: none", cases=labels),
        ctx.compare("n × fitted R⁽⁰⁾ (slope of ‖θ‖² in L, 3-term fit) vs k", [predict(k) for k, _ in targets],
                    slopes, rtol=0.0, atol=0.25,
                    why="the count is an integer: 0.25 tells k from k ± 1 with margin; the 3-term fit "
                    "absorbs the R⁽²⁾/L pre-asymptotic term of depths 4–8", cases=labels),
    ]


def _plot_frequency(ctx: Context, targets: list[tuple[int, int]], depths: list[int],
                    best: dict[tuple[int, int, int], dict]) -> None:
    fig, axes = subplots(1, 2, figsize=(8.5, 3.5))
    for j, (k, seed) in enumerate(targets):
        costs = np.array([best[k, seed, L]["norm_sq"] for L in depths])
        axes[0].plot(depths, costs / np.array(depths), "o-", color=f"C{j}", label=f"k = {k} (target {seed})")
        axes[0].axhline(k / SIGNAL_LENGTH, color=f"C{j}", ls=":", lw=1)
        ranks = np.array(best[k, seed, depths[-1]]["ranks"])  # (L, n)
        axes[1].plot(np.arange(len(ranks)) + 1, ranks[:, 0], "o-", color=f"C{j}", label=f"k = {k}: ω = 0")
        axes[1].plot(np.arange(len(ranks)) + 1, ranks[:, 1:].sum(axis=1), "x--", color=f"C{j}",
                     label=f"k = {k}: ω ≠ 0")
    axes[0].set(xlabel="depth L", ylabel="‖θ‖² / L", title="cost per layer → k/n (dotted)")
    axes[0].legend(fontsize=7)
    axes[1].set(xlabel="layer ℓ", ylabel="kept (frequency, channel) pairs", title=f"depth {depths[-1]}")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    ctx.savefig(fig, "frequencies", judged=(
        "left, the slope of ‖θ‖² in L (3-term fit, × n) against k (atol 0.25), ‖θ‖²/L against k/n dotted; "
        "right, the kept (frequency, channel) pairs per middle layer at the largest depth: median k at ω = 0"
        " and 0 at ω ≠ 0 (atol 0.5)."))

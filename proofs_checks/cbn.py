"""Claims on the convolution bottleneck of CNNs (note: notes/cbn.md).

Source: Wen, Jacot, arXiv 2402.08010 (CLAIMS.md §7). Prediction: ``theory.cbn`` (the DFT
block-diagonalization, the per-frequency cost, and the DLN scalar problem at every frequency);
measurement: ``numerics.cnn`` (linear circular CNNs trained by L-BFGS with weight decay, float64).
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from numerics import cnn as solvers  # noqa: E402
from proofs_checks.context import Context  # noqa: E402
from proofs_checks.registry import claim  # noqa: E402
from theory import cbn as theory  # noqa: E402
from theory import dln  # noqa: E402

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
    spectra = [np.linalg.svd(theory.frequency_matrices(f), compute_uv=False) for f in (fit.filters, target)]
    layers = [np.linalg.norm(theory.frequency_matrices(w), axis=(1, 2)).tolist() for w in fit.layers]
    return {"learned": spectra[0].tolist(), "target": spectra[1].tolist(), "layers": layers,
            "norm_sq": fit.norm_sq, "filters": fit.filters.tolist()}


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
    flat = [np.where(m > 0, dln.regularized_curvature(np.maximum(m, 1e-300), c["depth"], c["lam"]), 1.0)
            for m, c in zip(minima, cases, strict=True)]
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
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
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
    ctx.savefig(fig, "spectra")

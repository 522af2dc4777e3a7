"""Claims on notions of rank for nonlinear networks (note: notes/bottleneck.md).

Source: Jacot, arXiv 2209.15055 (CLAIMS.md §2). Prediction: ``theory.bottleneck`` (the one-point
cost, reusing the DLN scalar cost and its regularized minimizers); measurement:
``numerics.bottleneck`` (bias-free ReLU MLPs trained by L-BFGS with weight decay, float64).
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from numerics import bottleneck as solvers  # noqa: E402
from proofs_checks.context import Context  # noqa: E402
from proofs_checks.registry import claim  # noqa: E402
from theory import bottleneck as theory  # noqa: E402
from theory import dln  # noqa: E402

SOURCE = "Jacot 2022, arXiv 2209.15055, implicit bias of large depth networks (a notion of rank)"
DEPTHS = tuple(range(2, 9))
WIDTH = 16


def one_point_case(case: dict) -> dict:
    """Sweep case: x ∈ ℝ^d and y ∈ ℝ^m in uniformly random directions (the case's seed) with norms
    ``x_norm`` and ``y_norm``; a depth-L width-16 ReLU MLP trained on x ↦ y with coefficient λ.
    Returns ‖x‖, ‖y‖, ‖f(x)‖, cos(f(x), y) and ‖θ‖²."""
    rng = np.random.default_rng(case["seed"])
    x, y = rng.normal(size=(case["d"], 1)), rng.normal(size=(case["m"], 1))
    x, y = case["x_norm"] * x / np.linalg.norm(x), case["y_norm"] * y / np.linalg.norm(y)
    fit = solvers.train_mlp(x, y, case["depth"], WIDTH, case["lam"], seed=case["seed"])
    out = fit.outputs[:, 0]
    size = float(np.linalg.norm(out))
    return {"x_norm": float(np.linalg.norm(x)), "y_norm": float(np.linalg.norm(y)), "output": size,
            "cos": float(out @ y[:, 0] / max(size * np.linalg.norm(y), 1e-300)), "norm_sq": fit.norm_sq}


def _broken_cost(x_norm: float, s: float, depth: int) -> float:
    """Planted error: the exponent 1/L in place of 2/L."""
    return depth * (s / x_norm) ** (1 / depth)


@claim(
    "rank.one_point",
    statement="A depth-L bias-free ReLU MLP (L = 2…8) trained to a stationary point of "
    "½‖f(x) − y‖² + λ‖θ‖² on one point x ↦ y has the exact one-point cost "
    "‖θ‖² = L·(‖f(x)‖/‖x‖)^{2/L}, an output along y, and ‖f(x)‖ at a local minimum of the scalar "
    "problem ½(s − ‖y‖)² + λ·L·(s/‖x‖)^{2/L} (0, or the non-zero one, the global one above the depth's "
    "threshold).",
    source=SOURCE + ", the one-point example (cost L·(|y|/‖x‖)^{2/L})",
    predict=lambda x_norm, s, depth: float(theory.one_point_cost_fn()(x_norm, s, depth)),
    broken=_broken_cost,
    broken_how="exponent 1/L instead of 2/L in the one-point cost",
)
def check_one_point(ctx: Context, predict: Callable[[float, float, int], float]) -> list:
    drawn = ctx.draw(st.tuples(st.integers(1, 5), st.integers(1, 3), st.floats(0.5, 2.0), st.floats(1.0, 4.0),
                               st.floats(0.01, 0.2), st.integers(0, 2**16)),
                     ctx.pick(quick=3, full=8), label="points")
    cases = [{"d": d, "m": m, "x_norm": round(a, 4), "y_norm": round(b, 4), "lam": round(lam, 4),
              "seed": seed, "depth": depth} for d, m, a, b, lam, seed in drawn for depth in DEPTHS]
    rows = ctx.sweep("trainings", one_point_case, cases).rows
    # In t = s/‖x‖ the scalar problem is the DLN one at target ‖y‖/‖x‖ and coefficient λ/‖x‖² (see
    # theory.bottleneck.one_point_regularized); its local minima are 0 and the non-zero one, and the
    # trained output must sit at one of them. Curvatures agree: g''(s) = f''(t).
    scaled = [(r["output"] / r["x_norm"], r["y_norm"] / r["x_norm"], c["lam"] / r["x_norm"] ** 2)
              for c, r in zip(cases, rows, strict=True)]
    minima = [float(dln.nearest_local_minima([t], [target], c["depth"], lam)[0])
              for c, (t, target, lam) in zip(cases, scaled, strict=True)]
    nearest = [t * r["x_norm"] for t, r in zip(minima, rows, strict=True)]
    flat = [float(dln.regularized_curvature([t], c["depth"], lam)[0]) if t > 0 else 1.0
            for c, t, (_, _, lam) in zip(cases, minima, scaled, strict=True)]
    _plot_one_point(ctx, cases, rows, predict)
    why = ("L-BFGS stops with every gradient entry <= 1e-6; a residual ε in the scalar problem moves "
           "s by ε/g''(s), so each case gets atol 1e-5/g''(s) (10× margin), rtol 1e-5 for the cost")
    labels = [{"depth": c["depth"], "lam": c["lam"], "seed": c["seed"]} for c in cases]
    alive = [k for k, s in enumerate(nearest) if s > 0]
    return [
        ctx.compare("‖θ‖² vs L·(‖f(x)‖/‖x‖)^{2/L}", [predict(r["x_norm"], r["output"], c["depth"])
                                                     for c, r in zip(cases, rows, strict=True)],
                    [r["norm_sq"] for r in rows], rtol=1e-5, atol=1e-9, why=why, cases=labels),
        ctx.compare(f"‖f(x)‖ vs the nearest local minimum of the scalar problem (the non-zero one for "
                    f"{len(alive)} of {len(rows)} trainings, 0 for the others)", nearest,
                    [r["output"] for r in rows], rtol=0.0, atol=[1e-5 / g for g in flat], why=why,
                    cases=labels),
        ctx.compare("cos(f(x), y) vs 1 where the output is non-zero", [1.0] * len(alive),
                    [rows[k]["cos"] for k in alive], rtol=0.0, atol=1e-6,
                    why="the output is s·ŷ at a rank-one optimum; 1e-6 as for the cost",
                    cases=[labels[k] for k in alive]),
    ]


def _plot_one_point(ctx: Context, cases: list[dict], rows: list[dict], predict: Callable) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.5))
    for c, r in zip(cases, rows, strict=True):
        color = f"C{DEPTHS.index(c['depth'])}"
        axes[0].plot(predict(r["x_norm"], r["output"], c["depth"]), r["norm_sq"], "o", color=color, alpha=0.7)
        axes[1].plot(c["depth"], r["norm_sq"] / c["depth"], "o", color=color, alpha=0.7)
    top = max(r["norm_sq"] for r in rows)
    axes[0].plot([0, top], [0, top], "k:", lw=1)
    axes[0].set(xlabel="L·(‖f(x)‖/‖x‖)^{2/L}", ylabel="trained ‖θ‖²", title="one-point cost, L = 2…8")
    axes[1].axhline(1.0, color="grey", ls=":", lw=1)
    axes[1].set(xlabel="depth L", ylabel="‖θ‖² / L", title="cost per layer → rank 1")
    fig.tight_layout()
    ctx.savefig(fig, "cost")

"""Claims on the F1 norm and compositionality (note: notes/compositionality.md).

Source: Jacot, Choi, Wen, arXiv 2407.05664 (CLAIMS.md §8). Prediction: ``theory.compositionality``;
measurement: ``numerics.compositionality``.
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from numerics import compositionality as solvers  # noqa: E402
from proofs_checks.context import Context  # noqa: E402
from proofs_checks.registry import claim  # noqa: E402
from theory import compositionality as theory  # noqa: E402

SOURCE = "Jacot, Choi, Wen 2025, arXiv 2407.05664, F1 norm of shallow networks"


def _network(case: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    width, dim, seed, log_spread = case
    rng = np.random.default_rng(seed)
    spread = np.exp(log_spread * rng.normal(size=width))  # unbalanced neurons
    return (rng.normal(size=width) * spread, rng.normal(size=(width, dim)) / spread[:, None],
            rng.normal(size=width) / spread, rng.normal(size=(32, dim)))


@claim(
    "f1.rebalancing",
    statement="Rescaling each neuron of a shallow ReLU network so that |a_i| = ‖(w_i, b_i)‖ leaves "
    "the function unchanged and brings ‖θ‖² to its least value over rescalings, twice the path "
    "cost Σ_i |a_i|·‖(w_i, b_i)‖ (the F1 cost of the representation).",
    source=SOURCE,
    predict=theory.least_cost,
    broken=lambda path: path,
    broken_how="the least cost equal to the path cost (the factor 2 of AM–GM dropped)",
)
def check_rebalancing(ctx: Context, predict: Callable[[float], float]) -> list:
    cases = ctx.draw(st.tuples(st.integers(1, 30), st.integers(1, 8), st.integers(0, 2**16),
                               st.floats(0.0, 3.0)), ctx.pick(quick=30, full=300), label="networks")
    before, after, predicted, rebalanced, optimized, paths, costs = [], [], [], [], [], [], []
    for case in cases:
        a, W, b, x = _network(case)
        a2, W2, b2 = solvers.rebalance(a, W, b)
        before.append(solvers.shallow_relu(a, W, b, x))
        after.append(solvers.shallow_relu(a2, W2, b2, x))
        paths.append(solvers.path_cost(a, W, b))
        costs.append(solvers.parameter_cost(a, W, b))
        predicted.append(predict(paths[-1]))
        rebalanced.append(solvers.parameter_cost(a2, W2, b2))
        optimized.append(solvers.least_rescaled_cost(a, W, b))
    fig, ax = plt.subplots(figsize=(4.6, 3.4))
    ax.loglog(paths, costs, ".", label="‖θ‖² as drawn")
    ax.loglog(paths, rebalanced, "o", mfc="none", label="‖θ‖² rebalanced")
    line = np.geomspace(min(paths), max(paths), 10)
    ax.loglog(line, 2 * line, "k-", lw=1, label="2 × path cost")
    ax.set(xlabel="path cost Σ|a_i|‖(w_i, b_i)‖", ylabel="‖θ‖²", title="rebalancing")
    ax.legend(fontsize=7)
    ctx.savefig(fig, "costs")
    labels = [{"width": w, "dim": d, "seed": s, "spread": sp} for w, d, s, sp in cases]
    function = ctx.compare(
        "network outputs at 32 points before vs after rebalancing", before, after,
        rtol=1e-12, atol=1e-12,
        why="relu(c·z) = c·relu(z) for c > 0: identical up to round-off (observed ~1e-15)",
        cases=labels,
    )
    cost = ctx.compare(
        "‖θ‖² after rebalancing vs the predicted least cost", predicted, rebalanced, rtol=1e-12,
        why="closed-form rescaling; round-off only", cases=labels,
    )
    optimum = ctx.compare(
        "least ‖θ‖² over rescalings found by L-BFGS in log c vs the predicted least cost",
        predicted, optimized, rtol=1e-9,
        why="a smooth strictly convex problem in log c solved to gtol 1e-13: relative accuracy "
        "~1e-12 observed",
        cases=labels,
    )
    return [function, cost, optimum]

"""Claims on tensor factorization (note: notes/tensor.md).

Sources: Razin, Maman, Cohen, arXiv 2102.09972 for the CP claims and arXiv
2201.11729 (§10c) for the hierarchical ones. Prediction: ``theory.tensor``; measurement:
``numerics.tensor`` (torch GD and gradient flow on CP and hierarchical tensor completion, CNN
trainings for the locality claim).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import sympy as sp
from hypothesis import strategies as st

from rankcheck.errors import NotConvergedError
from rankcheck.numerics import tensor as solvers
from rankcheck.proofs_checks.context import Context
from rankcheck.proofs_checks.device import case_device
from rankcheck.proofs_checks.figures import subplots
from rankcheck.proofs_checks.registry import claim
from rankcheck.proofs_checks.statistics import ordering, seeds_to_resolve, share_above
from rankcheck.theory import tensor as theory

#: the case functions (module level: sweep workers import them) and constants of the designs;
#: the checks are reached through the registry (``rankcheck show ID``), not imported
__all__ = [
    "SOURCE", "rate_function", "component_case", "HTF_SOURCE", "local_rate_function",
    "local_component_case", "orthogonal_truth", "incremental_case", "relative_error",
    "simultaneous_transitions", "HIERARCHICAL", "HIERARCHICAL_DRAWS", "hierarchical_ranks",
    "truth_hierarchical_ranks", "hierarchical_draw",
    "hierarchical_case", "NATURAL", "DATASETS", "natural_case", "LOCALITY", "LOCALITY_SEEDS",
    "LOCALITY_QUICK", "LOCALITY_QUICK_WARMUP", "LOCALITY_WIDTHS", "LOCALITY_EXPLORATORY_SEEDS",
    "locality_case", "locality_exploration"
]

SOURCE = "Razin, Maman, Cohen 2021, arXiv 2102.09972, implicit regularization in tensor factorization"


def rate_function(order: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The theory's dσ/dt = N·σ^{2−2/N}·g as a numpy function of (σ, g)."""
    return sp.lambdify((theory.sigma, theory.g), theory.component_norm_rate(order), "numpy")


def _broken_rate(order: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Planted error: the exponent 2 − 1/N in place of 2 − 2/N."""
    return lambda s, g: order * s ** (2 - 1 / order) * g


def _rate_problem(case: dict) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """A random rank-2 tensor of order ``order`` and side ``size`` (entries scaled to max 1) and a
    third of its entries (seeded): (observed values, their indices (k, N), shape)."""
    rng = np.random.default_rng(case["seed"])
    dims = (case["size"],) * case["order"]
    truth = np.asarray(solvers.cp_tensor([rng.normal(size=(case["size"], 2))
                                          for _ in range(case["order"])]))
    truth /= np.abs(truth).max()
    flat = rng.choice(truth.size, size=max(truth.size // 3, 1), replace=False)
    indices = np.array(np.unravel_index(flat, dims)).T
    return truth[tuple(indices.T)], indices, dims


def component_case(case: dict) -> dict:
    """Sweep case: rank-3 CP GD on ``_rate_problem`` from init scale ``scale``; at every 10th step
    the norms σ, alignments g, and σ after the GD step (size lr) and after a half step from the
    same state."""
    run = solvers.cp_completion(*_rate_problem(case), 3, case["scale"], int(round(case["time"] / case["lr"])),
                                case["lr"], seed=case["seed"], record_every=10,
                                probe_steps=(case["lr"], case["lr"] / 2))
    return {"times": run.times.tolist(), "sigma": run.component_norms.tolist(),
            "g": run.alignments.tolist(), "probes": run.probes.tolist(), "loss": run.loss.tolist()}


def _rates(row: dict, lr: float) -> tuple[np.ndarray, np.ndarray]:
    """(forward difference of σ over the real GD step, the same over half a step), (n, …) each."""
    sigma, probes = np.asarray(row["sigma"]), np.asarray(row["probes"])
    return (probes[:, 0] - sigma) / lr, (probes[:, 1] - sigma) / (lr / 2)


def _rate_comparison(ctx: Context, what: str, law: str, predicted: list, rows: list[dict], cases: list[dict]):
    """``predicted`` rates (one array per case, from ``law``) against the GD forward differences of
    the norms ``what`` in ``rows``, within the step-halving bound of each entry."""
    measured, bounds = [], []
    for row, case in zip(rows, cases, strict=True):
        step, half = _rates(row, case["lr"])
        measured.append(step)
        bounds.append(3 * np.abs(step - half) + case["lr"] ** 2 * np.max(np.abs(step)) + 1e-15)
    return ctx.compare(
        f"{what}'s change over each real GD step, divided by lr, vs {law} at the step's start "
        "(tolerance: the step-halving error bound, per entry)",
        predicted, measured, rtol=0.0, atol=bounds,
        why="σ(θ − s∇ℓ) is smooth in s, so its forward difference over s = lr is the flow's rate "
        "plus (lr/2)σ'' + O(lr²), and the same difference over lr/2 from the same state differs "
        "from it by (lr/4)σ'' + O(lr²): 3× that difference plus lr²·max|rate| bounds the error. "
        "The rest, imbalance created by GD, is O(lr²) per step",
        cases=cases,
    )


def _plot(ctx: Context, rows: list[dict], cases: list[dict]) -> None:
    fig, ax = subplots(figsize=(5, 3.6))
    for k, (row, case) in enumerate(zip(rows, cases, strict=True)):
        predicted = rate_function(case["order"])(np.asarray(row["sigma"]), np.asarray(row["g"]))
        ax.plot(row["times"], _rates(row, case["lr"])[0][:, 0], color=f"C{k}", lw=1.5,
                label=f"N = {case['order']}, component 1 (GD)")
        ax.plot(row["times"], predicted[:, 0], "k:", lw=1)
    ax.set(xlabel="t", ylabel="dσ₁/dt", title="component-norm rate: GD (colour) vs N·σ^{2−2/N}·g")
    ax.legend(fontsize=7)
    ctx.savefig(fig, "rates", judged=(
        "GD's dσ₁/dt (colour) against the predicted N·σ^{2−2/N}·g (dotted) at each real step, within the "
        "step-halving error bound per entry."))


@claim(
    "tensor.component_dynamics",
    statement="Under gradient flow on a CP tensor factorization of order N from a balanced start, "
    "each component's norm σ_r = Π_n‖w_r^n‖ obeys dσ_r/dt = N·σ_r^{2−2/N}·⟨−∇ℓ(W), Ŵ_r⟩.",
    source=SOURCE,
    predict=rate_function,
    broken=_broken_rate,
    broken_how="the exponent 2 − 1/N in place of 2 − 2/N",
)
def check_component_dynamics(ctx: Context, predict: Callable[[int], Callable]) -> list:
    drawn = ctx.draw(st.tuples(st.integers(2, 4), st.floats(-1.5, -0.3), st.integers(0, 2**16)),
                     ctx.pick(quick=3, full=12), label="cases")
    cases = [{"order": order, "size": 5 if order < 4 else 4, "scale": float(10**log_scale),
              "seed": seed, "lr": 0.01, "time": ctx.pick(quick=4.0, full=12.0)}
             for order, log_scale, seed in drawn]
    rows = ctx.sweep("rates", component_case, cases).rows
    _plot(ctx, rows, cases)
    predicted = [predict(case["order"])(np.asarray(row["sigma"]), np.asarray(row["g"]))
                 for row, case in zip(rows, cases, strict=True)]
    return [_rate_comparison(ctx, "σ_r", "N·σ^{2−2/N}·g", predicted, rows, cases)]


HTF_SOURCE = ("Razin, Maman, Cohen 2022, arXiv 2201.11729, implicit regularization in hierarchical "
              "tensor factorization")


def local_rate_function(children: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The theory's dσ/dt = K·σ^{2−2/K}·g (K = children + 1) as a numpy function of (σ, g)."""
    return sp.lambdify((theory.sigma, theory.g), theory.local_component_norm_rate(children), "numpy")


def local_component_case(case: dict) -> dict:
    """Sweep case: GD on a width-3 hierarchical factorization (``htf_completion``) of
    ``_rate_problem`` from init scale ``scale``; at every 10th step the local norms σ (nodes, R),
    alignments g and σ after the GD step (size lr) and after a half step from the same state."""
    steps = int(round(case["time"] / case["lr"]))
    run = solvers.htf_completion(*_rate_problem(case), 3, case["scale"], steps, case["lr"], seed=case["seed"],
                                 record_every=10, probe_steps=(case["lr"], case["lr"] / 2))
    return {"times": run.times.tolist(), "sigma": run.local_norms.tolist(),
            "g": run.alignments.tolist(), "probes": run.probes.tolist(), "loss": run.loss.tolist()}


@claim(
    "tensor.local_component_dynamics",
    statement="Under gradient flow on a hierarchical tensor factorization (binary tree) from a balanced "
    "start, each local component's norm σ (the product of the norms of its K = 3 vectors: column r of "
    "both children's matrices, row r of the node's) obeys dσ/dt = K·σ^{2−2/K}·⟨−∇ℓ(W), C/σ⟩, C the "
    "component's contribution to the end tensor.",
    source=HTF_SOURCE,
    predict=local_rate_function,
    broken=lambda children: _broken_rate(children + 1),
    broken_how="the exponent 2 − 1/K in place of 2 − 2/K",
)
def check_local_component_dynamics(ctx: Context, predict: Callable[[int], Callable]) -> list:
    drawn = ctx.draw(st.tuples(st.sampled_from([4, 8]), st.floats(-1.5, 0.0), st.integers(0, 2**16)),
                     ctx.pick(quick=3, full=12), label="cases")
    cases = [{"order": order, "size": 4 if order == 4 else 2, "scale": float(10**log_scale),
              "seed": seed, "lr": 0.01, "time": ctx.pick(quick=4.0, full=12.0)}
             for order, log_scale, seed in drawn]
    rows = ctx.sweep("rates", local_component_case, cases).rows
    _plot_local(ctx, rows, cases, predict(2))
    predicted = [predict(2)(np.asarray(row["sigma"]), np.asarray(row["g"])) for row in rows]
    return [_rate_comparison(ctx, "every local σ", "3·σ^{4/3}·g", predicted, rows, cases)]


def _plot_local(ctx: Context, rows: list[dict], cases: list[dict], rate: Callable) -> None:
    k = int(np.argmax([case["scale"] for case in cases]))  # the case that moves most
    row, case = rows[k], cases[k]
    predicted = rate(np.asarray(row["sigma"]), np.asarray(row["g"]))
    measured = _rates(row, case["lr"])[0]
    fig, ax = subplots(figsize=(5, 3.6))
    for node in range(predicted.shape[1]):
        name = "root" if node == predicted.shape[1] - 1 else f"node {node + 1}"
        ax.plot(row["times"], measured[:, node, 0], color=f"C{node}", lw=1.5,
                label=f"{name}, component 1 (GD)")
        ax.plot(row["times"], predicted[:, node, 0], "k:", lw=1)
    ax.set(xlabel="t", ylabel="dσ/dt", title=f"local-component rate, order {case['order']}, init "
           f"{case['scale']:.2g}: GD (colour) vs 3·σ^{{4/3}}·g")
    ax.legend(fontsize=7)
    ctx.savefig(fig, "rates", judged=(
        "GD's dσ/dt of each local component (colour) against the predicted 3·σ^{4/3}·g (dotted) at each real"
        " step, within the step-halving error bound per entry."))


def orthogonal_truth(side: int, second: float, seed: int, order: int = 3) -> np.ndarray:
    """The rank-2 tensor 3·a₁⊗b₁⊗… + s·a₂⊗b₂⊗… of the given order with orthonormal pairs (a₁, a₂),
    (b₁, b₂), …; its hierarchical ranks are all 2."""
    rng = np.random.default_rng(seed)
    factors = [np.linalg.qr(rng.normal(size=(side, 2)))[0] * np.array([3.0, second]) ** (1 / order)
               for _ in range(order)]
    return np.asarray(solvers.cp_tensor(factors))


def incremental_case(case: dict) -> dict:
    """Sweep case: rank-6 CP completion of ``orthogonal_truth`` from a fraction of its entries; the
    mode-1 spectra over time, the rank of the completed tensor (tensorly, 1e-2) and the relative
    error on the hidden entries."""
    truth = orthogonal_truth(case["side"], case["second"], case["seed"])
    mask = np.random.default_rng(case["seed"] + 1).random(truth.shape) < case["fraction"]
    run = solvers.cp_completion(truth[mask], np.argwhere(mask), truth.shape, 6, case["scale"],
                                case["steps"], case["lr"], seed=case["seed"], record_every=100)
    completed = np.asarray(solvers.cp_tensor(run.factors))
    return {"times": run.times.tolist(), "unfolding": run.unfolding.tolist(),
            "rank": solvers.lowest_cp_rank(completed, 1e-2)[0],
            "hidden_error": relative_error(completed, truth, ~mask),
            "observed_error": relative_error(completed, truth, mask)}


def relative_error(completed: np.ndarray, truth: np.ndarray, where: np.ndarray) -> float:
    """‖completed − truth‖/‖truth‖ over the entries selected by the boolean mask ``where``."""
    return float(np.linalg.norm((completed - truth)[where]) / np.linalg.norm(truth[where]))


def simultaneous_transitions(unfolding: np.ndarray, rank: int) -> int:
    """The most singular values among the top ``rank`` of the mode-1 matricization that are between
    10 % and 90 % of their final value at the same recorded time (1 = learned one at a time)."""
    top = np.asarray(unfolding)[:, :rank]
    fraction = top / top[-1]
    return int(np.max(np.sum((fraction > 0.1) & (fraction < 0.9), axis=1)))


def _lowest_rank_of_truth(truth: np.ndarray) -> int:
    return solvers.lowest_cp_rank(truth, 1e-6)[0]


@claim(
    "tensor.incremental_rank",
    statement="Gradient descent on a CP factorization (rank 6) of a 6×6×6 tensor of rank 2 with 60 % of "
    "its entries observed, from small initialization, learns the components one at a time and ends "
    "near the lowest rank that fits the observations (within one; recovering the hidden entries in "
    "the median); from large initialization it ends at least two above it.",
    source=SOURCE,
    predict=_lowest_rank_of_truth,
    broken=lambda truth: 6,
    broken_how="the completed tensor uses all 6 components of the factorization",
)
def check_incremental_rank(ctx: Context, predict: Callable[[np.ndarray], int]) -> list:
    drawn = ctx.draw(st.tuples(st.floats(0.8, 1.6), st.integers(0, 2**16)), ctx.pick(quick=2, full=8),
                     label="truths")
    common = {"side": 6, "fraction": 0.6, "steps": 12000, "lr": 0.05}
    cases = [dict(common, second=second, seed=seed, scale=scale)
             for second, seed in drawn for scale in (1e-4, 1.0)]
    rows = ctx.sweep("completions", incremental_case, cases).rows
    small, large = rows[0::2], rows[1::2]
    labels = [{"second": second, "seed": seed} for second, seed in drawn]
    lowest = [predict(orthogonal_truth(common["side"], second, seed)) for second, seed in drawn]
    _plot_incremental(ctx, small[0], large[0])
    ratios = [b["hidden_error"] / a["hidden_error"] for a, b in zip(small, large, strict=True)]
    exact = sum(r["rank"] == k for r, k in zip(small, lowest, strict=True))
    return [
        ctx.compare(f"small init: (rank of the completed tensor − lowest rank − 1)₊, near = within one; "
                    f"{exact} of {len(small)} exactly at the lowest rank (ranks: tensorly ALS at 1e-2 for "
                    "the completion, 1e-6 for the truth)", [0] * len(small),
                    [max(0, r["rank"] - k - 1) for r, k in zip(small, lowest, strict=True)], rtol=0.0,
                    atol=0.5, why="integer ranks", cases=labels),
        ctx.compare("small init: median relative error on the hidden entries", [0.0],
                    [float(np.median([r["hidden_error"] for r in small]))], rtol=0.0, atol=1e-2,
                    why="recovery; GD stops with the unused components still at ~1e-3 (observed "
                    "errors 3e-4 to 8e-4, one slow draw 3e-2)", cases=[labels]),
        ctx.compare("small init: (most singular values in transition at once − 1)₊",
                    [0] * len(small), [max(0, simultaneous_transitions(r["unfolding"], k) - 1)
                                       for r, k in zip(small, lowest, strict=True)],
                    rtol=0.0, atol=0.5, why="an integer count", cases=labels),
        ctx.compare("large init: (lowest rank + 2 − rank of the completed tensor)₊, i.e. not near",
                    [0] * len(large), [max(0, k + 2 - r["rank"]) for r, k in zip(large, lowest, strict=True)],
                    rtol=0.0, atol=0.5, why="integer ranks", cases=labels),
        ctx.compare("large init: (5 − median hidden error ratio large/small init)₊", [0.0],
                    [max(0.0, 5.0 - float(np.median(ratios)))], rtol=0.0, atol=1e-12,
                    why="a factor 5 separates the regimes: prototype ratios 10–210", cases=[labels]),
    ]


def _plot_incremental(ctx: Context, small: dict, large: dict) -> None:
    fig, axes = subplots(1, 2, figsize=(8.4, 3.3), sharey=True)
    for ax, row, title in ((axes[0], small, "init 1e-4"), (axes[1], large, "init 1")):
        spectra = np.asarray(row["unfolding"])
        for k in range(spectra.shape[1]):
            ax.semilogy(row["times"], spectra[:, k] + 1e-12, lw=1.5, label=f"s{k + 1}")
        ax.set(xlabel="t", title=f"{title}: rank {row['rank']}, hidden error {row['hidden_error']:.1e}")
    axes[0].set_ylabel("singular values of the mode-1 matricization")
    axes[0].legend(fontsize=7, ncol=2)
    ctx.savefig(fig, "spectra", judged=(
        "shown: one small-init (left) and one large-init (right) draw; judged over all draws: the completed "
        "tensor's rank within one of the lowest at small init and not near it at large init, at most one "
        "singular value in transition at a time, and the hidden-entry errors."))


HIERARCHICAL = {"order": 4, "side": 5, "width": 4, "fraction": 0.5, "scale": 1e-3}
#: Fresh draws of the rate, fixed before the first judged run (stop 34): numpy seeds under the label
#: "rate draws" (not the Hypothesis draws of the earlier design, which repeated seed 0), s from each.
HIERARCHICAL_DRAWS = 32


def hierarchical_ranks(spectra: np.ndarray, tol: float) -> list[int]:
    """Per tree node, the number of singular values above ``tol`` × the largest."""
    spectra = np.asarray(spectra)
    return np.sum(spectra > tol * spectra[:, :1], axis=1).tolist()


def truth_hierarchical_ranks(truth: np.ndarray) -> list[int]:
    """The hierarchical ranks of the ground truth: ranks of its matricizations along every non-root
    tree node (relative tolerance 1e-8)."""
    return hierarchical_ranks(solvers.tree_spectra(truth), 1e-8)


def hierarchical_draw(seed: int) -> dict:
    """One fresh draw of the rate: the case of ``seed``, its second value s uniform in [0.8, 1.6]
    from a generator of its own (the truth and the mask use ``seed`` and ``seed + 1``)."""
    second = 0.8 + 0.8 * float(np.random.default_rng([seed, 2]).random())
    return dict(HIERARCHICAL, second=second, seed=seed)


def hierarchical_case(case: dict) -> dict:
    """Sweep case: gradient flow (``htf_flow``) of a width-4 hierarchical factorization from init
    1e-3 on half the entries of ``orthogonal_truth`` (order 4); the tree-node spectra over time,
    the final hierarchical ranks (1e-2) and the relative error on the hidden entries. A flow that
    spends its budget of gradient evaluations did not end anywhere: ``converged`` false, no ranks
    (the rate counts it as a miss, as fixed before the judged run)."""
    truth = orthogonal_truth(case["side"], case["second"], case["seed"], order=case["order"])
    mask = np.random.default_rng(case["seed"] + 1).random(truth.shape) < case["fraction"]
    try:
        run = solvers.htf_flow(truth[mask], np.argwhere(mask), truth.shape, case["width"],
                               case["scale"], seed=case["seed"])
    except NotConvergedError as err:
        return {"converged": False, "reason": str(err), "ranks": None}
    completed = np.asarray(solvers.htf_tensor(run.leaves, run.nodes, run.root))
    return {"converged": True, "times": run.times.tolist(), "spectra": run.spectra.tolist(),
            "ranks": hierarchical_ranks(run.spectra[-1], 1e-2),
            "hidden_error": relative_error(completed, truth, ~mask),
            "one_at_a_time": [simultaneous_transitions(run.spectra[:, k], 2) <= 1
                              for k in range(run.spectra.shape[1])]}


@claim(
    "tensor.hierarchical_rank",
    statement="On fresh draws of a tensor whose hierarchical ranks are all 2 (CP rank 2, order 4, "
    "side 5) with half its entries observed, gradient flow on a width-4 hierarchical tensor "
    "factorization from initialization 1e-3 ends at exactly the truth's hierarchical ranks in more "
    "than half of the draws (the 90 % Clopper–Pearson interval of the share lies above ½), and the "
    "flows that do end there recover the hidden entries and learn the singular values of the "
    "tree-node matricizations one at a time (at half the nodes or more).",
    source=HTF_SOURCE + "; convergence to low hierarchical rank is demonstrated empirically there, "
    "not proven for every draw (the proven part, the local components' norm law, is "
    "tensor.local_component_dynamics)",
    predict=truth_hierarchical_ranks,
    broken=lambda truth: [HIERARCHICAL["width"]] * len(solvers.tree_nodes(truth.ndim)),
    broken_how="every hierarchical rank at the factorization's width",
)
def check_hierarchical_rank(ctx: Context, predict: Callable[[np.ndarray], list[int]]) -> list:
    cases = [hierarchical_draw(seed) for seed in
             ctx.seeds(ctx.pick(quick=2, full=HIERARCHICAL_DRAWS), label="rate draws")]
    rows = ctx.sweep("flows", hierarchical_case, cases).rows
    truths = [orthogonal_truth(c["side"], c["second"], c["seed"], order=c["order"]) for c in cases]
    hits = [row["converged"] and row["ranks"] == predict(truth) for row, truth in zip(rows, truths,
                                                                                      strict=True)]
    recovered = [row for row, hit in zip(rows, hits, strict=True) if hit]
    if recovered:
        _plot_hierarchical(ctx, recovered[0])
    rate, unresolved = share_above(
        ctx, "share of draws ending at the truth's hierarchical ranks: (½ − upper end of its 90 % "
        "Clopper–Pearson interval)₊", sum(hits), len(hits),
        why="the claim is a rate over fresh draws; an interval wholly below ½ refutes it")
    comparisons = [rate]
    if recovered:  # the control's broken ranks recover nothing: only the rate judges it
        labels = [{"second": c["second"], "seed": c["seed"]} for c, hit in zip(cases, hits, strict=True)
                  if hit]
        comparisons += [
            ctx.compare("median relative error on the hidden entries, draws at the truth's ranks",
                        [0.0], [float(np.median([r["hidden_error"] for r in recovered]))], rtol=0.0,
                        atol=1e-2, why="recovery; the flow stops at loss 1e-6 of its start (errors "
                        "1.2e-3 to 7.1e-3 on the 16 + 16 draws explored at stop 24)", cases=[labels]),
            ctx.compare("(1/2 − fraction of tree nodes learning their top two singular values one at "
                        "a time)₊, draws at the truth's ranks",
                        [0.0] * len(recovered), [float(np.maximum(0.0, 0.5 - np.mean(r["one_at_a_time"])))
                                                 for r in recovered], rtol=0.0, atol=1e-12,
                        why="a fraction of 6 nodes; prototype fractions 2/3 to 1", cases=labels),
        ]
    if all(c.passed for c in comparisons) and unresolved:
        ctx.inconclusive(f"{sum(hits)} of {len(hits)} draws end at the truth's hierarchical ranks: the "
                         f"90 % interval {rate.worst_case} reaches down to ½"
                         + (f"; {sum(not r['converged'] for r in rows)} spent the flow's budget"
                            if not all(r["converged"] for r in rows) else ""))
    return comparisons


def _plot_hierarchical(ctx: Context, row: dict) -> None:
    spectra, times = np.asarray(row["spectra"]), np.asarray(row["times"])
    fig, axes = subplots(1, 3, figsize=(10, 3.2), sharey=True)
    panels = ((axes[0], 0, "mode {1}"), (axes[1], 2, "mode {3}"), (axes[2], 4, "modes {1,2} | {3,4}"))
    for ax, k, name in panels:
        for j in range(3):
            ax.semilogy(times, spectra[:, k, j] + 1e-12, lw=1.5, label=f"s{j + 1}")
        ax.set(xlabel="t (gradient-flow time)", title=name, xlim=(0.9 * times[-1] if times[-1] > 0 else 0,
                                                                   times[-1]))
    axes[0].set_ylabel("singular values of the matricization")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"hierarchical factorization from init 1e-3: ranks {row['ranks']}, "
                 f"hidden error {row['hidden_error']:.1e}", fontsize=9, y=1.02)
    ctx.savefig(fig, "spectra", judged=(
        "shown: one draw at the truth's ranks; judged over the fresh draws: the share ending at the truth's "
        "hierarchical ranks by its Clopper–Pearson 90 % interval, the median hidden error (atol 1e-2), and "
        "per tree node the top two singular values learned one at a time."))


NATURAL = {"samples": 500, "pool": 2, "levels": 4}
DATASETS = ("natural", "shuffled labels", "random inputs")


def natural_case(case: dict) -> dict:
    """Sweep case: ``samples`` digits drawn with the case's seed, as given (natural), with their
    labels permuted, or with uniformly random indices in place of the images; the distance of
    these observations from rank-``rank`` CP tensors (``cp_fit_error``, two restarts)."""
    indices, labels = solvers.digits_tensor_data(case["pool"], case["levels"])
    rng = np.random.default_rng(case["seed"])
    chosen = rng.choice(len(labels), case["samples"], replace=False)
    indices, labels = indices[chosen], labels[chosen]
    if case["data"] == "shuffled labels":
        labels = rng.permutation(labels)
    elif case["data"] == "random inputs":
        indices = rng.integers(0, case["levels"], indices.shape)
    fit = solvers.cp_fit_error(labels, indices, (case["levels"],) * indices.shape[1], case["rank"],
                               seed=case["seed"])
    return {"error": fit.error, "restarts": fit.restarts.tolist()}


def _under_parametrized(case: dict) -> bool:
    """Fewer CP parameters (rank · order · side) than observations: the fit cannot interpolate
    generic data, so its error measures how far the data sit from rank-R tensors."""
    return case["rank"] * (8 // case["pool"]) ** 2 * case["levels"] < case["samples"]


@claim(
    "tensor.natural_data_low_rank",
    statement="Natural data is closer to low-rank tensors than random data: 500 of scikit-learn's "
    "digits, encoded as entries of an order-16 tensor of side 4 (2×2-pooled pixels in 4 intensity "
    "bins; label ±1 for digits 0–4 / 5–9), are fitted by CP tensors of every rank R with fewer "
    "parameters than observations (R ≤ 7) with a lower relative error than the same images with "
    "shuffled labels and than random images with the same labels.",
    source=SOURCE + ", Section 5 (tensor rank as a measure of complexity)",
    predict=lambda: 1.0,
    broken=lambda: -1.0,
    broken_how="natural data farther from low rank than random data (the ordering reversed)",
)
def check_natural_data_low_rank(ctx: Context, predict: Callable[[], float]) -> list:
    seeds = ctx.draw(st.integers(0, 2**16), ctx.pick(quick=1, full=3), label="subsets")
    ranks = ctx.pick(quick=(1, 2, 4), full=(1, 2, 4, 8, 16))
    cases = [dict(NATURAL, seed=seed, rank=rank, data=data)
             for seed in seeds for rank in ranks for data in DATASETS]
    rows = ctx.sweep("fits", natural_case, cases).rows
    table = {(c["seed"], c["rank"], c["data"]): r for c, r in zip(cases, rows, strict=True)}
    _plot_natural(ctx, table, seeds, ranks)
    sign = predict()
    comparisons = []
    for other in DATASETS[1:]:
        checked = [c for c in cases if c["data"] == "natural" and _under_parametrized(c)]
        gaps, noise = [], []
        for c in checked:
            mine, theirs = table[(c["seed"], c["rank"], "natural")], table[(c["seed"], c["rank"], other)]
            gaps.append(theirs["error"] - mine["error"])
            noise.append(np.ptp(mine["restarts"]) + np.ptp(theirs["restarts"]) + 1e-6)
        comparisons.append(ctx.compare(
            f"(sign · (error on natural data − error on {other}))₊ at every rank with fewer parameters "
            f"than observations; gaps {np.round(gaps, 3).tolist()}",
            [0.0] * len(gaps), [float(np.maximum(0.0, -sign * g)) for g in gaps], rtol=0.0, atol=noise,
            why="each fit is an upper bound from two Adam restarts; the spread of the restarts (both "
            "data sets) is the optimization noise within which an ordering is not resolved",
            cases=[{"seed": c["seed"], "rank": c["rank"]} for c in checked]))
    return comparisons


def _plot_natural(ctx: Context, table: dict, seeds: list, ranks: tuple) -> None:
    fig, ax = subplots(figsize=(5, 3.6))
    for k, data in enumerate(DATASETS):
        errors = np.array([[table[(seed, rank, data)]["error"] for rank in ranks] for seed in seeds])
        ax.plot(ranks, errors.mean(axis=0), "o-", color=f"C{k}", label=data)
        for row in errors:
            ax.plot(ranks, row, ".", color=f"C{k}", alpha=0.4)
    ax.axvline(NATURAL["samples"] / (16 * NATURAL["levels"]), color="grey", ls=":", lw=1)
    ax.set(xscale="log", xlabel="CP rank R", ylabel="relative fit error ‖W_obs − y‖/‖y‖",
           title="digits as a tensor: distance from rank-R tensors")
    ax.set_xticks(ranks, [str(r) for r in ranks])
    ax.legend(fontsize=8)
    ctx.savefig(fig, "fits", judged=(
        "the fit error of the digits tensor against each random data set at every rank left of the dotted "
        "line (fewer parameters than observations): natural below random, within the restarts' spread."))


# The judged design, fixed before its seeds were run: the digits 48 columns apart, where the exploratory
# distance sweep (other seeds) saw plain training generalize worst, and the penalty switched on after a
# warm-up, without which it stalled training there (notes/tensor.md, "How this design was fixed").
LOCALITY = {"width": 64, "penalty": 0.03, "regions": "digits", "warmup": 500}
LOCALITY_SEEDS = 16  # full: fresh seeds (label "confirmatory"), none of them seen by the exploration
LOCALITY_QUICK = {"steps": 150, "samples": 500, "test_samples": 500}  # a pipeline check, see the note
LOCALITY_QUICK_WARMUP = 50  # a third of the quick steps, as 500 of 1 500 on full
LOCALITY_WIDTHS = (16, 24, 32, 48, 64)  # full only, measured not judged: the gap between the digits 0–48
LOCALITY_EXPLORATORY_SEEDS = 4  # full only: the exploration's seeds (label "seeds"), three arms per width


def locality_case(case: dict) -> dict:
    """Sweep case: ``train_same_class(**case)`` — width, penalty coefficient, seed, and any other
    setting that differs from the solver's defaults (2 000 training canvases, 1 500 Adam steps), on
    the device ``device.case_device`` names."""
    run = solvers.train_same_class(**case, device=case_device())
    return {"test": run.test_accuracy, "train": run.train_accuracy, "coupling": run.coupling,
            "loss": run.loss.tolist()}


def locality_exploration(seeds: list[int]) -> list[dict]:
    """The exploratory grid: every width of ``LOCALITY_WIDTHS`` × seed × three arms — no regularizer,
    the regularizer from the first step (as the authors train), and after ``LOCALITY["warmup"]`` steps."""
    arms = ({"penalty": 0.0}, {"penalty": LOCALITY["penalty"]}, {"penalty": LOCALITY["penalty"],
                                                                 "warmup": LOCALITY["warmup"]})
    return [dict(regions=LOCALITY["regions"], width=width, seed=seed, **arm)
            for width in LOCALITY_WIDTHS for seed in seeds for arm in arms]


@claim(
    "tensor.counter_locality",
    statement="On a task whose label needs a long-range interaction (two of scikit-learn's digits "
    "48 columns apart on an 8×64 noise canvas, label 'same class'), a CNN trained with the "
    "regularizer that penalizes the mean |cos| between input gradients on one digit's slot before and "
    "after the other slot is replaced (coefficient 0.03, switched on after 500 of 1 500 Adam steps) "
    "couples the two slots more (lower mean |cos| on test canvases) and reaches a higher test accuracy "
    "than the same CNN trained without it, on average over seeds (paired: data, initialization and "
    "batches shared).",
    source="Razin, Maman, Cohen 2022, arXiv 2201.11729, the experiments countering locality (is-same-class)",
    predict=lambda: 1.0,
    broken=lambda: -1.0,
    broken_how="the regularizer decouples distant patches and lowers test accuracy (orderings reversed)",
)
def check_counter_locality(ctx: Context, predict: Callable[[], float]) -> list:
    seeds = ctx.seeds(ctx.pick(quick=2, full=LOCALITY_SEEDS), label="confirmatory")
    base = {"width": LOCALITY["width"], "regions": LOCALITY["regions"],
            **ctx.pick(quick=LOCALITY_QUICK, full={})}
    regularized_arm = {"penalty": LOCALITY["penalty"],
                       "warmup": ctx.pick(quick=LOCALITY_QUICK_WARMUP, full=LOCALITY["warmup"])}
    cases = [dict(base, seed=seed, **arm) for seed in seeds for arm in ({"penalty": 0.0}, regularized_arm)]
    rows = ctx.sweep("trainings", locality_case, cases).rows
    plain, regularized = rows[0::2], rows[1::2]
    _plot_locality(ctx, plain, regularized)
    if ctx.profile == "full":
        explored = locality_exploration(ctx.seeds(LOCALITY_EXPLORATORY_SEEDS))
        _plot_distances(ctx, explored, ctx.sweep("distances", locality_case, explored).rows, rows)
    sign, pairs = predict(), list(zip(plain, regularized, strict=True))
    coupling, unresolved = ordering(
        ctx, "mean |cos| on test canvases, without − with the regularizer, paired by seed",
        {"coupling": [sign * (p["coupling"] - r["coupling"]) for p, r in pairs]},
        why="the regularizer's own target; a band wholly below 0 means it failed to lower it")
    accuracy, more = ordering(
        ctx, "test accuracy, with − without the regularizer, paired by seed",
        {"accuracy": [sign * (r["test"] - p["test"]) for p, r in pairs]},
        why="the claim is an ordering of mean accuracies over seeds; a band wholly below 0 refutes it")
    if ctx.profile == "quick":  # see the note: its bands are computed and reported, never judged
        ctx.inconclusive(
            f"quick is a pipeline check ({len(seeds)} seeds × {LOCALITY_QUICK['steps']} steps): it runs "
            "the trainings, the coupling and both bands, and judges nothing — at two short trainings "
            "the accuracy band lies wholly below 0 on one machine and across 0 on another (float "
            "rounding of the convolutions); the full profile judges the 16 pre-registered seeds. "
            f"Bands: {coupling.worst_case}; {accuracy.worst_case}")
    if coupling.passed and accuracy.passed and unresolved + more:
        gains = [r["test"] - p["test"] for p, r in pairs]
        needed = seeds_to_resolve(gains) if np.mean(gains) != 0 and np.std(gains) > 0 else None
        power = ("" if needed is None else
                 f"; power analysis: an accuracy gain of the measured size ({np.mean(gains):+.3f}, sd "
                 f"{np.std(gains, ddof=1):.3f} over seeds) needs {needed} seeds ({2 * needed} trainings) "
                 "for its 90 % band to exclude 0 with probability 0.9 (statistics.seeds_to_resolve)")
        ctx.inconclusive(f"not resolved from 0 over {len(seeds)} seeds (mean paired difference, 90 % "
                         "t-band): " + "; ".join(unresolved + more) + power)
    return [coupling, accuracy]


def _plot_distances(ctx: Context, cases: list[dict], rows: list[dict], judged: list[dict]) -> None:
    """Test accuracy against the gap between the two digits (width − 2·8 columns) on the exploration's
    seeds, without the regularizer, with it from the first step and after a warm-up: per seed (dots)
    and mean (line), as in the paper's is-same-class figure; the judged seeds' means at their gap
    (squares, ± their standard error)."""
    def arm(case: dict) -> str:
        if case["penalty"] == 0:
            return "no regularizer"
        return f"λ = {case['penalty']}" + (f" after {case['warmup']} steps" if case.get("warmup") else "")

    fig, ax = subplots(figsize=(5.5, 3.6))
    for color, label in zip(("C0", "C1", "C2"), dict.fromkeys(map(arm, cases)), strict=True):
        points = sorted((case["width"] - 2 * solvers.DIGIT, row["test"])
                        for case, row in zip(cases, rows, strict=True) if arm(case) == label)
        gaps = sorted({gap for gap, _ in points})
        ax.plot(*zip(*points, strict=True), ".", color=color, alpha=0.4)
        ax.plot(gaps, [np.mean([a for g, a in points if g == gap]) for gap in gaps], "o-", color=color,
                label=label)
    gap = LOCALITY["width"] - 2 * solvers.DIGIT
    for offset, color, part in ((-1, "C0", judged[0::2]), (1, "C2", judged[1::2])):
        accuracies = [row["test"] for row in part]
        ax.errorbar(gap + offset, np.mean(accuracies), np.std(accuracies, ddof=1) / np.sqrt(len(accuracies)),
                    fmt="s", color=color, mfc="white", capsize=3)
    ax.plot([], [], "s", color="grey", mfc="white", label=f"judged: {len(judged) // 2} fresh seeds")
    ax.axhline(0.5, color="grey", ls=":", lw=1)
    ax.set(xlabel="gap between the two digits (columns)", ylabel="test accuracy",
           title="same-class task against distance")
    ax.legend(fontsize=8)
    fig.tight_layout()
    ctx.savefig(fig, "distance", judged=(
        "shown only (full profile, exploratory seeds): accuracy against the gap; the squares are the judged "
        "fresh seeds at the design's gap, whose paired differences are judged on the accuracy figure."))


def _plot_locality(ctx: Context, plain: list[dict], regularized: list[dict]) -> None:
    fig, axes = subplots(1, 2, figsize=(8, 3.4))
    for ax, key, label in ((axes[0], "test", "test accuracy"), (axes[1], "coupling", "mean |cos| (test)")):
        for p, r in zip(plain, regularized, strict=True):
            ax.plot([0, 1], [p[key], r[key]], "o-", color="C0", alpha=0.6)
        ax.set_xticks([0, 1], ["no regularizer", f"λ = {LOCALITY['penalty']} after warm-up"])
        ax.set(ylabel=label, xlim=(-0.3, 1.3))
    axes[0].set_title("same-class task, paired by seed")
    axes[1].set_title("coupling of distant patches (1 = none)")
    fig.tight_layout()
    ctx.savefig(fig, "accuracy", judged=(
        "the paired differences with − without the regularizer over seeds, each by its t-band: mean |cos| "
        "lower (right) and test accuracy higher (left); the quick profile judges neither (a pipeline "
        "check)."))

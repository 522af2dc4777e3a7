"""Claims on Leaky ResNets' representation geodesics (note: notes/leaky.md).

Source: Jacot, Kaiser, arXiv 2405.17573. Prediction: ``theory.leaky`` (the
Lagrangian, its Euler–Lagrange expressions and the Hamilton field derived by sympy); measurement:
``numerics.leaky`` (DOP853 integration of Hamilton's equations, the Hamiltonian along the path).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import strategies as st

from rankcheck.errors import NotConvergedError
from rankcheck.numerics import leaky as solvers
from rankcheck.proofs_checks.context import Context
from rankcheck.proofs_checks.device import case_device
from rankcheck.proofs_checks.figures import subplots
from rankcheck.proofs_checks.registry import claim
from rankcheck.proofs_checks.statistics import mean_band, ordering
from rankcheck.theory import leaky as theory

#: the case functions (module level: sweep workers import them) and constants of the designs;
#: the checks are reached through the registry (``rankcheck show ID``), not imported
__all__ = [
    "SOURCE", "POINTS", "TOLERANCES", "CONDITION", "derived_field", "FIELDS", "geodesic_case",
    "ACTION_LAM", "action_case", "derived_lagrangian", "COI_GAMMA", "NEAR", "INNER", "BOTTLENECK_DEPTH",
    "SEPARATED", "bottleneck_task", "bottleneck_case", "bottleneck_fraction", "FIG2A", "FIG2A_LEAK",
    "FIG2A_LAM", "FIG2A_DIMS", "fig2a_case",
]

SOURCE = "Jacot, Kaiser 2024, arXiv 2405.17573, Hamiltonian mechanics of feature learning (Leaky ResNets)"
POINTS = 2
TOLERANCES = (1e-7, 1e-10)  # DOP853 relative tolerances: H's drift must shrink from the first to the second
CONDITION = 1e4  # states with cond(K) above it (K nearly singular: ℒ ill-defined) are not judged


def derived_field(A: np.ndarray, B: np.ndarray, leak: float) -> tuple[np.ndarray, np.ndarray]:
    """Hamilton's equations derived by sympy (``theory.leaky.hamilton_field_fn``), with the
    ReLU mask of the current signs of A."""
    return theory.hamilton_field_fn(*A.shape)(A, B, (A > 0).astype(float), leak)


def _broken_field(A: np.ndarray, B: np.ndarray, leak: float) -> tuple[np.ndarray, np.ndarray]:
    """Planted error: Ḃ = −L̃(σ̇ ⊙ [σ(A)BᵀB] + B), the sign of the B term flipped."""
    velocity, change = derived_field(A, B, leak)
    return velocity, change - 2 * leak * B


FIELDS = {f.__name__: f for f in (derived_field, _broken_field)}


def _acceleration(field: Callable, A: np.ndarray, B: np.ndarray, leak: float, h: float = 1e-5) -> np.ndarray:
    """Ä along the flow: the central difference of the velocity along (Ȧ, Ḃ), step h (error
    O(h²) + O(eps/h), ~1e-10 relative inside a region of fixed signs)."""
    velocity, change = field(A, B, leak)
    ahead, behind = (field(A + s * h * velocity, B + s * h * change, leak)[0] for s in (1, -1))
    return (ahead - behind) / (2 * h)


def geodesic_case(case: dict) -> dict:
    """Sweep case: shoot with the field named ``case["field"]`` from a random A0 (mixed signs, so
    ReLU acts) and B0 at both tolerances; on the finer path, the relative Euler–Lagrange residual
    |E|/(1 + max|∂ℒ/∂A|) at every judged state."""
    field = FIELDS[case["field"]]
    rng = np.random.default_rng(case["seed"])
    A0, B0 = rng.normal(size=(case["width"], POINTS)), 0.5 * rng.normal(size=(case["width"], POINTS))
    shots = [solvers.shoot(A0, B0, case["leak"], field=field, rtol=r) for r in TOLERANCES]
    euler = theory.euler_lagrange_fn(case["width"], POINTS)
    residuals = []
    for A, B in zip(shots[-1].A, shots[-1].B, strict=True):
        post = np.maximum(A, 0.0)
        if np.min(np.abs(A)) < 1e-4 or np.linalg.cond(post.T @ post) > CONDITION:
            continue
        velocity = field(A, B, case["leak"])[0]
        residual, force = euler(A, velocity, _acceleration(field, A, B, case["leak"]), (A > 0).astype(float),
                                case["leak"])
        residuals.append(float(np.max(np.abs(residual)) / (1.0 + np.max(np.abs(force)))))
    drifts = [float(np.ptp(s.H) / (1.0 + abs(s.H[0]))) for s in shots]
    return {"residuals": residuals, "drifts": drifts, "H": shots[-1].H.tolist(),
            "signs": int(np.sum(np.diff(np.sign(shots[-1].A), axis=0) != 0))}


@claim(
    "leaky.hamiltonian_conserved",
    statement="Along geodesics of ReLU Leaky ResNets solved from Hamilton's equations (derived from "
    "H = (L̃/2)‖Bσ(A)ᵀ‖² − L̃Tr[BAᵀ], costate B), the Euler–Lagrange equations of the derived "
    "Lagrangian ℒ = (1/(2L̃))‖Ȧ + L̃A‖²_K hold at every state (residual 0, sign changes of A "
    "included), and H is constant in p up to an error that shrinks with the integrator's tolerance.",
    source=SOURCE + ", the Hamiltonian reformulation (costate equations, conserved H)",
    predict=derived_field,
    broken=_broken_field,
    broken_how="costate equation with the sign of its B term flipped",
)
def check_hamiltonian_conserved(ctx: Context, predict: Callable) -> list:
    drawn = ctx.draw(st.tuples(st.integers(2, 3), st.floats(0.5, 3.0), st.integers(0, 2**16)),
                     ctx.pick(quick=3, full=10), label="starts")
    cases = [{"width": w, "leak": round(leak, 3), "seed": seed} for w, leak, seed in drawn]
    rows = ctx.sweep("shots", geodesic_case, [dict(c, field=predict.__name__) for c in cases]).rows
    judged = [r for r in rows if r["residuals"]]
    if not judged:
        ctx.inconclusive("every sampled state had a nearly singular K; no Euler–Lagrange residual judged")
    _plot(ctx, cases, rows)
    labels = [{"width": c["width"], "leak": c["leak"], "seed": c["seed"]} for c in cases]
    return [
        ctx.compare("Euler–Lagrange residual of the Hamilton flow, worst judged state, relative",
                    [0.0] * len(judged), [max(r["residuals"]) for r in judged], rtol=0.0, atol=1e-6,
                    cases=[lab for lab, r in zip(labels, rows, strict=True) if r["residuals"]],
                    why="an identity in exact arithmetic; Ä by a central difference (h = 1e-5) through "
                    "K⁻¹ with cond(K) <= 1e4 loses ~cond·(h² + eps/h) <= 3e-7 relative (measured: "
                    "3e-8)"),
        ctx.compare(f"H's drift ptp(H)/(1 + |H|) at rtol {TOLERANCES[-1]:g}", [0.0] * len(rows),
                    [r["drifts"][-1] for r in rows], rtol=0.0, atol=1e-6, cases=labels,
                    why="DOP853 controls the local error at 1e-10; a few hundred steps and the ReLU kinks "
                    "(the field is discontinuous there) leave well under 1e-6"),
        ctx.compare(f"(drift at rtol {TOLERANCES[-1]:g} − max(drift at {TOLERANCES[0]:g}/10, 1e-12))₊: "
                    "the drift shrinks with the tolerance", [0.0] * len(rows),
                    [max(0.0, r["drifts"][-1] - max(r["drifts"][0] / 10, 1e-12)) for r in rows],
                    rtol=0.0, atol=1e-15, cases=labels,
                    why="a 1 000× finer tolerance must cut a real drift at least 10×; below 1e-12 it is "
                    "rounding"),
    ]


def _plot(ctx: Context, cases: list[dict], rows: list[dict]) -> None:
    fig, ax = subplots(figsize=(5, 3.4))
    for k, (c, r) in enumerate(zip(cases, rows, strict=True)):
        H = np.asarray(r["H"])
        ax.plot(np.linspace(0, 1, len(H)), np.abs(H - H[0]) + 1e-17, color=f"C{k % 10}",
                label=f"w={c['width']}, L̃={c['leak']}")
    ax.set(yscale="log", xlabel="depth p", ylabel="|H(p) − H(0)|", title="Hamiltonian along geodesics")
    ax.legend(fontsize=7)
    ctx.savefig(fig, "hamiltonian", judged=(
        "H's drift ptp(H)/(1 + |H|) at the finest tolerance against 0 (atol 1e-6), and its shrinking with "
        "the tolerance; the curves show where |H(p) − H(0)| accrues."))


ACTION_LAM = 0.01  # weight decay of the trained networks (small: the output stays near the target)


def action_case(case: dict) -> dict:
    """Sweep case: positive 3×2 representations X, Y (the case's seed), a depth-L Leaky ResNet
    trained from X towards Y; its cost, the discrete action of its own path, and the continuous
    geodesic from X to its output (boundary-value solver), sampled at 401 depths (A, B)."""
    rng = np.random.default_rng(case["seed"])
    X, Y = np.abs(rng.normal(size=(3, POINTS))) + 0.2, np.abs(rng.normal(size=(3, POINTS))) + 0.2
    fit = solvers.train_leaky_resnet(X, Y, case["depth"], case["leak"], ACTION_LAM, seed=case["seed"])
    row = {"cost": fit.cost, "own": solvers.discrete_action(fit.path, fit.rho, case["leak"])}
    try:
        bvp = solvers.solve_geodesic_bvp(X, fit.path[-1], case["leak"], steps=400)
    except NotConvergedError as err:  # the continuous geodesic is not found: this draw is not judged
        return dict(row, A=None, B=None, reason=str(err))
    return dict(row, A=bvp.A.tolist(), B=bvp.B.tolist())


def _broken_lagrangian(A: np.ndarray, velocity: np.ndarray, mask: np.ndarray, leak: float) -> float:
    """Planted error: the cross term ⟨Ȧ, A⟩_K with coefficient L̃ (as the source prints it) instead of 1."""
    post = mask * A
    cross = float(np.trace(velocity @ np.linalg.pinv(post.T @ post) @ A.T))
    return derived_lagrangian(A, velocity, mask, leak) + (leak - 1) * cross


def derived_lagrangian(A: np.ndarray, velocity: np.ndarray, mask: np.ndarray, leak: float) -> float:
    """ℒ derived by sympy (``theory.leaky.lagrangian_fn``), ReLU mask given."""
    return theory.lagrangian_fn(*A.shape)(A, velocity, mask, leak)


def _continuous_action(row: dict, leak: float, lagrangian: Callable) -> float:
    """∫₀¹ ℒ(A, Ȧ) dp along the stored geodesic (Ȧ from Hamilton's equations), trapezoid rule."""
    A, B = np.asarray(row["A"]), np.asarray(row["B"])
    density = [lagrangian(a, solvers.hamilton_field(a, b, leak)[0], (a > 0).astype(float), leak)
               for a, b in zip(A, B, strict=True)]
    return float(np.trapezoid(density, np.linspace(0.0, 1.0, len(A))))


@claim(
    "leaky.action",
    statement="The parameter cost (1/(2L̃))·Σ_ℓ ρ_ℓ‖W_ℓ‖² of a trained depth-L ReLU Leaky ResNet "
    "equals the discrete action of its representation path, and converges at first order in 1/L to "
    "the action ∫ℒ dp, computed from the derived Lagrangian ℒ = (1/(2L̃))‖Ȧ + L̃A‖²_K, of the "
    "continuous geodesic between its input and output representations.",
    source=SOURCE + ", the representation cost of a path (least-norm weights) and its Lagrangian",
    predict=derived_lagrangian,
    broken=_broken_lagrangian,
    broken_how="the cross term ⟨Ȧ, A⟩_K with coefficient L̃, as the source prints it, instead of 1",
)
def check_action(ctx: Context, predict: Callable) -> list:
    drawn = ctx.draw(st.tuples(st.floats(1.5, 3.0), st.integers(0, 2**16)), ctx.pick(quick=1, full=3),
                     label="ends")
    depths = ctx.pick(quick=(4, 8, 16), full=(8, 16, 32))  # three depths: c + a/L + b/L² fitted exactly
    cases = [{"leak": round(leak, 3), "seed": seed, "depth": depth}
             for leak, seed in drawn for depth in depths]
    rows = ctx.sweep("trainings", action_case, cases).rows
    labels = [{"leak": c["leak"], "seed": c["seed"], "depth": c["depth"]} for c in cases]
    keys = [(round(leak, 3), seed) for leak, seed in drawn]
    judged = [key for key in keys if all(r["A"] is not None for c, r in zip(cases, rows, strict=True)
                                         if (c["leak"], c["seed"]) == key)]
    if not judged:
        ctx.inconclusive("the boundary-value solver found no continuous geodesic: "
                         + next(r["reason"] for r in rows if r["A"] is None))
    actions = [_continuous_action(r, c["leak"], predict) if (c["leak"], c["seed"]) in judged else np.nan
               for c, r in zip(cases, rows, strict=True)]
    gaps = [r["cost"] - a for r, a in zip(rows, actions, strict=True)]
    _plot_action(ctx, [c for c in cases if (c["leak"], c["seed"]) in judged],
                 [g for c, g in zip(cases, gaps, strict=True) if (c["leak"], c["seed"]) in judged])
    limits, scales = [], []
    for key in judged:
        chosen = [k for k, c in enumerate(cases) if (c["leak"], c["seed"]) == key]
        design = np.array([[1.0, 1.0 / cases[k]["depth"], 1.0 / cases[k]["depth"] ** 2] for k in chosen])
        limits.append(float(np.linalg.lstsq(design, np.array([gaps[k] for k in chosen]), rcond=None)[0][0]))
        scales.append(float(np.mean([actions[k] for k in chosen])))
    return [
        ctx.compare("trained cost vs the discrete action of its own path", [r["own"] for r in rows],
                    [r["cost"] for r in rows], rtol=1e-6, cases=labels,
                    why="at a stationary point (gradient <= 1e-7) the weights are least-norm for their "
                    "path, so the two are equal up to the optimizer's residual"),
        ctx.compare(f"limit L → ∞ of gap = cost − ∫ℒ dp of the geodesic (fit c + a/L + b/L², L = {depths}; "
                    f"{len(judged)} of {len(keys)} draws, the others without a converged geodesic)",
                    [0.0] * len(limits), limits, rtol=0.0, atol=[0.01 * a for a in scales],
                    cases=[{"leak": leak, "seed": seed} for leak, seed in judged],
                    why="the discretization error of a forward-Euler path is a/L + b/L² + O(1/L³); the "
                    "remainder left in c at L >= 4 is below 1 % of the action (measured: |c| <= 4e-3)"),
    ]


def _plot_action(ctx: Context, cases: list[dict], gaps: list[float]) -> None:
    """gap = cost − ∫ℒ dp against 1/L for every judged draw, with the fitted c + a/L + b/L²."""
    fig, ax = subplots(figsize=(5, 3.4))
    for k, key in enumerate(sorted({(c["leak"], c["seed"]) for c in cases})):
        points = sorted((1.0 / c["depth"], g) for c, g in zip(cases, gaps, strict=True)
                        if (c["leak"], c["seed"]) == key)
        x, y = np.array(points).T
        coefficients = np.polyfit(x, y, 2)
        grid = np.linspace(0.0, x.max(), 50)
        ax.plot(x, y, "o", color=f"C{k}", label=f"L̃ = {key[0]}, seed {key[1]}")
        ax.plot(grid, np.polyval(coefficients, grid), "-", color=f"C{k}", lw=1)
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set(xlabel="1/L", ylabel="cost − ∫ℒ dp", title="trained cost → action of the geodesic (L → ∞)")
    ax.legend(fontsize=7)
    ctx.savefig(fig, "gap", judged=(
        "the constant c of the fit cost − ∫ℒ dp ≈ c + a/L + b/L² (lines, at 1/L = 0) against 0 (atol 1 % of "
        "the action); the points are the trained networks."))


# --------------------------------------------------------------------------- the bottleneck
BOTTLENECK_LAM, BOTTLENECK_POINTS = 0.01, 12
#: The regularized cost of identity Tr[AᵀA(K + γI)⁻¹] = Σ s²/(s² + γ) on non-negative
#: representations: a soft rank, stable where the pseudo-inverse one jumps with tiny singular values.
COI_GAMMA = 1e-2
#: A layer is "in the bottleneck" when its COI is within this factor of the inner dimension.
NEAR = 1.1
INNER = 2  # the inner dimension of ``bottleneck_task``: (s, 1)
BOTTLENECK_DEPTH = 32
SEPARATED = 12.0  # the L̃ from which the least COI is the inner dimension (measured: 2.2–2.3 at L̃ = 6)


def bottleneck_task(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs X (5, 12): |N(0, 1)| entries in 4 rows and a constant row (rank 5); outputs Y (5, 12):
    ramps relu(s + 1), relu(−0.3 − s), relu(s − 0.3), relu(1 − s) of the standardized projection
    s = vᵀx and the constant row. Both ends have rank 5, but Y depends on x only through (s, 1):
    the map factors through 2 dimensions, the bottleneck the geodesics should find."""
    rng = np.random.default_rng(seed)
    x = np.abs(rng.normal(size=(4, BOTTLENECK_POINTS)))
    s = rng.normal(size=4) @ x
    s = (s - s.mean()) / s.std()
    ramps = [np.maximum(s + 1.0, 0), np.maximum(-0.3 - s, 0), np.maximum(s - 0.3, 0), np.maximum(1.0 - s, 0)]
    ones = np.ones((1, BOTTLENECK_POINTS))
    return np.vstack([x, ones]), np.vstack([*ramps, ones])


def _train_on_bottleneck_task(case: dict) -> solvers.LeakyFit:
    """The training protocol of leaky.bottleneck: ``bottleneck_task(case["task"])``, depth
    ``case["depth"]``, effective depth ``case["leak"]``, λ = 0.01, identity start, L-BFGS to a
    plateau (relative change < 1e-9 per round; the minima sit on ReLU kinks)."""
    X, Y = bottleneck_task(case["task"])
    return solvers.train_leaky_resnet(X, Y, case["depth"], case["leak"], BOTTLENECK_LAM, init="identity",
                                      gradient_tol=1e-6, plateau_rtol=1e-9)


def bottleneck_case(case: dict) -> dict:
    """Sweep case: a depth-``depth`` Leaky ResNet of effective depth ``leak`` trained (identity
    start, λ = 0.01, L-BFGS to a plateau) on ``bottleneck_task(task)``; the γ-COI and the effective
    rank (Σs)²/Σs² of every representation A_0 … A_L, −2H/L̃ on every layer (the γ-stabilized step
    Hamiltonian of the path: ≈ k* in a bottleneck of rank k*), the misfit and the final gradient."""
    fit = _train_on_bottleneck_task(case)
    values = [np.linalg.svd(A, compute_uv=False) for A in fit.path]
    hamiltonians = solvers.step_hamiltonians(fit.path, case["leak"], gamma=COI_GAMMA)
    return {"coi": [solvers.cost_of_identity(A, gamma=COI_GAMMA) for A in fit.path],
            "hamiltonian_rank": (-2 * hamiltonians / case["leak"]).tolist(),
            "effective_rank": [float(v.sum() ** 2 / (v**2).sum()) for v in values],
            "misfit": fit.misfit, "gradient": fit.gradient}


def bottleneck_fraction(coi: list[float], inner: float) -> float:
    """Fraction of the representations A_0 … A_L whose COI is at most ``NEAR`` × ``inner``: the
    share of the depth spent in the low-dimensional region."""
    return float(np.mean(np.asarray(coi) <= NEAR * inner))


@claim(
    "leaky.bottleneck",
    statement="Trained Leaky ResNets (width 5, 12 points, depth 32, λ = 0.01) on a map whose ends "
    "have rank 5 but which factors through 2 dimensions separate timescales at large effective depth "
    "L̃: the least regularized cost of identity along the path is the inner dimension 2 (at the "
    "largest L̃), the share of the depth spent within 10 % of it grows from the smallest L̃ to "
    "the largest by at least a fifth, and from L̃ = 12 on the share outside it shrinks like 1/L̃ "
    "(the jumps in and out take a depth ∝ 1/L̃).",
    source=SOURCE + ": for large L̃ the potential (COI) term dominates, the representation jumps to a "
    "low-dimensional one, moves slowly there and jumps back; the 1/L̃ from the form of Hamilton's "
    "equations (theory.leaky.transit_share_exponent)",
    predict=lambda inner: float(inner),
    broken=lambda inner: float(inner + 1),
    broken_how="a bottleneck one dimension wider than the map's inner dimension",
)
def check_bottleneck(ctx: Context, predict: Callable[[int], float]) -> list:
    leaks = ctx.pick(quick=[3.0, 12.0, 24.0], full=[1.0, 3.0, 6.0, 12.0, 16.0, 20.0, 24.0])
    tasks = ctx.seeds(ctx.pick(quick=1, full=3), label="tasks")
    cases = [{"task": t, "leak": leak, "depth": BOTTLENECK_DEPTH} for t in tasks for leak in leaks]
    rows = ctx.sweep("trainings", bottleneck_case, cases).rows
    by_key = {(r["task"], r["leak"]): r for r in rows}
    least = [min(by_key[t, leaks[-1]]["coi"]) for t in tasks]
    fractions = {key: bottleneck_fraction(row["coi"], predict(INNER)) for key, row in by_key.items()}
    growth = [fractions[t, leaks[-1]] - fractions[t, leaks[0]] for t in tasks]
    separated = [leak for leak in leaks if leak >= SEPARATED]
    outside = {t: [1 - fractions[t, leak] for leak in separated] for t in tasks}
    medians = {key: float(np.median(row["hamiltonian_rank"])) for key, row in by_key.items()}
    slopes = [float(np.polyfit(np.log(separated), np.log(outside[t]), 1)[0]) for t in tasks]
    labels = [{"task": t,
               "share of the depth near the inner dimension per L̃": {leak: round(fractions[t, leak], 3)
                                                                      for leak in leaks},
               "least COI per L̃": {leak: round(min(by_key[t, leak]["coi"]), 3) for leak in leaks},
               "misfit per L̃": {leak: f"{by_key[t, leak]['misfit']:.1e}" for leak in leaks},
               f"log-log slope of the share outside over L̃ >= {SEPARATED:g}": round(slope, 3),
               "median −2H/L̃ per L̃": {leak: round(medians[t, leak], 3) for leak in leaks}}
              for t, slope in zip(tasks, slopes, strict=True)]
    _plot_bottleneck(ctx, leaks, [by_key[tasks[0], leak] for leak in leaks])
    return [
        ctx.compare(f"least γ-COI along the path at L̃ = {leaks[-1]:g} vs the inner dimension",
                    [predict(INNER)] * len(tasks), least, rtol=0.0, atol=0.25,
                    why=f"a soft rank (γ = {COI_GAMMA:g}): Σ s²/(s² + γ) sits just below the number of "
                    "singular values ≫ √γ; 0.25 tells 2 from 1 and 3 with margin", cases=labels),
        ctx.compare(f"growth of the bottleneck: (fraction at L̃ = {leaks[0]:g} − fraction at L̃ = "
                    f"{leaks[-1]:g} + 0.2)₊", [0.0] * len(tasks), [max(0.0, 0.2 - g) for g in growth],
                    rtol=0.0, atol=1e-9,
                    why="the largest L̃ must spend at least a fifth more of its depth within 10 % of "
                    "the inner dimension than the smallest (a clear, not a marginal, separation of "
                    "timescales); the control's wider bottleneck moves that level too",
                    cases=labels),
        ctx.compare(f"log-log slope over L̃ >= {SEPARATED:g} of the share of the depth outside the "
                    "bottleneck vs theory.transit_share_exponent", [float(theory.transit_share_exponent())]
                    * len(tasks), slopes, rtol=0.0, atol=0.35,
                    why=f"shares are multiples of 1/{BOTTLENECK_DEPTH + 1}: the log of the share outside "
                    "(≈ 0.5 at L̃ = 12, ≈ 0.2 at 24) moves by up to 0.06 and 0.15, up to 0.3 on a slope "
                    "over a factor 2 of L̃; a bottleneck of fixed width (slope 0) or one shrinking like "
                    "L̃^(-1/2) is outside", cases=labels),
        ctx.compare(f"median over the layers of −2H/L̃ at L̃ = {leaks[-1]:g} vs the bottleneck rank",
                    [predict(INNER)] * len(tasks), [medians[t, leaks[-1]] for t in tasks], rtol=0.0, atol=0.1,
                    why="H → −(L̃/2)·k* up to O(γ) and finite-L̃ terms (full run: medians 1.50–1.74, "
                    "1.90–1.94, 1.98–1.99 at L̃ = 6, 12, 24); 0.1 tells 2 from 1 and 3", cases=labels),
    ]


def _plot_bottleneck(ctx: Context, leaks: list[float], rows: list[dict]) -> None:
    fig, axes = subplots(1, 3, figsize=(12.5, 3.5))
    for j, (leak, row) in enumerate(zip(leaks, rows, strict=True)):
        p = np.linspace(0, 1, len(row["coi"]))
        axes[0].plot(p, row["coi"], "-", color=f"C{j}", label=f"L̃ = {leak:g}")
        axes[1].plot(p, row["effective_rank"], "-", color=f"C{j}")
        axes[2].plot((p[1:] + p[:-1]) / 2, row["hamiltonian_rank"], "-", color=f"C{j}")
    for ax in (axes[0], axes[2]):
        ax.axhline(INNER, color="grey", ls=":", lw=1)
    axes[0].set(xlabel="depth p", ylabel=f"COI (γ = {COI_GAMMA:g})", title="cost of identity along the path",
                ylim=(0, 8))
    axes[0].legend(fontsize=7)
    axes[1].set(xlabel="depth p", ylabel="(Σs)²/Σs²", title="effective rank along the path")
    axes[2].set(xlabel="depth p", ylabel="−2H/L̃", title="Hamiltonian of each layer", ylim=(0, 3))
    fig.tight_layout()
    ctx.savefig(fig, "profiles", judged=(
        "left, the least γ-COI at the largest L̃ against the inner dimension (dotted; atol 0.25), the share "
        "of depth within 10 % of it growing from the smallest to the largest L̃ (by ≥ 0.2), and the log–log "
        "slope of the share outside (atol 0.35); right, the median −2H/L̃ at the largest L̃ against the "
        "bottleneck rank (dotted; atol 0.1). The effective rank is shown only."))


# ---------------------------------------------------------------------------------------------
# Adaptive layer steps: test error on the paper's regression task (Fig. 2a)
# ---------------------------------------------------------------------------------------------

#: the design, fixed before the judged full run (stop 35): the paper's sizes on full, a pipeline
#: check on quick; the task seeds are drawn under the label "fig2a tasks"
FIG2A = {
    "full": {"points": 1000, "width": 100, "adam_steps": 5000, "sgd_steps": 1000, "depths": [4, 8, 12, 16],
             "tasks": 4},
    "quick": {"points": 200, "width": 40, "adam_steps": 300, "sgd_steps": 100, "depths": [4, 8], "tasks": 2},
}
FIG2A_LEAK, FIG2A_LAM = 3.0, 1e-3  # L̃ = 3 and λ ≈ 1e-3, as in the paper
FIG2A_DIMS = (30, 6, 3, 30)


def fig2a_case(case: dict) -> dict:
    """Sweep case: the teacher of ``task`` (``numerics.leaky.resnet_composition_task``), one Leaky
    ResNet of ``depth`` layers trained with ``schedule`` (Adam, then SGD); train and test errors.
    Runs on the device named by the environment variable RANKCHECK_DEVICE (default the CPU)."""
    data = solvers.resnet_composition_task(case["task"], case["points"], case["points"], FIG2A_DIMS)
    fit = solvers.fit_leaky_regression(
        data.X_train, data.Y_train, data.X_test, data.Y_test, case["depth"], leak=FIG2A_LEAK,
        lam=FIG2A_LAM, width=case["width"], schedule=case["schedule"], adam_steps=case["adam_steps"],
        sgd_steps=case["sgd_steps"], seed=case["task"], device=case_device())
    return {"train": fit.train_error, "test": fit.test_error, "objective": fit.objective,
            "rho": fit.rho.tolist(), "history": fit.history.tolist()}


@claim(
    "leaky.adaptive_steps",
    statement="On the paper's regression task (f* a composition of random ResNets 30 → 6 → 3 → 30, "
    "L̃ = 3, λ = 1e-3, width 100, 1 000 training and 1 000 test points, Adam then SGD), Leaky ResNets "
    "trained with the adaptive layer step-size ρ_ℓ ∝ 1/c_ℓ (updated every 10 steps during training) "
    "reach a lower test error than with equidistant steps at equal depth L: the mean over tasks and "
    "depths of the paired difference adaptive − uniform is below 0. The irregular small–large–small "
    "schedule is reported beside it.",
    source=SOURCE + ", Fig. 2a of the NeurIPS 2024 submission: 'a small but consistent advantage in "
    "the test error when using adaptive or irregular ρ_ℓ'",
    predict=lambda: 1.0,
    broken=lambda: -1.0,
    broken_how="adaptive steps give a higher test error than equidistant ones (the ordering reversed)",
)
def check_adaptive_steps(ctx: Context, predict: Callable[[], float]) -> list:
    design = FIG2A[ctx.profile]
    tasks = ctx.seeds(design["tasks"], label="fig2a tasks")
    cases = [{"task": t, "depth": d, "schedule": s, **{k: design[k] for k in
                                                        ("points", "width", "adam_steps", "sgd_steps")}}
             for t in tasks for d in design["depths"] for s in solvers.SCHEDULES]
    rows = {(c["task"], c["depth"], c["schedule"]): r
            for c, r in zip(cases, ctx.sweep("trainings", fig2a_case, cases).rows, strict=True)}
    pairs = [(t, d) for t in tasks for d in design["depths"]]
    _plot_fig2a(ctx, rows, tasks, design["depths"])
    sign = predict()
    adaptive, unresolved = ordering(
        ctx, "test error, uniform − adaptive, paired by (task, depth)",
        {"adaptive": [sign * (rows[t, d, "uniform"]["test"] - rows[t, d, "adaptive"]["test"])
                      for t, d in pairs]},
        why="the claim is an ordering of mean test errors at equal depth; the 90 % t-band of the mean "
        "paired difference over tasks × depths (pairing removes the task's and the depth's own level)")
    irregular = [rows[t, d, "uniform"]["test"] - rows[t, d, "irregular"]["test"] for t, d in pairs]
    low, high = mean_band(irregular)
    beside = (f"irregular (reported, not judged): uniform − irregular {np.mean(irregular):+.4f} "
              f"[{low:+.4f}, {high:+.4f}]")
    if ctx.profile == "quick":  # see the note: a pipeline check at 400 steps judges nothing
        ctx.inconclusive(
            f"quick is a pipeline check ({len(tasks)} tasks × depths {design['depths']}, "
            f"{design['adam_steps'] + design['sgd_steps']} steps at N = {design['points']}, width "
            f"{design['width']}): it trains all three schedules and computes the bands, and judges "
            f"nothing — trainings this short are not the paper's. Band: {adaptive.worst_case}; {beside}")
    if adaptive.passed and unresolved:
        ctx.inconclusive("the paired difference is not resolved (90 % band across 0): "
                         + "; ".join(unresolved) + "; " + beside)
    return [adaptive]


def _plot_fig2a(ctx: Context, rows: dict, tasks: list[int], depths: list[int]) -> None:
    """Test error against depth per schedule (mean over tasks ± s.e., as the paper's Fig. 2a), and
    the paired differences uniform − schedule per (task, depth)."""
    fig, (left, right) = subplots(1, 2, figsize=(9.5, 3.6))
    for k, schedule in enumerate(solvers.SCHEDULES):
        values = np.array([[rows[t, d, schedule]["test"] for d in depths] for t in tasks])
        sem = values.std(axis=0, ddof=1) / np.sqrt(len(tasks)) if len(tasks) > 1 else 0 * values[0]
        left.errorbar(depths, values.mean(axis=0), yerr=sem, fmt="o-", color=f"C{k}", capsize=3,
                      label=schedule)
        if schedule != "uniform":
            gaps = np.array([[rows[t, d, "uniform"]["test"] - rows[t, d, schedule]["test"] for d in depths]
                             for t in tasks])
            for row in gaps:
                right.plot(depths, row, ".", color=f"C{k}", alpha=0.5)
            right.plot(depths, gaps.mean(axis=0), "-", color=f"C{k}", label=f"uniform − {schedule}")
    right.axhline(0.0, color="grey", lw=0.8)
    left.set(xlabel="layers L", ylabel="test error (mean ± s.e. over tasks)", title="Fig. 2a setting")
    right.set(xlabel="layers L", ylabel="test error difference", title="paired by (task, depth)")
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    fig.tight_layout()
    ctx.savefig(fig, "test_error", judged=(
        "the mean over all (task, depth) pairs of uniform − adaptive test error (right, orange points) by "
        "its 90 % t-band: wholly above 0 passes, wholly below fails, across is inconclusive; the "
        "irregular schedule (green) and the left panel are shown only."))

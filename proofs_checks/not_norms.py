"""The 2×2 completion where every norm grows while the rank falls (note: notes/not_norms.md).

Source: Razin, Cohen, NeurIPS 2020, arXiv 2005.06398. Prediction: ``theory.not_norms`` (the
singular values of the completion as a function of its free entry); measurement:
``numerics.not_norms`` (torch GD and the gradient flow of a depth-L factorization).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import strategies as st

from rankcheck.numerics import not_norms as solvers
from rankcheck.proofs_checks.context import Context
from rankcheck.proofs_checks.figures import subplots
from rankcheck.proofs_checks.registry import claim
from rankcheck.theory import not_norms as theory
from rankcheck.theory.linear_dynamics import escape_time_leading

#: the case functions (module level: sweep workers import them) and constants of the designs;
#: the checks are reached through the registry (``rankcheck show ID``), not imported
__all__ = ["SOURCE", "FITTED", "LR", "NORMS", "completion_case"]

SOURCE = "Razin, Cohen 2020, arXiv 2005.06398, implicit regularization may not be explainable by norms"
FITTED = 1e-2  # loss below which the observations count as fitted (residual <= √(2·1e-2) ≈ 0.14)
LR = 0.01
NORMS = {"nuclear": 1.0, "Frobenius": 2.0, "Schatten-1/2": 0.5}


def completion_case(case: dict) -> dict:
    """Sweep case: GD and gradient flow from one balanced start (depth, scale, seed) up to
    ``horizon``, recorded at 41 times."""
    times = np.linspace(0.0, case["horizon"], 41)
    steps = int(round(case["horizon"] / LR))
    gd = solvers.train_completion(case["depth"], case["scale"], steps, LR, record_every=steps // 40,
                                  seed=case["seed"])
    flow = solvers.completion_flow(case["depth"], case["scale"], times, seed=case["seed"])
    return {name: {"x": run.free_entry.tolist(), "det": run.determinant.tolist(),
                   "s": run.singular_values.tolist(), "loss": run.loss.tolist(),
                   "times": run.times.tolist()}
            for name, run in (("gd", gd), ("flow", flow))}


def _horizon(depth: int, scale: float, after: float) -> float:
    """The plateau at the start, s₀^{−(L−2)/L}/(L − 2) with s₀ = scale^L (the leading-order escape
    time of a unit mode, ``theory.linear_dynamics.escape_time_leading``), plus ``after``."""
    plateau = float(escape_time_leading(scale**depth, 1.0, depth)[0])
    return float(np.ceil(plateau + after))


def _broken_values(free_entry):
    """Planted error: the least-nuclear-norm completion (x = 0, singular values (1, 1)) whatever x."""
    return np.ones((np.atleast_1d(free_entry).size, 2))


def _measures(values: np.ndarray) -> np.ndarray:
    """Columns: the Schatten norms of ``NORMS`` and −(effective rank), all predicted to increase."""
    columns = [solvers.schatten_norm(values, power) for power in NORMS.values()]
    return np.column_stack([*columns, -solvers.effective_rank(values)])


def _plot(ctx: Context, rows: list[dict], cases: list[dict]) -> None:
    fig, axes = subplots(1, 3, figsize=(11, 3.3))
    for k, (row, case) in enumerate(zip(rows, cases, strict=True)):
        run = row["gd"]
        values = np.asarray(run["s"])
        label = f"L = {case['depth']}, scale {case['scale']:.2g}"
        axes[0].plot(run["times"], np.abs(run["x"]), color=f"C{k}", label=label)
        axes[0].plot(row["flow"]["times"], np.abs(row["flow"]["x"]), "k:", lw=1)
        axes[1].plot(run["times"], solvers.schatten_norm(values, 1.0), color=f"C{k}")
        axes[1].plot(run["times"], solvers.schatten_norm(values, 0.5), "--", color=f"C{k}")
        axes[2].plot(run["times"], solvers.effective_rank(values), color=f"C{k}")
    axes[0].set(xlabel="t", ylabel="|W₁₁| (dotted: gradient flow)", title="free entry")
    axes[1].set(xlabel="t", ylabel="norm", yscale="log", title="nuclear (—), Schatten-1/2 (--)")
    axes[2].set(xlabel="t", ylabel="effective rank", title="effective rank")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    ctx.savefig(fig, "trajectories", judged=(
        "GD's singular values against those of the completion at its free entry, each step's sign of the "
        "nuclear, Frobenius and Schatten-1/2 norms (up) and of the effective rank (down), and W₁₁ of GD "
        "against the gradient flow (dotted) once |W₁₁| reaches 1."))


@claim(
    "not_norms.norms_grow",
    seed_label="norms.not_norms",  # its id before the rename: the same seeds
    statement="On the 2×2 completion with W₁₂ = W₂₁ = 1, W₂₂ = 0 observed (every completion has "
    "det = −1), a depth-L factorization (L >= 3 measured) trained from a small balanced start with "
    "det > 0 keeps det > 0, so fitting the observations drives |W₁₁| up: its singular values follow "
    "those of [[x, 1], [1, 0]] (e^{±asinh(|x|/2)}), every Schatten (quasi-)norm increases and the "
    "effective rank decreases.",
    source=SOURCE,
    predict=theory.completion_singular_values,
    broken=_broken_values,
    broken_how="the least-nuclear-norm completion (x = 0, singular values (1, 1)) at every time",
)
def check_not_norms(ctx: Context, predict: Callable[..., np.ndarray]) -> list:
    drawn = ctx.draw(st.tuples(st.sampled_from([3, 4]), st.floats(-1.0, -0.5), st.integers(0, 999)),
                     ctx.pick(quick=2, full=8), label="starts")
    cases = [{"depth": depth, "scale": float(10.0**log_scale), "seed": seed,
              "horizon": _horizon(depth, 10.0**log_scale, ctx.pick(quick=80.0, full=400.0))}
             for depth, log_scale, seed in drawn]
    rows = ctx.sweep("trajectories", completion_case, cases).rows
    _plot(ctx, rows, cases)
    for row, case in zip(rows, cases, strict=True):
        for name in ("gd", "flow"):
            if min(row[name]["det"]) <= 0:
                ctx.inconclusive(f"det changed sign in {name} for {case}: the theorem is about the "
                                 "flow; a float64 or step-size artifact, not a counterexample")
            if row[name]["loss"][-1] > FITTED:
                ctx.inconclusive(f"{name} did not fit the observations by t = {case['horizon']} "
                                 f"(loss {row[name]['loss'][-1]:.2g} > {FITTED}) for {case}")
    fitted = [np.asarray(row["gd"]["loss"]) <= FITTED for row in rows]
    values = ctx.compare(
        "singular values of GD's product vs those of the completion at its free entry",
        [predict(np.asarray(row["gd"]["x"])[mask]) for row, mask in zip(rows, fitted, strict=True)],
        [np.asarray(row["gd"]["s"])[mask] for row, mask in zip(rows, fitted, strict=True)],
        rtol=0.0,
        atol=[(1 + 1e-9) * np.sqrt(2 * np.asarray(row["gd"]["loss"]))[mask][:, None]
              * np.ones((1, 2)) for row, mask in zip(rows, fitted, strict=True)],
        why="Weyl: the product differs from [[x, 1], [1, 0]] only on the observed entries, by a "
        "matrix of Frobenius norm √(2·loss), so each singular value moves by at most that: the "
        "tolerance at each time (exact; 1e-9 relative for round-off)",
        cases=cases,
    )
    trends = ctx.compare(
        "sign of each step of the nuclear, Frobenius, Schatten-1/2 norms and −(effective rank), "
        "GD after the fit",
        [np.sign(np.diff(_measures(predict(np.asarray(row["gd"]["x"])[mask])), axis=0))
         for row, mask in zip(rows, fitted, strict=True)],
        [np.sign(np.diff(_measures(np.asarray(row["gd"]["s"])[mask]), axis=0))
         for row, mask in zip(rows, fitted, strict=True)],
        rtol=0.0,
        atol=0.5,
        why="signs are exact: every measure must move in the predicted direction at every "
        "recorded step",
        cases=cases,
    )
    after_escape = [np.abs(np.asarray(row["flow"]["x"])) >= 1.0 for row in rows]
    training = ctx.compare(
        "free entry W₁₁(t): torch GD (lr 0.01) vs gradient flow, after |W₁₁| reaches 1",
        [np.asarray(row["flow"]["x"])[mask] for row, mask in zip(rows, after_escape, strict=True)],
        [np.asarray(row["gd"]["x"])[mask] for row, mask in zip(rows, after_escape, strict=True)],
        rtol=2e-2,
        why="GD lags the flow by ≈ lr·r/2 of the elapsed time, r ≈ L·y^{2−2/L} ≈ 3–4 the escape "
        "rate, i.e. ≈ 2e-2 relative; observed ≤ 8e-3 (quick), 1.5e-2 (full, t ≈ 450)",
        cases=cases,
    )
    return [values, trends, training]

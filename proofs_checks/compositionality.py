"""Claims on the F1 norm and compositionality (note: notes/compositionality.md).

Source: Jacot, Choi, Wen, arXiv 2407.05664. Prediction: ``theory.compositionality``;
measurement: ``numerics.compositionality``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from hypothesis import strategies as st

from rankcheck.numerics import compositionality as solvers
from rankcheck.proofs_checks.context import Context
from rankcheck.proofs_checks.device import case_device
from rankcheck.proofs_checks.figures import heatmap, subplots
from rankcheck.proofs_checks.registry import claim
from rankcheck.proofs_checks.statistics import band_ordering
from rankcheck.theory import compositionality as theory

#: the case functions (module level: sweep workers import them) and constants of the designs;
#: the checks are reached through the registry (``rankcheck show ID``), not imported
__all__ = ["SOURCE", "RATE_SOURCE", "D_IN", "D_MID", "D_OUT", "LENGTHSCALE", "STAGES", "KERNEL_LAMS", "LEVEL",
           "REGIME", "PAIRS", "scaling_case"]

SOURCE = "Jacot, Choi, Wen 2025, arXiv 2407.05664, F1 norm of shallow networks"
RATE_SOURCE = ("Jacot, Choi, Wen 2025, arXiv 2407.05664 (abstract: phase transitions depending on whether g "
               "or h is harder to learn), rate N^(-min(1/2, nu_g/d_in, nu_h/d_mid)); the experiment of the "
               "authors' code, github.com/shc443/CoveringNumber_GB (data_generation.ipynb, trainNet.py)")


def _network(case: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    width, dim, seed, log_spread = case
    rng = np.random.default_rng(seed)
    spread = np.exp(log_spread * rng.normal(size=width))  # unbalanced neurons
    return (rng.normal(size=width) * spread, rng.normal(size=(width, dim)) / spread[:, None],
            rng.normal(size=width) / spread, rng.normal(size=(32, dim)))


@claim(
    "compositionality.rebalancing",
    seed_label="f1.rebalancing",  # its id before the rename: the same seeds
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
    fig, ax = subplots(figsize=(4.6, 3.4))
    ax.loglog(paths, costs, ".", label="‖θ‖² as drawn")
    ax.loglog(paths, rebalanced, "o", mfc="none", label="‖θ‖² rebalanced")
    line = np.geomspace(min(paths), max(paths), 10)
    ax.loglog(line, 2 * line, "k-", lw=1, label="2 × path cost")
    ax.set(xlabel="path cost Σ|a_i|‖(w_i, b_i)‖", ylabel="‖θ‖²", title="rebalancing")
    ax.legend(fontsize=7)
    ctx.savefig(fig, "costs", judged=(
        "‖θ‖² after rebalancing against 2 × the path cost (rtol 1e-12), and the least ‖θ‖² over rescalings "
        "against the same (rtol 1e-9); the costs as drawn are shown only."))
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


# --------------------------------------------------------------------------- scaling laws
#: The authors' task scaled to 2 cores: f* = h∘g with g: ℝ^6 → ℝ^3 and h: ℝ^3 → ℝ^20 Matérn
#: Gaussian-process samples (theirs: ℝ^15 → ℝ^3 → ℝ^20), length scale 2 in root-mean-square distance
#: (theirs: 1; at 1 the deep network's error is still 20–50 % of the variance at N = 2048 here).
D_IN, D_MID, D_OUT = 6, 3, 20
LENGTHSCALE = 2.0
#: The authors' three stages at a tenth of their weight decays: theirs floor our narrower network's
#: training error at ~20 % of the variance (notes/compositionality.md).
STAGES = tuple((lr, decay / 10) for lr, decay in solvers.AUTHOR_STAGES)
KERNEL_LAMS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2)
LEVEL = 0.9
#: A learning curve starts with a plateau (error ≈ the target's variance) before any power law; a
#: fit uses the N where the deep network's mean relative test error (MSE / variance of f* on the test
#: block) is at most this in every cell it involves, i.e. it explains half the variance.
REGIME = 0.5
#: The (ν_g, ν_h) of ``compositionality.composition_rate``: h harder (ν_h/d_mid = 1/6 < ν_g/d_in = ½)
#: and g harder (ν_g/d_in = 1/6 < ν_h/d_mid = ½).
PAIRS = {"h harder": (3.0, 0.5), "g harder": (1.0, 1.5)}


def _budget(ctx: Context) -> dict:
    """Grid and training budget of a scaling-law sweep for the context's profile."""
    return ctx.pick(
        quick={"ns": [128, 256, 512, 1024], "draws": 2, "width": 32, "epochs": 40, "validation": 256,
               "test": 512},
        full={"ns": [128, 256, 512, 1024, 2048, 4096], "draws": 4, "width": 64, "epochs": 150,
              "validation": 512, "test": 1024})


@lru_cache(maxsize=4)
def _task(nu_g: float, nu_h: float, n_max: int, validation: int, test: int, seed: int
          ) -> solvers.CompositionTask:
    return solvers.composition_task(D_IN, D_MID, D_OUT, nu_g, nu_h, n_max, validation=validation,
                                    test=test, seed=seed, lengthscale=LENGTHSCALE)


def scaling_case(case: dict) -> dict:
    """Sweep case: one learner on the first ``n`` training points of draw ``seed`` of f* = h∘g at
    (``nu_g``, ``nu_h``). Networks are trained once by ``STAGES`` (``epochs`` per stage, on
    ``RANKCHECK_DEVICE``); the kernel keeps the λ of ``KERNEL_LAMS`` with the least validation error.
    Returns the test mean squared error (against the noiseless f*) and the test block's variance."""
    task = _task(case["nu_g"], case["nu_h"], case["n_max"], case["validation"], case["test"], case["seed"])
    X, Y = task.train(case["n"])
    if case["learner"] == "kernel":
        fitted = [solvers.laplace_kernel_ridge(X, Y, lam) for lam in KERNEL_LAMS]
        predict = min(fitted, key=lambda f: solvers.mean_squared_error(f, *task.block("validation")))
    else:
        predict = solvers.train_network(case["learner"], X, Y, width=case["width"], epochs=case["epochs"],
                                        stages=STAGES, seed=case["seed"], device=case_device())
    X_test, Y_test = task.block("test")
    return {"variance": float(np.var(Y_test)), "test": solvers.mean_squared_error(predict, X_test, Y_test)}


def _sweep(ctx: Context, cells: list[tuple[float, float]], learners: list[str], draws: list[int]
           ) -> list[dict]:
    budget = _budget(ctx)
    cases = [{"nu_g": g, "nu_h": h, "learner": learner, "n": n, "seed": seed, "n_max": budget["ns"][-1],
              "validation": budget["validation"], "test": budget["test"], "width": budget["width"],
              "epochs": budget["epochs"]}
             for g, h in cells for seed in draws for learner in learners for n in budget["ns"]]
    return ctx.sweep("trainings", scaling_case, cases).rows


def _mine(rows: list[dict], cell: tuple[float, float], learner: str) -> list[dict]:
    return [r for r in rows if (r["nu_g"], r["nu_h"]) == cell and r["learner"] == learner]


def _window(rows: list[dict], cells: list[tuple[float, float]]) -> list[int]:
    """The N at which the deep network's mean relative error is <= ``REGIME`` in every one of ``cells``
    (the power-law part of their learning curves)."""
    def explained(cell: tuple[float, float], n: int) -> bool:
        deep = [r for r in _mine(rows, cell, "deep") if r["n"] == n]
        return bool(np.mean([r["test"] / r["variance"] for r in deep]) <= REGIME)

    return [n for n in sorted({r["n"] for r in rows}) if all(explained(c, n) for c in cells)]


def _fit(rows: list[dict], cell: tuple[float, float], learner: str, window: list[int]) -> solvers.ScalingFit:
    mine = [r for r in _mine(rows, cell, learner) if r["n"] in window]
    return solvers.scaling_fit([r["n"] for r in mine], [r["test"] for r in mine], [r["seed"] for r in mine],
                               level=LEVEL)


def _paired(rows: list[dict], low: tuple, high: tuple, window: list[int]) -> tuple[float, float, float]:
    """α_high − α_low of two (cell, learner) keys paired by draw and N: the scaling fit of the error
    ratio e_low/e_high (its exponent is the difference), with its band."""
    def errors(key: tuple) -> dict:
        return {(r["seed"], r["n"]): r["test"] for r in _mine(rows, *key) if r["n"] in window}

    a, b = errors(low), errors(high)
    keys = sorted(a.keys() & b.keys())  # a case that failed leaves its pair out
    fit = solvers.scaling_fit([n for _, n in keys], [b[k] / a[k] for k in keys], [s for s, _ in keys],
                              level=LEVEL)
    return fit.alpha, fit.band[0], fit.band[1]


def _at_least(ctx: Context, name: str, predicted: list[float], fits: list, labels: list[dict]):
    """The predicted exponent is a guarantee (an upper bound on the error): measure how far the whole
    band of the fitted exponent lies below it, (predicted − upper end)₊, against 0."""
    return ctx.compare(
        name, [0.0] * len(fits), [max(0.0, p - f.band[1]) for p, f in zip(predicted, fits, strict=True)],
        rtol=0.0, atol=1e-9,
        why="the rate is an upper bound on the error, so only a decay significantly slower than "
        "predicted (the whole 90 % band of the fitted exponent below it: the band is the slack) "
        "contradicts it",
        cases=[{**label, "predicted": p, "alpha": f.alpha, "band": f.band}
               for label, p, f in zip(labels, predicted, fits, strict=True)])


def _exponent(expression) -> Callable[[float, float], float]:
    """(ν_g, ν_h) ↦ a rate expression of ``theory.compositionality`` at this task's dimensions."""
    function = theory.exponent_fn(expression)
    return lambda nu_g, nu_h: float(function(nu_g, D_IN, nu_h, D_MID))


def _composition_prediction(nu_g: float, nu_h: float) -> float:
    return _exponent(theory.composition_exponent())(nu_g, nu_h)


def _plot_curves(ctx: Context, rows: list[dict], fits: dict, predict: Callable[[float, float], float]
                 ) -> None:
    fig, axes = subplots(1, len(PAIRS), figsize=(9.6, 3.8), sharey=True)
    ns = np.array(sorted({r["n"] for r in rows}), dtype=float)
    for ax, (name, cell) in zip(np.atleast_1d(axes), PAIRS.items(), strict=True):
        for k, learner in enumerate(sorted({r["learner"] for r in rows})):
            mine = _mine(rows, cell, learner)
            relative = [r["test"] / r["variance"] for r in mine]
            means = [np.exp(np.mean([np.log(r["test"] / r["variance"]) for r in mine if r["n"] == n]))
                     for n in ns]
            fit = fits.get((cell, learner))
            label = (f"{learner}: α = {fit.alpha:.2f} [{fit.band[0]:.2f}, {fit.band[1]:.2f}]" if fit
                     else learner)
            ax.loglog([r["n"] for r in mine], relative, ".", color=f"C{k}", alpha=0.4)
            ax.loglog(ns, means, "-", color=f"C{k}", label=label)
        top = max(r["test"] / r["variance"] for r in _mine(rows, cell, "deep"))
        ax.loglog(ns, top * (ns / ns[0]) ** -predict(*cell), "k--", lw=1,
                  label=f"predicted slope −{predict(*cell):.3f}")
        ax.set(xlabel="training points N", title=f"{name}: ν_g = {cell[0]:g}, ν_h = {cell[1]:g}")
        ax.set_xticks(ns, [f"{n:g}" for n in ns], minor=False)
        ax.minorticks_off()
        ax.legend(fontsize=6)
    np.atleast_1d(axes)[0].set_ylabel("relative test MSE (geometric mean over draws)")
    ctx.savefig(fig, "curves", judged=(
        "the deep network's fitted exponent α (90 % band) against the predicted slope (dashed) on both "
        "pairs, and, where h is harder, its exponent against the shallow network's and the kernel's "
        "(paired by draw); the curves' heights and the g-harder pair's baselines are not judged."))


@claim(
    "compositionality.composition_rate",
    seed_label="f1.composition_rate",  # its id before the rename
    statement="On f* = h∘g with g: ℝ^6 → ℝ^3 and h: ℝ^3 → ℝ^20 Matérn Gaussian-process samples "
    "(the authors' construction, scaled down), the test error of the deep ReLU network trained by the "
    "authors' staged Adam schedule decays at least as fast as the predicted "
    "N^{−min(½, ν_g/d_in, ν_h/d_mid)} both where h is harder ((ν_g, ν_h) = (3, ½): 1/6) and where g is "
    "harder ((1, 3/2): 1/6); where h is harder its exponent is larger than a shallow network's and "
    "Laplace kernel ridge's, whose predicted rate min(½, min(ν_g, ν_h)/d_in) = 1/12 sees only ℝ^6.",
    source=RATE_SOURCE,
    predict=_composition_prediction,
    broken=lambda nu_g, nu_h: min(0.5, nu_g, nu_h),
    broken_how="the dimensions dropped, as if g and h were functions of one variable: min(½, ν_g, ν_h)",
)
def check_composition_rate(ctx: Context, predict: Callable[[float, float], float]) -> list:
    learners = ctx.pick(quick=["deep", "shallow", "kernel"], full=["deep", "accordion", "shallow", "kernel"])
    draws = ctx.seeds(_budget(ctx)["draws"], label="gp draws")
    rows = _sweep(ctx, list(PAIRS.values()), learners, draws)
    windows = {cell: _window(rows, [cell]) for cell in PAIRS.values()}
    fits = {(cell, learner): _fit(rows, cell, learner, windows[cell])
            for cell in PAIRS.values() for learner in learners if len(windows[cell]) >= 3}
    _plot_curves(ctx, rows, fits, predict)
    short = [f"{name}: the deep network explains half the variance at only {windows[cell]} of the grid"
             for name, cell in PAIRS.items() if len(windows[cell]) < 3]
    if short:
        ctx.inconclusive("the grid does not reach the power-law part of the learning curve: "
                         + "; ".join(short))
    shallow = _exponent(theory.shallow_exponent())
    gaps = {(name, base): _paired(rows, (cell, base), (cell, "deep"), windows[cell])
            for name, cell in PAIRS.items() for base in ("shallow", "kernel")}
    rate = _at_least(
        ctx, "deep network: (predicted exponent − upper end of the fitted band)₊",
        [predict(*cell) for cell in PAIRS.values()], [fits[cell, "deep"] for cell in PAIRS.values()],
        [{"pair": name, "nu_g": cell[0], "nu_h": cell[1], "baseline_predicted": shallow(*cell),
          **{f"deep − {base} (paired)": gaps[name, base] for base in ("shallow", "kernel")}}
         for name, cell in PAIRS.items()])
    # the ordering is a prediction only where the baselines' predicted rate is lower
    judged = {f"{name}, deep − {base}": gaps[name, base] for name, cell in PAIRS.items()
              for base in ("shallow", "kernel") if shallow(*cell) < _composition_prediction(*cell)}
    better, unresolved = band_ordering(
        ctx, "fitted exponent, deep − baseline, where the baselines' predicted rate is lower", judged,
        why="the scaling fit of the error ratio per draw and N (paired: both learners see the same "
        "points), one exponent shared by the draws, Student-t band")
    if rate.passed and better.passed and unresolved:
        ctx.inconclusive("the deep network's exponent is not resolved above a baseline's (90 % band): "
                         + "; ".join(unresolved))
    return [rate, better]


def _steps(nus_g: list[float], nus_h: list[float]) -> list[tuple[str, tuple, tuple]]:
    """The neighbouring cells of the grid: (axis, low cell, high cell) along ν_h, then along ν_g."""
    along_h = [("nu_h", (g, a), (g, b)) for g in nus_g for a, b in itertools.pairwise(nus_h)]
    along_g = [("nu_g", (a, h), (b, h)) for h in nus_h for a, b in itertools.pairwise(nus_g)]
    return along_h + along_g


def _plot_phases(ctx: Context, nus_g: list[float], nus_h: list[float], fits: dict,
                 predict: Callable[[float, float], float]) -> None:
    fig, ax = subplots(figsize=(5.6, 4.2))
    values = np.array([[fits[g, h].alpha if (g, h) in fits else np.nan for g in nus_g] for h in nus_h])
    heatmap(ax, nus_g, nus_h, values, colorbar_label="fitted exponent α, deep network")
    line = np.linspace(nus_g[0] - 0.5, nus_g[-1] + 0.5, 50)
    kink = _exponent(theory.kink())  # ν_h* = d_mid·min(½, ν_g/d_in): h is harder below it
    ax.plot(line, [kink(g, 0.0) for g in line], "r--", lw=1.2,
            label="predicted boundary ν_h/d_mid = ν_g/d_in")
    for g in nus_g:
        for h in nus_h:
            if (g, h) in fits:
                band = fits[g, h].band
                text = f"{fits[g, h].alpha:.2f}\n[{band[0]:.2f}, {band[1]:.2f}]\npred. {predict(g, h):.2f}"
                ax.text(g, h, text, ha="center", va="center", fontsize=6,
                        bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none"})
    step_g, step_h = (np.diff(nus_g).min() / 2, np.diff(nus_h).min() / 2)
    ax.set(xlim=(nus_g[0] - step_g, nus_g[-1] + step_g), ylim=(nus_h[0] - step_h, nus_h[-1] + step_h),
           xlabel="smoothness ν_g of g (d_in = 6)", ylabel="smoothness ν_h of h (d_mid = 3)",
           title="f* = h∘g: phase diagram of the error exponent", xticks=nus_g, yticks=nus_h)
    ax.legend(fontsize=7, loc="lower right")
    ctx.savefig(fig, "phases", judged=(
        "the increment of the fitted exponent between neighbouring cells (paired by draw), against half "
        "the increment the varied part would allow: above it where the prediction has that part "
        "limiting (the side of the dashed boundary), below it where the other part limits; the cells' "
        "own values are shown only."))


@claim(
    "compositionality.phase_transition",
    seed_label="f1.phase_transition",  # its id before the rename
    statement="Over a grid of (ν_g, ν_h) on f* = h∘g (g: ℝ^6 → ℝ^3, h: ℝ^3 → ℝ^20 Matérn "
    "Gaussian-process samples), the deep network's fitted error exponent tracks the harder part, as "
    "min(½, ν_g/d_in, ν_h/d_mid) predicts: raising ν_h raises it where h is harder (ν_h/d_mid < "
    "ν_g/d_in) and barely moves it where g is harder, and conversely for ν_g — a step moves the "
    "exponent by more than half of ν's increment over d when the varied part is the limiting one, "
    "by less otherwise.",
    source=RATE_SOURCE,
    predict=_composition_prediction,
    broken=lambda nu_g, nu_h: min(0.5, nu_h / D_MID),
    broken_how="g never limits (the rate of a smooth g, ν_g = ∞): min(½, ν_h/d_mid)",
)
def check_phase_transition(ctx: Context, predict: Callable[[float, float], float]) -> list:
    nus_g = ctx.pick(quick=[1.0, 3.0], full=[1.0, 2.0, 3.0])
    nus_h = ctx.pick(quick=[0.5, 1.5], full=[0.5, 1.0, 1.5])
    draws = ctx.seeds(_budget(ctx)["draws"], label="gp draws")
    cells = [(g, h) for g in nus_g for h in nus_h]
    rows = _sweep(ctx, cells, ["deep"], draws)
    windows = {cell: _window(rows, [cell]) for cell in cells}
    fits = {cell: _fit(rows, cell, "deep", windows[cell]) for cell in cells if len(windows[cell]) >= 3}
    _plot_phases(ctx, nus_g, nus_h, fits, predict)
    g_term, h_term = (_exponent(term) for term in theory.part_exponents())
    margins, short = {}, []
    for axis, low, high in _steps(nus_g, nus_h):
        window = _window(rows, [low, high])
        if len(window) < 3:
            short.append(f"{low} → {high}: the power law covers only N = {window}")
            continue
        term = h_term if axis == "nu_h" else g_term
        full_move = term(*high) - term(*low)
        moves = predict(*high) - predict(*low) >= full_move / 2
        mid, lo, hi = _paired(rows, (low, "deep"), (high, "deep"), window)
        margins[f"{low} → {high}, {'moves' if moves else 'still'} (threshold {full_move / 2:.3f})"] = (
            (mid - full_move / 2, lo - full_move / 2, hi - full_move / 2) if moves else
            (full_move / 2 - mid, full_move / 2 - hi, full_move / 2 - lo))
    if not margins:
        ctx.inconclusive("no step of the grid reaches the power-law part of the learning curves: "
                         + "; ".join(short))
    tracks, unresolved = band_ordering(
        ctx, "increment of the deep network's exponent between neighbouring cells, on the predicted side "
        "of half the varied part's own increment (moves: above; still: below)", margins,
        why="the increment is the scaling fit of the error ratio of the two cells per draw and N "
        "(paired: a draw's points and Gaussian variables are the same in every cell); half the full "
        "move separates 'moves' from 'barely moves' whatever the measured exponents' scale")
    if tracks.passed and (unresolved or short):
        ctx.inconclusive("the increment is not resolved on its side of the threshold (90 % band) or "
                         "not fitted: " + "; ".join(unresolved + short))
    return [tracks]

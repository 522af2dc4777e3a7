"""Deep linear networks: numeric reference solvers, independent of any closed form.

* ``min_norm_factorization`` / ``representation_cost``: min Σ_ℓ ‖W_ℓ‖_F² subject to
  W_L ⋯ W_1 = A, solved by an augmented Lagrangian method with L-BFGS inner solves and random
  restarts (the problem is non-convex for L ≥ 2).
* ``regularized_singular_values``: global minimizers of ½(s − y)² + λ·L·s^{2/L} by a dense grid
  and bounded Brent refinement.
* ``train_dln``: full-batch gradient descent in torch on ½‖A_θ − Y‖_F² + λ‖θ‖².

Source of the problems: Jacot et al., arXiv 2106.15933.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from scipy import optimize
from threadpoolctl import threadpool_limits

from rankcheck.errors import NotConvergedError
from rankcheck.validation import as_matrix, as_seed, as_vector, nonnegative_float, positive_int

__all__ = [
    "Factorization", "chain_product", "unpack_weights", "product_gradients",
    "semi_orthogonal", "min_norm_factorization", "representation_cost", "global_minimizer_on_interval",
    "regularized_singular_values", "Training", "train_dln"
]

Matrix = NDArray[np.float64]


@dataclass(frozen=True)
class Factorization:
    """A depth-L factorization W_L ⋯ W_1 ≈ A found by ``min_norm_factorization``.

    Attributes
    ----------
    weights : list of ndarray
        [W_1 (w, n), W_2 (w, w), …, W_L (m, w)], first layer first.
    cost : float
        Σ_ℓ ‖W_ℓ‖_F².
    residual : float
        ‖W_L⋯W_1 − A‖_F.
    restart_costs : list of float
        The cost reached by each restart that met the residual tolerance.
    """

    weights: list[Matrix]
    cost: float
    residual: float
    restart_costs: list[float] = field(default_factory=list)


def chain_product(weights: list) -> Any:
    """The product W_L ⋯ W_1 of weights listed from the first layer.

    Parameters
    ----------
    weights : list of ndarray or torch.Tensor
        [W_1, …, W_L] with compatible shapes (only ``@`` is used).

    Returns
    -------
    ndarray or torch.Tensor, shape (rows of W_L, cols of W_1)
    """
    product = weights[0]
    for weight in weights[1:]:
        product = weight @ product
    return product


def unpack_weights(theta: NDArray[np.float64], shapes: list[tuple[int, int]]) -> list[Matrix]:
    """Split a flat parameter vector into matrices of the given shapes, first layer first.

    Parameters
    ----------
    theta : ndarray, shape (Σ rows·cols,)
    shapes : list of (int, int)

    Returns
    -------
    list of ndarray
        Views into ``theta``.
    """
    sizes = np.cumsum([0] + [rows * cols for rows, cols in shapes])
    return [theta[sizes[k] : sizes[k + 1]].reshape(shape) for k, shape in enumerate(shapes)]


def product_gradients(weights: list[Matrix], outer: Matrix) -> list[Matrix]:
    """∂⟨G, W_L⋯W_1⟩/∂W_ℓ = (W_L⋯W_{ℓ+1})ᵀ G (W_{ℓ−1}⋯W_1)ᵀ for every layer ℓ.

    Parameters
    ----------
    weights : list of ndarray
        [W_1, …, W_L], first layer first.
    outer : ndarray, shape (m, n)
        G, the gradient with respect to the product.

    Returns
    -------
    list of ndarray
        One gradient per layer, of that layer's shape.
    """
    prefixes = [np.eye(weights[0].shape[1])]  # prefixes[ℓ] = W_ℓ ⋯ W_1
    for weight in weights[:-1]:
        prefixes.append(weight @ prefixes[-1])
    grads: list[Matrix] = [np.empty(0)] * len(weights)
    back = outer  # (W_L ⋯ W_{ℓ+1})ᵀ G
    for ell in range(len(weights) - 1, -1, -1):
        grads[ell] = back @ prefixes[ell].T
        back = weights[ell].T @ back
    return grads


def _augmented_lagrangian(
    theta: NDArray[np.float64],
    shapes: list[tuple[int, int]],
    target: Matrix,
    multiplier: Matrix,
    penalty: float,
) -> tuple[float, NDArray[np.float64]]:
    """φ = Σ‖W_ℓ‖² + ⟨Λ, E⟩ + (μ/2)‖E‖², E = W_L⋯W_1 − A, and its gradient."""
    weights = unpack_weights(theta, shapes)
    error = chain_product(weights) - target
    value = float(theta @ theta + np.sum(multiplier * error) + 0.5 * penalty * np.sum(error**2))
    grads = product_gradients(weights, multiplier + penalty * error)
    gradient = 2.0 * theta + np.concatenate([g.ravel() for g in grads])
    return value, gradient


def semi_orthogonal(rows: int, cols: int, rng: np.random.Generator) -> Matrix:
    """A random matrix with orthonormal columns (rows >= cols) or orthonormal rows (otherwise).

    Parameters
    ----------
    rows, cols : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (rows, cols)
    """
    gaussian = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r_factor = np.linalg.qr(gaussian)
    q = q * np.sign(np.diag(r_factor))  # Haar-distributed
    return q if rows >= cols else q.T


def _solve_once(
    target: Matrix,
    shapes: list[tuple[int, int]],
    rng: np.random.Generator,
    tol: float,
    max_outer: int,
) -> Factorization | None:
    """One augmented-Lagrangian run from a random start; None if the residual stays above tol."""
    depth = len(shapes)
    scale = np.linalg.norm(target, 2) ** (1.0 / depth)
    # Semi-orthogonal factors: a product of L Gaussian matrices has exponentially spread singular
    # values, and the tiny ones start next to the trapping saddle at 0.
    theta = np.concatenate([scale * semi_orthogonal(rows, cols, rng).ravel() for rows, cols in shapes])
    multiplier = np.zeros_like(target)
    # A small penalty acts like weight decay 1/μ, which for L >= 3 traps small singular values at
    # the strict local minimum 0 (see ``regularized_singular_values``): the threshold is about
    # √(2L/μ) in units of s_max, so μ starts at 1e6·L (threshold ≈ 1e-3·s_max).
    penalty, residual = 1e6 * depth / scale ** (2 * depth - 2), np.inf
    target_norm = max(1.0, float(np.linalg.norm(target)))
    previous_cost = np.inf
    for _ in range(max_outer):
        if penalty > 1e14 / scale ** (2 * depth - 2):
            break
        result = optimize.minimize(
            _augmented_lagrangian,
            theta,
            args=(shapes, target, multiplier, penalty),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": 5000, "gtol": 1e-12, "ftol": 1e-15},
        )
        theta = result.x
        error = chain_product(unpack_weights(theta, shapes)) - target
        new_residual = float(np.linalg.norm(error))
        multiplier = multiplier + penalty * error
        cost = float(theta @ theta)
        if new_residual <= tol * target_norm and abs(cost - previous_cost) <= tol * max(1.0, cost):
            return Factorization(unpack_weights(theta, shapes), cost, new_residual)
        if new_residual > 0.25 * residual:
            penalty = penalty * 4.0
        residual, previous_cost = new_residual, cost
    return None


def min_norm_factorization(
    A: ArrayLike,
    depth: int,
    *,
    width: int | None = None,
    restarts: int = 4,
    seed: int = 0,
    tol: float = 1e-9,
    max_outer: int = 60,
) -> Factorization:
    """Least Σ_ℓ ‖W_ℓ‖_F² over W_1 (w, n), W_2…W_{L−1} (w, w), W_L (m, w) with W_L⋯W_1 = A.

    Augmented Lagrangian in the weights (multiplier Λ ∈ ℝ^{m×n}, penalty μ raised while the
    constraint residual stalls), each subproblem solved by L-BFGS with the exact gradient; the best of
    ``restarts`` random starts is returned. The minimum is the representation cost
    R(A; L) = L·Σ_i s_i(A)^{2/L} (Jacot et al., arXiv 2106.15933), which this solver does not use.

    Parameters
    ----------
    A : array_like, shape (m, n)
        Finite target matrix.
    depth : int
        L >= 1.
    width : int, optional
        Hidden width w (default max(m, n) + 1); the minimum is the same for every w >= rank A. The
        spare unit matters: at w = n a square factorization cannot change the sign of its
        determinant without crossing the trapping saddle at a singular product.
    restarts : int, default 4
        Random starts (the best is kept).
    seed : int, default 0
    tol : float, default 1e-9
        Bounds both the relative residual ‖W_L⋯W_1 − A‖_F / max(1, ‖A‖_F) and the relative change
        of the cost between outer steps.
    max_outer : int, default 60
        Outer (multiplier) steps per restart.

    Returns
    -------
    Factorization

    Raises
    ------
    ValueError
        Naming the argument: a non-finite or non-2-D ``A``, ``depth``, ``width`` or ``restarts`` < 1.
    NotConvergedError
        When no restart met ``tol``.
    """
    target = as_matrix(A, "A")
    depth = positive_int(depth, "depth")
    restarts = positive_int(restarts, "restarts")
    rows, cols = target.shape
    width = positive_int(width if width is not None else max(rows, cols) + 1, "width")
    if depth == 1:
        return Factorization([target.copy()], float(np.sum(target**2)), 0.0, [])
    shapes = [(width, cols)] + [(width, width)] * (depth - 2) + [(rows, width)]
    if not np.any(target):
        zeros = [np.zeros(shape) for shape in shapes]
        return Factorization(zeros, 0.0, 0.0, [0.0])
    rng = np.random.default_rng(as_seed(seed))
    # One BLAS thread: on matrices this small, threads only add synchronization (4× slower on
    # 2 cores, 40× when another process holds a core).
    with threadpool_limits(limits=1, user_api="blas"):
        found = [_solve_once(target, shapes, rng, tol, max_outer) for _ in range(restarts)]
    found = [f for f in found if f is not None]
    if not found:
        raise NotConvergedError(
            f"min_norm_factorization: no restart of {restarts} reached residual tol {tol:g} "
            f"(A shape {target.shape}, depth {depth})"
        )
    best = min(found, key=lambda f: f.cost)
    return Factorization(best.weights, best.cost, best.residual, [f.cost for f in found])


def representation_cost(A: ArrayLike, depth: int, **options: object) -> float:
    """R(A; L) = min{Σ‖W_ℓ‖_F² : W_L⋯W_1 = A}, computed by ``min_norm_factorization``.

    Parameters
    ----------
    A : array_like, shape (m, n)
    depth : int
        L >= 1.
    **options
        Passed to ``min_norm_factorization`` (``width``, ``restarts``, ``seed``, ``tol``, …).

    Returns
    -------
    float

    Raises
    ------
    ValueError, NotConvergedError
        As ``min_norm_factorization``.
    """
    return min_norm_factorization(A, depth, **options).cost  # type: ignore[arg-type]


# --------------------------------------------------------------------------- regularized scalar
def global_minimizer_on_interval(
    objective: Callable[[float], float], upper: float, *, power: int = 1, grid: int = 4001
) -> float:
    """Global minimizer of a scalar function on [0, upper], 0 kept on ties.

    A grid uniform in s^{1/power} (``power`` > 1 resolves a cusp at 0 like that of s^{2/L}) locates
    the best basin, bounded Brent refines it, and s = 0 wins unless strictly beaten. Accuracy: about
    √eps·|s| ≈ 1.5e-8·|s| (a minimum located from function values alone cannot be resolved more
    finely, since f(s* + δ) − f(s*) = O(δ²)).

    Parameters
    ----------
    objective : callable float -> float
    upper : float
        >= 0.
    power : int, default 1
    grid : int, default 4001
        Grid points.

    Returns
    -------
    float
    """
    points = upper * np.linspace(0.0, 1.0, grid) ** power
    values = np.array([objective(float(p)) for p in points])
    best = int(np.argmin(values))
    low, high = points[max(best - 1, 0)], points[min(best + 1, grid - 1)]
    refined = optimize.minimize_scalar(
        objective, bounds=(low, high), method="bounded", options={"xatol": 1e-13}
    )
    return float(refined.x) if refined.fun < objective(0.0) else 0.0


def regularized_singular_values(
    target_singular_values: ArrayLike, depth: int, lam: float
) -> NDArray[np.float64]:
    """Global minimizers of f(s) = ½(s − y)² + λ·L·s^{2/L} over s >= 0, one per target value y.

    The minimizer lies in [0, y] (f increases beyond y); found by ``global_minimizer_on_interval``.
    These are the singular values of the global minimizer of ½‖A_θ − Y‖² + λ‖θ‖² for a target Y with
    singular values y.

    Parameters
    ----------
    target_singular_values : array_like, shape (k,)
        y >= 0.
    depth : int
        L >= 1.
    lam : float
        λ >= 0.

    Returns
    -------
    ndarray, shape (k,)

    Raises
    ------
    ValueError
        Naming the argument: a negative or non-finite y, ``depth`` < 1, a negative λ.
    """
    depth = positive_int(depth, "depth")
    lam = nonnegative_float(lam, "lam")
    targets = as_vector(target_singular_values, "target_singular_values", nonnegative=True)

    def objective(value: float, target: float) -> float:
        return 0.5 * (value - target) ** 2 + lam * depth * value ** (2.0 / depth)

    return np.array(
        [
            global_minimizer_on_interval(partial(objective, target=t), t, power=depth)
            for t in targets
        ]
    )


# --------------------------------------------------------------------------- torch training
@dataclass(frozen=True)
class Training:
    """Outcome of ``train_dln``.

    Attributes
    ----------
    weights : list of ndarray
        Final weights, first layer first.
    product : ndarray, shape (m, n)
    singular_values : ndarray, shape (min(m, n),)
        Of the product, descending.
    losses : ndarray, shape (steps,)
        The loss per step.
    grad_norm : float
        The final gradient norm.
    converged : bool
        Whether it met ``grad_tol``.
    steps : int
    """

    weights: list[Matrix]
    product: Matrix
    singular_values: NDArray[np.float64]
    losses: NDArray[np.float64]
    grad_norm: float
    converged: bool
    steps: int


def train_dln(
    target: ArrayLike,
    depth: int,
    lam: float,
    *,
    width: int | None = None,
    lr: float | None = None,
    max_steps: int = 50_000,
    grad_tol: float = 1e-10,
    seed: int = 0,
) -> Training:
    """Full-batch gradient descent on ½‖W_L⋯W_1 − Y‖_F² + λ·Σ‖W_ℓ‖_F² in float64.

    The L2 term goes through ``torch.optim.SGD(weight_decay=2·lam)``: torch adds wd·W to the gradient,
    the gradient of (wd/2)‖W‖², so wd = 2λ. Weights start at random orthogonal-like matrices scaled so
    that the product has the target's scale (away from the saddle at 0). Stops when the gradient norm
    falls below ``grad_tol`` or after ``max_steps``.

    Parameters
    ----------
    target : array_like, shape (m, n)
        Y.
    depth : int
        L >= 1.
    lam : float
        λ >= 0.
    width : int, optional
        Default max(m, n).
    lr : float, optional
        Default 0.5 / (L·y_max^{2−2/L} + 2λ), below the stability limit of the top mode.
    max_steps : int, default 50 000
    grad_tol : float, default 1e-10
    seed : int, default 0

    Returns
    -------
    Training

    Raises
    ------
    ValueError
        Naming the argument: a non-finite target, ``depth``, ``width`` or ``max_steps`` < 1, a
        non-positive ``lr``, a negative λ.
    NotConvergedError
        At the step where the loss or the gradient becomes non-finite (a step size too large).
    """
    goal = as_matrix(target, "target")
    depth = positive_int(depth, "depth")
    lam = nonnegative_float(lam, "lam")
    rows, cols = goal.shape
    width = positive_int(width if width is not None else max(rows, cols), "width")
    top = float(np.linalg.norm(goal, 2))
    if lr is None:
        lr = 0.5 / (depth * max(top, 1e-12) ** (2.0 - 2.0 / depth) + 2.0 * lam)
    lr = nonnegative_float(lr, "lr", positive=True)
    max_steps = positive_int(max_steps, "max_steps")

    generator = torch.Generator().manual_seed(as_seed(seed))
    dims = [cols] + [width] * (depth - 1) + [rows]
    scale = max(top, 1e-3) ** (1.0 / depth)
    weights = [
        torch.nn.Parameter(
            scale * torch.randn(dims[k + 1], dims[k], generator=generator, dtype=torch.float64)
            / np.sqrt(dims[k])
        )
        for k in range(depth)
    ]
    goal_t = torch.as_tensor(goal)
    optimizer = torch.optim.SGD(weights, lr=lr, weight_decay=2.0 * lam)
    losses = []
    grad_norm = np.inf
    step = 0
    for step in range(1, max_steps + 1):
        optimizer.zero_grad()
        product = chain_product(weights)  # (rows, cols)
        fit = 0.5 * torch.sum((product - goal_t) ** 2)
        fit.backward()
        with torch.no_grad():
            penalty = sum(torch.sum(w**2) for w in weights)
            losses.append(float(fit) + lam * float(penalty))
            grad_norm = float(
                torch.sqrt(sum(torch.sum((w.grad + 2.0 * lam * w) ** 2) for w in weights))
            )
        if not np.isfinite(losses[-1] + grad_norm):
            raise NotConvergedError(f"train_dln diverged at step {step} (loss {losses[-1]:.3g}): "
                                    f"lr = {lr:.3g} is above the stability limit; lower it")
        if grad_norm < grad_tol:
            break
        optimizer.step()
    final = [w.detach().numpy().copy() for w in weights]
    product_np = chain_product(final)
    return Training(
        weights=final,
        product=product_np,
        singular_values=np.linalg.svd(product_np, compute_uv=False),
        losses=np.asarray(losses),
        grad_norm=grad_norm,
        converged=grad_norm < grad_tol,
        steps=step,
    )

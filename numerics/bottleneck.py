"""Deep bias-free ReLU MLPs trained with weight decay, full batch in float64 on CPU (torch).

Source: Jacot, arXiv 2209.15055 and 2305.19008. ``train_mlp`` minimizes
½‖f_θ(X) − Y‖_F² + λ‖θ‖² with f_θ(X) = W_L σ(W_{L−1} ⋯ σ(W_1 X + b_1) ⋯ + b_{L−1}) + b_L and
‖θ‖² = Σ_ℓ ‖W_ℓ‖_F² + ‖b_ℓ‖² (biases only when asked for), by L-BFGS (strong Wolfe line search)
to a stationary point, and returns what the rank notions are measured on: the outputs, ‖θ‖², the
weights and biases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from rankcheck.numerics.optim import minimize_to_stationarity
from rankcheck.validation import as_finite, as_matrix, as_seed, as_vector, nonnegative_float, positive_int

__all__ = [
    "MLPFit", "relu_mlp", "train_mlp", "shallow_target", "shallow_weights", "jacobians",
    "numerical_ranks", "log_pseudo_determinants", "depth_fit", "hidden_representations"
]


@dataclass(frozen=True)
class MLPFit:
    """Outcome of ``train_mlp``.

    Attributes
    ----------
    weights : list of ndarray
        W_ℓ of shape (d_ℓ, d_{ℓ−1}), first layer first.
    biases : list of ndarray
        b_ℓ of shape (d_ℓ,) (empty for a bias-free network).
    outputs : ndarray, shape (m, N)
        f_θ(X).
    norm_sq : float
        ‖θ‖².
    objective : float
        ½‖f_θ(X) − Y‖² + λ‖θ‖².
    gradient : float
        The largest entry of the objective's gradient at the end (stationarity).
    """

    weights: list[NDArray[np.float64]]
    biases: list[NDArray[np.float64]]
    outputs: NDArray[np.float64]
    norm_sq: float
    objective: float
    gradient: float


def relu_mlp(X: torch.Tensor, weights: list[torch.Tensor], biases: list[torch.Tensor] | None = None
             ) -> torch.Tensor:
    """f_θ(X) = W_L σ(W_{L−1} ⋯ σ(W_1 X + b_1) ⋯) + b_L, σ = ReLU.

    Parameters
    ----------
    X : torch.Tensor, shape (d, N)
        One point per column.
    weights : list of torch.Tensor
        W_ℓ of shape (d_ℓ, d_{ℓ−1}).
    biases : list of torch.Tensor, optional
        b_ℓ of shape (d_ℓ,); none when None or empty.

    Returns
    -------
    torch.Tensor, shape (m, N)
    """
    shifts = biases if biases else [0.0] * len(weights)
    hidden = X
    for weight, shift in zip(weights[:-1], shifts[:-1], strict=True):
        hidden = torch.relu(weight @ hidden + _column(shift))
    return weights[-1] @ hidden + _column(shifts[-1])


def _column(shift: torch.Tensor | float) -> torch.Tensor | float:
    """A bias vector as a column (broadcast over the points); a scalar as it is."""
    return shift[:, None] if isinstance(shift, torch.Tensor) else shift


def train_mlp(X: ArrayLike, Y: ArrayLike, depth: int, width: int, lam: float, seed: int = 0,
              rounds: int = 20, gradient_tol: float = 1e-6, *, bias: bool = False,
              plateau_rtol: float | None = None) -> MLPFit:
    """Train a bias-free (or biased) ReLU MLP with weight decay to a stationary point by L-BFGS.

    Objective ½‖f_θ(X) − Y‖² + λ‖θ‖², from He initialization (biases N(0, 0.01) when ``bias``).
    L-BFGS rounds of 500 iterations until the objective's gradient is below ``gradient_tol``
    entrywise — or, with ``plateau_rtol``, until a round lowers the objective by less than that
    fraction (see ``rankcheck.numerics.optim.minimize_to_stationarity``).

    Parameters
    ----------
    X : array_like, shape (d, N)
        Inputs, one point per column.
    Y : array_like, shape (m, N)
    depth : int
        Weight matrices, >= 1.
    width : int
        Hidden width, >= 1.
    lam : float
        λ >= 0.
    seed : int, default 0
    rounds : int, default 20
    gradient_tol : float, default 1e-6
    bias : bool, default False
    plateau_rtol : float, optional

    Returns
    -------
    MLPFit

    Raises
    ------
    ValueError
        Naming the argument: non-finite data, X and Y with different numbers of columns, a
        non-positive size, a negative λ.
    NotConvergedError
        When ``rounds`` do not reach the stopping rule.
    """
    X, Y = as_matrix(X, "X"), as_matrix(Y, "Y")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must have the same number of columns (points), got {X.shape} and "
                         f"{Y.shape}")
    depth, width = positive_int(depth, "depth"), positive_int(width, "width")
    lam = nonnegative_float(lam, "lam")
    generator = torch.Generator().manual_seed(as_seed(seed))
    dims = [X.shape[0]] + [width] * (depth - 1) + [Y.shape[0]]
    weights = [torch.randn(dims[k + 1], dims[k], generator=generator, dtype=torch.float64)
               * np.sqrt(2.0 / dims[k]) for k in range(depth)]
    biases = [0.1 * torch.randn(dims[k + 1], generator=generator, dtype=torch.float64)
              for k in range(depth)] if bias else []
    parameters = [p.requires_grad_(True) for p in weights + biases]
    inputs, targets = torch.from_numpy(X), torch.from_numpy(Y)

    def objective() -> torch.Tensor:
        misfit = ((relu_mlp(inputs, weights, biases) - targets) ** 2).sum()
        return 0.5 * misfit + lam * sum((p**2).sum() for p in parameters)

    gradient = minimize_to_stationarity(objective, parameters, rounds, gradient_tol, "train_mlp",
                                        plateau_rtol=plateau_rtol)
    with torch.no_grad():
        return MLPFit([w.detach().numpy().copy() for w in weights],
                      [b.detach().numpy().copy() for b in biases], relu_mlp(inputs, weights, biases).numpy(),
                      float(sum((p**2).sum() for p in parameters)), float(objective()), gradient)



def shallow_target(X: ArrayLike, rank: int, outputs: int, seed: int = 0) -> NDArray[np.float64]:
    """A target of known rank: Y = A·relu(B X), scaled to a root-mean-square output norm of 1.

    B (``rank``, d) and A (``outputs``, ``rank``) are Gaussian (seeded): a function of Bottleneck
    rank <= ``rank`` (g = B·, h = A relu(·)) and of Jacobian rank ``rank`` wherever the ``rank``
    units are active, so R⁽⁰⁾ = ``rank`` (Rank_J <= R⁽⁰⁾ <= Rank_BN; Jacot, arXiv 2209.15055).

    Parameters
    ----------
    X : array_like, shape (d, N)
    rank : int
    outputs : int
    seed : int, default 0

    Returns
    -------
    ndarray, shape (outputs, N)

    Raises
    ------
    ValueError
        Naming the argument: a non-finite X, a non-positive ``rank`` or ``outputs``, an X on which
        the target vanishes.
    """
    points = as_matrix(X, "X")
    B, A = shallow_weights(points.shape[0], rank, outputs, seed)
    Y = A @ np.maximum(B @ points, 0.0)
    if not np.any(Y):
        raise ValueError("X: no point activates any of the target's hidden units (the target is 0 on X "
                         "and cannot be scaled to a root-mean-square norm of 1)")
    return Y * np.sqrt(points.shape[1]) / np.linalg.norm(Y)


def shallow_weights(inputs: int, rank: int, outputs: int, seed: int = 0
                    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The weights B and A of ``shallow_target`` (the same seeded draws, before the output scaling).

    ``jacobians([B, A], X)`` gives the target's Jacobian A·diag(1[Bx > 0])·B, up to that scale.

    Parameters
    ----------
    inputs : int
        d.
    rank : int
    outputs : int
    seed : int, default 0

    Returns
    -------
    B : ndarray, shape (rank, inputs)
    A : ndarray, shape (outputs, rank)
    """
    k, m = positive_int(rank, "rank"), positive_int(outputs, "outputs")
    rng = np.random.default_rng(as_seed(seed))
    return rng.normal(size=(k, positive_int(inputs, "inputs"))), rng.normal(size=(m, k))


def jacobians(weights: list[ArrayLike], X: ArrayLike, biases: list[ArrayLike] | None = None
              ) -> NDArray[np.float64]:
    """The Jacobians Jf(x_i) = W_L D_{L−1} W_{L−1} ⋯ D_1 W_1 of a ReLU MLP at every point.

    D_ℓ = diag(1[ℓ-th pre-activation > 0]).

    Parameters
    ----------
    weights : list of array_like
        W_ℓ of shape (d_ℓ, d_{ℓ−1}).
    X : array_like, shape (d, N)
    biases : list of array_like, optional

    Returns
    -------
    ndarray, shape (N, m, d)

    Raises
    ------
    ValueError
        When X does not have d rows.
    """
    if not isinstance(weights, (list, tuple)) or not weights:
        raise ValueError("weights must be a non-empty list of weight matrices, first layer first")
    mats = [as_matrix(W, f"weights[{k}]") for k, W in enumerate(weights)]
    shifts = _shifts(biases, mats)
    points = as_matrix(X, "X")
    if mats[0].shape[1] != points.shape[0]:
        raise ValueError(f"X must have {mats[0].shape[1]} rows, got {points.shape[0]}")
    jac = np.broadcast_to(mats[0], (points.shape[1], *mats[0].shape)).copy()  # (N, d_1, d)
    hidden = mats[0] @ points + shifts[0]
    for W, shift in zip(mats[1:], shifts[1:], strict=True):
        active = (hidden > 0).T.astype(float)  # (N, d_ℓ)
        jac = np.einsum("ij,nj,njk->nik", W, active, jac)
        hidden = W @ np.maximum(hidden, 0.0) + shift
    return jac


def _shifts(biases: list[ArrayLike] | None, mats: list[NDArray[np.float64]]) -> list[NDArray[np.float64]]:
    """Biases as columns (d_ℓ, 1), zeros when there are none; checked against the weights' rows."""
    if not biases:
        return [np.zeros((W.shape[0], 1)) for W in mats]
    shifts = [as_vector(b, "biases[i]")[:, None] for b in biases]
    if [s.shape[0] for s in shifts] != [W.shape[0] for W in mats]:
        raise ValueError(f"biases must match the weights' output sizes {[W.shape[0] for W in mats]}, got "
                         f"{[s.shape[0] for s in shifts]}")
    return shifts


def numerical_ranks(matrices: ArrayLike, rtol: float) -> NDArray[np.int64]:
    """Number of singular values above ``rtol`` × the largest, for each matrix of a stack.

    Parameters
    ----------
    matrices : array_like, shape (n, a, b)
    rtol : float

    Returns
    -------
    ndarray of int64, shape (n,)

    Raises
    ------
    ValueError
        When ``matrices`` is not a finite stack of shape (n, a, b).
    """
    stack = as_finite(matrices, "matrices")
    if stack.ndim != 3:
        raise ValueError(f"matrices must be a stack of shape (n, a, b), got {stack.shape}")
    values = np.linalg.svd(stack, compute_uv=False)
    return np.sum(values > nonnegative_float(rtol, "rtol", positive=True) * values[:, :1], axis=1)


def log_pseudo_determinants(matrices: ArrayLike, rtol: float) -> NDArray[np.float64]:
    """log|J|₊ = Σ log s_i over the singular values above ``rtol`` × the largest, for each matrix.

    Parameters
    ----------
    matrices : array_like, shape (n, a, b)
        E.g. ``jacobians``.
    rtol : float

    Returns
    -------
    ndarray, shape (n,)
        −∞ for a zero matrix.

    Raises
    ------
    ValueError
        When ``matrices`` is not a finite stack of shape (n, a, b).
    """
    stack = as_finite(matrices, "matrices")
    if stack.ndim != 3:
        raise ValueError(f"matrices must be a stack of shape (n, a, b), got {stack.shape}")
    values = np.linalg.svd(stack, compute_uv=False)
    kept = values > nonnegative_float(rtol, "rtol", positive=True) * values[:, :1]
    logs = np.log(values, where=kept, out=np.zeros_like(values)).sum(axis=1)
    logs[~kept.any(axis=1)] = -np.inf
    return logs


def depth_fit(depths: ArrayLike, costs: ArrayLike, terms: int = 2) -> NDArray[np.float64]:
    """Least squares of ‖θ‖²(L) ≈ L·R⁽⁰⁾ + R⁽¹⁾ (+ R⁽²⁾/L) over a depth grid.

    Parameters
    ----------
    depths : array_like, shape (k,)
    costs : array_like, shape (k,)
    terms : {2, 3}, default 2
        k >= terms.

    Returns
    -------
    ndarray, shape (terms,)
        (R⁽⁰⁾, R⁽¹⁾[, R⁽²⁾]).

    Raises
    ------
    ValueError
        When ``terms`` is not 2 or 3, ``depths`` and ``costs`` differ in length, a depth is <= 0, or
        fewer than ``terms`` distinct depths are given (the fit would be underdetermined).
    """
    L, cost = as_vector(depths, "depths"), as_vector(costs, "costs")
    if L.size != cost.size or terms not in (2, 3):
        raise ValueError(f"need terms in (2, 3) and as many costs as depths, got {terms} and {L.size}, "
                         f"{cost.size}")
    if np.any(L <= 0) or np.unique(L).size < terms:
        raise ValueError(f"depths must be > 0 with at least as many distinct values as terms={terms}, "
                         f"got {L.tolist()}")
    design = np.column_stack([L, np.ones_like(L), 1 / L][:terms])
    return np.linalg.lstsq(design, cost, rcond=None)[0]


def hidden_representations(weights: list[ArrayLike], X: ArrayLike, biases: list[ArrayLike] | None = None
                           ) -> list[NDArray[np.float64]]:
    """The post-activations σ(W_ℓ ⋯ σ(W_1 X + b_1) ⋯ + b_ℓ) of every hidden layer ℓ = 1 … L−1.

    Parameters
    ----------
    weights : list of array_like
    X : array_like, shape (d, N)
    biases : list of array_like, optional

    Returns
    -------
    list of ndarray, shapes (d_ℓ, N)
    """
    mats = [as_matrix(W, "weights[i]") for W in weights]
    hidden, out = as_matrix(X, "X"), []
    for W, shift in zip(mats[:-1], _shifts(biases, mats)[:-1], strict=True):
        hidden = np.maximum(W @ hidden + shift, 0.0)
        out.append(hidden)
    return out

"""Deep bias-free ReLU MLPs trained with weight decay, full batch in float64 on CPU (torch).

Source: Jacot, arXiv 2209.15055 and 2305.19008 (CLAIMS.md §1–2). ``train_mlp`` minimizes
½‖f_θ(X) − Y‖_F² + λ‖θ‖² with ‖θ‖² = Σ_ℓ ‖W_ℓ‖_F², f_θ(X) = W_L σ(W_{L−1} ⋯ σ(W_1 X)), by L-BFGS
(strong Wolfe line search) to a stationary point, and returns what the rank notions are measured
on: the outputs, ‖θ‖², and the weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from numerics.optim import minimize_to_stationarity
from numerics.validation import as_matrix, as_vector, nonnegative_float, positive_int


@dataclass(frozen=True)
class MLPFit:
    """``weights`` [W_ℓ (d_ℓ, d_{ℓ−1})], ``outputs`` f_θ(X) (m, N), ``norm_sq`` ‖θ‖², and
    ``gradient`` the largest entry of the objective's gradient at the end (stationarity)."""

    weights: list[NDArray[np.float64]]
    outputs: NDArray[np.float64]
    norm_sq: float
    gradient: float


def relu_mlp(X: torch.Tensor, weights: list[torch.Tensor]) -> torch.Tensor:
    """f_θ(X) = W_L σ(W_{L−1} ⋯ σ(W_1 X)) for X (d, N): (m, N), σ = ReLU, no biases."""
    hidden = X
    for weight in weights[:-1]:
        hidden = torch.relu(weight @ hidden)
    return weights[-1] @ hidden


def train_mlp(X: ArrayLike, Y: ArrayLike, depth: int, width: int, lam: float, seed: int = 0,
              rounds: int = 20, gradient_tol: float = 1e-6) -> MLPFit:
    """Train a depth-``depth`` (≥ 1 weight matrices), width-``width`` ReLU MLP from He
    initialization (seeded) on inputs X (d, N) and targets Y (m, N). L-BFGS rounds of 500
    iterations until the objective's gradient is below ``gradient_tol`` entrywise; raises
    ``NotConvergedError`` when ``rounds`` do not get there."""
    X, Y = as_matrix(X, "X"), as_matrix(Y, "Y")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must have the same number of columns (points), got {X.shape} and "
                         f"{Y.shape}")
    depth, width = positive_int(depth, "depth"), positive_int(width, "width")
    lam = nonnegative_float(lam, "lam")
    generator = torch.Generator().manual_seed(seed)
    dims = [X.shape[0]] + [width] * (depth - 1) + [Y.shape[0]]
    weights = [(torch.randn(dims[k + 1], dims[k], generator=generator, dtype=torch.float64)
                * np.sqrt(2.0 / dims[k])).requires_grad_(True) for k in range(depth)]
    inputs, targets = torch.from_numpy(X), torch.from_numpy(Y)

    def objective() -> torch.Tensor:
        misfit = ((relu_mlp(inputs, weights) - targets) ** 2).sum()
        return 0.5 * misfit + lam * sum((w**2).sum() for w in weights)

    gradient = minimize_to_stationarity(objective, weights, rounds, gradient_tol, "train_mlp")
    with torch.no_grad():
        return MLPFit([w.detach().numpy().copy() for w in weights], relu_mlp(inputs, weights).numpy(),
                      float(sum((w**2).sum() for w in weights)), gradient)



def shallow_target(X: ArrayLike, rank: int, outputs: int, seed: int = 0) -> NDArray[np.float64]:
    """Y = A·relu(B X) for X (d, N), B (``rank``, d) and A (``outputs``, ``rank``) Gaussian (seeded),
    scaled to a root-mean-square output norm of 1: a function of Bottleneck rank <= ``rank``
    (g = B·, h = A relu(·)) and of Jacobian rank ``rank`` wherever the ``rank`` units are active,
    so R⁽⁰⁾ = ``rank`` (Rank_J <= R⁽⁰⁾ <= Rank_BN). Shape (outputs, N)."""
    points = as_matrix(X, "X")
    k, m = positive_int(rank, "rank"), positive_int(outputs, "outputs")
    rng = np.random.default_rng(seed)
    B, A = rng.normal(size=(k, points.shape[0])), rng.normal(size=(m, k))
    Y = A @ np.maximum(B @ points, 0.0)
    return Y * np.sqrt(points.shape[1]) / np.linalg.norm(Y)


def jacobians(weights: list[ArrayLike], X: ArrayLike) -> NDArray[np.float64]:
    """Jf(x_i) = W_L D_{L−1} W_{L−1} ⋯ D_1 W_1 of the bias-free ReLU MLP at each column x_i of X
    (d, N), with D_ℓ = diag(1[ℓ-th pre-activation > 0]); shape (N, m, d)."""
    mats = [as_matrix(W, "weights[i]") for W in weights]
    points = as_matrix(X, "X")
    if mats[0].shape[1] != points.shape[0]:
        raise ValueError(f"X must have {mats[0].shape[1]} rows, got {points.shape[0]}")
    jac = np.broadcast_to(mats[0], (points.shape[1], *mats[0].shape)).copy()  # (N, d_1, d)
    hidden = mats[0] @ points
    for W in mats[1:]:
        active = (hidden > 0).T.astype(float)  # (N, d_ℓ)
        jac = np.einsum("ij,nj,njk->nik", W, active, jac)
        hidden = W @ np.maximum(hidden, 0.0)
    return jac


def numerical_ranks(matrices: ArrayLike, rtol: float) -> NDArray[np.int64]:
    """Number of singular values above ``rtol`` × the largest, for each matrix of a stack (n, a, b)."""
    stack = np.asarray(matrices, dtype=np.float64)
    if stack.ndim != 3:
        raise ValueError(f"matrices must be a stack of shape (n, a, b), got {stack.shape}")
    values = np.linalg.svd(stack, compute_uv=False)
    return np.sum(values > nonnegative_float(rtol, "rtol", positive=True) * values[:, :1], axis=1)


def depth_fit(depths: ArrayLike, costs: ArrayLike, terms: int = 2) -> NDArray[np.float64]:
    """Least squares of ‖θ‖²(L) ≈ L·R⁽⁰⁾ + R⁽¹⁾ (+ R⁽²⁾/L with ``terms`` = 3) over a depth grid;
    returns (R⁽⁰⁾, R⁽¹⁾[, R⁽²⁾])."""
    L, cost = as_vector(depths, "depths"), as_vector(costs, "costs")
    if L.size != cost.size or L.size < terms or terms not in (2, 3):
        raise ValueError(f"need terms in (2, 3) and at least that many (depth, cost) pairs, got {terms} "
                         f"and {L.size}, {cost.size}")
    design = np.column_stack([L, np.ones_like(L), 1 / L][:terms])
    return np.linalg.lstsq(design, cost, rcond=None)[0]


def hidden_representations(weights: list[ArrayLike], X: ArrayLike) -> list[NDArray[np.float64]]:
    """The post-activations σ(W_ℓ ⋯ σ(W_1 X)) of every hidden layer ℓ = 1 … L−1, each (d_ℓ, N)."""
    hidden, out = as_matrix(X, "X"), []
    for W in weights[:-1]:
        hidden = np.maximum(as_matrix(W, "weights[i]") @ hidden, 0.0)
        out.append(hidden)
    return out

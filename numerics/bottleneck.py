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
from numerics.validation import as_matrix, nonnegative_float, positive_int


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


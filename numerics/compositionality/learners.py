"""The learners and baselines of the scaling laws: deep, accordion and shallow networks, Laplace
kernel ridge, and the test error they are scored by (against the noiseless f*).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import cho_factor, cho_solve
from scipy.spatial.distance import cdist

from rankcheck.numerics.networks import accordion, fit_adam, mlp
from rankcheck.validation import as_matrix, as_vector, nonnegative_float, positive_int

__all__ = ["Predictor", "laplace_kernel_ridge", "ARCHITECTURES", "train_network", "mean_squared_error"]

Predictor = Callable[[NDArray[np.float64]], NDArray[np.float64]]


def laplace_kernel_ridge(X: ArrayLike, y: ArrayLike, lam: float) -> Predictor:
    """Kernel ridge regression with the Laplace kernel k(x, x') = exp(−‖x − x'‖).

    The predictor x ↦ k(x, X)·(K + λN·I)⁻¹y minimizing (1/N)Σ(f(x_i) − y_i)² + λ‖f‖²_k.

    Parameters
    ----------
    X : array_like, shape (N, d)
    y : array_like, shape (N,)
    lam : float
        λ > 0.

    Returns
    -------
    callable
        (n, d) -> (n,).

    Raises
    ------
    ValueError
        Naming the argument: non-finite or mismatched data, λ <= 0.
    """
    points, targets = as_matrix(X, "X"), as_vector(y, "y")
    lam = nonnegative_float(lam, "lam", positive=True)

    def kernel(A: NDArray, B: NDArray) -> NDArray:
        return np.exp(-cdist(A, B))

    n = points.shape[0]
    weights = cho_solve(cho_factor(kernel(points, points) + lam * n * np.eye(n)), targets)
    return lambda new: kernel(as_matrix(new, "x"), points) @ weights


#: The networks the scaling-law sweeps train, by name: widths for a given input dimension.
ARCHITECTURES: dict[str, Callable[[int, int, int], torch.nn.Sequential]] = {
    "deep": lambda d_in, width, seed: mlp([d_in, width, width, width, 1], output_bias=True, seed=seed),
    "accordion": lambda d_in, width, seed: accordion([d_in, 8, 8, 1], 2 * width, seed=seed),
    "shallow": lambda d_in, width, seed: mlp([d_in, 4 * width, 1], output_bias=True, seed=seed),
}


def train_network(architecture: str, X: ArrayLike, y: ArrayLike, lam: float, *, width: int = 64,
                  steps: int = 2000, lr: float = 3e-3, seed: int = 0) -> Predictor:
    """Train one of ``ARCHITECTURES`` on L(θ) = (1/N)Σ(f(x_i) − y_i)² + λ‖θ‖² by ``fit_adam``.

    "deep": 3 hidden layers of ``width``; "accordion": two shallow networks of width 2·``width``
    through ℝ^8 and ℝ^8; "shallow": one hidden layer of 4·``width``.

    Parameters
    ----------
    architecture : {"deep", "accordion", "shallow"}
    X : array_like, shape (N, d)
    y : array_like, shape (N,)
    lam : float
    width : int, default 64
    steps : int, default 2000
    lr : float, default 3e-3
    seed : int, default 0

    Returns
    -------
    callable
        The trained network's predictor, (n, d) -> (n,).

    Raises
    ------
    ValueError
        An unknown ``architecture``, or bad data.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {sorted(ARCHITECTURES)}, got {architecture!r}")
    points, targets = as_matrix(X, "X"), as_vector(y, "y")
    net = ARCHITECTURES[architecture](points.shape[1], positive_int(width, "width"), seed)
    fit_adam(net, points, targets[:, None], lam, steps=steps, lr=lr)

    def predict(new: NDArray[np.float64]) -> NDArray[np.float64]:
        with torch.no_grad():
            return net(torch.as_tensor(as_matrix(new, "x")))[:, 0].numpy()

    return predict


def mean_squared_error(predict: Predictor, X: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    """(1/n)Σ(f(x_i) − y_i)² over the rows of X.

    Parameters
    ----------
    predict : callable (n, d) -> (n,)
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)

    Returns
    -------
    float
    """
    return float(np.mean((predict(X) - y) ** 2))

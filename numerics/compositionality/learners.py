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

from rankcheck.numerics.networks import Stage, accordion, fit_stages, mlp
from rankcheck.validation import as_matrix, nonnegative_float, positive_int

__all__ = ["Predictor", "laplace_kernel_ridge", "ARCHITECTURES", "AUTHOR_STAGES", "train_network",
           "mean_squared_error"]

Predictor = Callable[[NDArray[np.float64]], NDArray[np.float64]]


def laplace_kernel_ridge(X: ArrayLike, Y: ArrayLike, lam: float) -> Predictor:
    """Kernel ridge regression with the Laplace kernel k(x, x') = exp(−‖x − x'‖), one solve for every
    output.

    The predictor x ↦ k(x, X)·(K + λN·I)⁻¹Y minimizing (1/N)Σ‖f(x_i) − y_i‖² + λ‖f‖²_k.

    Parameters
    ----------
    X : array_like, shape (N, d)
    Y : array_like, shape (N, d_out)
    lam : float
        λ > 0.

    Returns
    -------
    callable
        (n, d) -> (n, d_out).

    Raises
    ------
    ValueError
        Naming the argument: non-finite or mismatched data, λ <= 0.
    """
    points, targets = as_matrix(X, "X"), as_matrix(Y, "Y")
    if points.shape[0] != targets.shape[0]:
        raise ValueError(f"X and Y must have the same number of rows, got {points.shape[0]} and "
                         f"{targets.shape[0]}")
    lam = nonnegative_float(lam, "lam", positive=True)

    def kernel(A: NDArray, B: NDArray) -> NDArray:
        return np.exp(-cdist(A, B))

    n = points.shape[0]
    weights = cho_solve(cho_factor(kernel(points, points) + lam * n * np.eye(n)), targets)
    return lambda new: kernel(as_matrix(new, "x"), points) @ weights


#: The networks the scaling-law sweeps train, by name: (d_in, d_out, width, seed) -> network. Scaled
#: down from the authors' (depth 12 width 500; accordion widths [900, 100]; shallow width 50 000).
ARCHITECTURES: dict[str, Callable[[int, int, int, int], torch.nn.Sequential]] = {
    "deep": lambda d_in, d_out, width, seed: mlp([d_in, width, width, width, width, d_out],
                                                 output_bias=True, seed=seed),
    "accordion": lambda d_in, d_out, width, seed: accordion([d_in, 16, 16, d_out], 2 * width, seed=seed),
    "shallow": lambda d_in, d_out, width, seed: mlp([d_in, 8 * width, d_out], output_bias=True, seed=seed),
}

#: The (learning rate, weight decay) of the authors' three training stages, in order.
AUTHOR_STAGES: tuple[tuple[float, float], ...] = ((1.5e-3, 0.0), (4e-4, 2e-3), (1e-4, 5e-3))


def train_network(architecture: str, X: ArrayLike, Y: ArrayLike, *, width: int = 64, epochs: int = 100,
                  stages: tuple[tuple[float, float], ...] = AUTHOR_STAGES, batches: int = 5, seed: int = 0,
                  device: str | torch.device = "cpu") -> Predictor:
    """Train one of ``ARCHITECTURES`` by ``fit_stages``: ``epochs`` epochs at each (rate, decay) stage.

    "deep": 4 hidden layers of ``width``; "accordion": three shallow networks of width 2·``width``
    through ℝ^16 and ℝ^16; "shallow": one hidden layer of 8·``width``.

    Parameters
    ----------
    architecture : {"deep", "accordion", "shallow"}
    X : array_like, shape (N, d_in)
    Y : array_like, shape (N, d_out)
    width : int, default 64
    epochs : int, default 100
        Per stage.
    stages : tuple of (float, float), default ``AUTHOR_STAGES``
    batches : int, default 5
    seed : int, default 0
        The initialization and the minibatches.
    device : str or torch.device, default "cpu"

    Returns
    -------
    callable
        The trained network's predictor, (n, d_in) -> (n, d_out), evaluated on ``device``.

    Raises
    ------
    ValueError
        An unknown ``architecture``, bad data, stages, sizes or device.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {sorted(ARCHITECTURES)}, got {architecture!r}")
    points, targets = as_matrix(X, "X"), as_matrix(Y, "Y")
    net = ARCHITECTURES[architecture](points.shape[1], targets.shape[1], positive_int(width, "width"), seed)
    plan: list[Stage] = [(epochs, lr, decay) for lr, decay in stages]
    fit_stages(net, points, targets, plan, batches=batches, seed=seed, device=device)
    where = next(net.parameters()).device

    def predict(new: NDArray[np.float64]) -> NDArray[np.float64]:
        with torch.no_grad():
            return net(torch.as_tensor(as_matrix(new, "x"), device=where)).cpu().numpy()

    return predict


def mean_squared_error(predict: Predictor, X: NDArray[np.float64], Y: NDArray[np.float64]) -> float:
    """(1/(n·d_out))Σ‖f(x_i) − y_i‖² over the rows of X.

    Parameters
    ----------
    predict : callable (n, d_in) -> (n, d_out)
    X : ndarray, shape (n, d_in)
    Y : ndarray, shape (n, d_out)

    Returns
    -------
    float
    """
    return float(np.mean((predict(X) - Y) ** 2))

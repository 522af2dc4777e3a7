"""Shallow ReLU networks and their F1 (path) cost: rebalancing brings ‖θ‖² to twice the path cost.

Source: Jacot, Choi, Wen, arXiv 2407.05664. A network is (a, W, b): outgoing weights a (m,),
incoming weights W (m, d), biases b (m,); f(x) = Σ_i a_i·relu(w_iᵀx + b_i).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize

from rankcheck.errors import NotConvergedError
from rankcheck.validation import as_matrix, as_vector

__all__ = ["shallow_relu", "parameter_cost", "path_cost", "rebalance", "least_rescaled_cost"]

def _network(a: ArrayLike, W: ArrayLike, b: ArrayLike):
    outgoing, incoming, bias = as_vector(a, "a"), as_matrix(W, "W"), as_vector(b, "b")
    if incoming.shape[0] != outgoing.size or bias.size != outgoing.size:
        raise ValueError(f"a, W, b must describe the same neurons: got {outgoing.size}, "
                         f"{incoming.shape[0]} and {bias.size}")
    return outgoing, incoming, bias


def shallow_relu(a: ArrayLike, W: ArrayLike, b: ArrayLike, x: ArrayLike) -> NDArray[np.float64]:
    """f(x) = Σ_i a_i·relu(w_iᵀx + b_i) at the rows of x.

    Parameters
    ----------
    a : array_like, shape (m,)
        Output weights.
    W : array_like, shape (m, d)
        Input weights, one row per neuron.
    b : array_like, shape (m,)
        Biases.
    x : array_like, shape (n, d)

    Returns
    -------
    ndarray, shape (n,)

    Raises
    ------
    ValueError
        Naming the argument: non-finite or mismatched arrays.
    """
    outgoing, incoming, bias = _network(a, W, b)
    points = as_matrix(x, "x")
    if points.shape[1] != incoming.shape[1]:
        raise ValueError(f"x must have {incoming.shape[1]} columns, got {points.shape[1]}")
    return np.maximum(points @ incoming.T + bias, 0.0) @ outgoing


def parameter_cost(a: ArrayLike, W: ArrayLike, b: ArrayLike) -> float:
    """‖θ‖² = Σ_i a_i² + ‖w_i‖² + b_i² of a shallow ReLU network.

    Parameters
    ----------
    a : array_like, shape (m,)
        Output weights.
    W : array_like, shape (m, d)
        Input weights, one row per neuron.
    b : array_like, shape (m,)
        Biases.

    Returns
    -------
    float
    """
    outgoing, incoming, bias = _network(a, W, b)
    return float(np.sum(outgoing**2) + np.sum(incoming**2) + np.sum(bias**2))


def path_cost(a: ArrayLike, W: ArrayLike, b: ArrayLike) -> float:
    """Σ_i |a_i|·‖(w_i, b_i)‖ of this representation (an upper bound on the F1 norm of f).

    Parameters
    ----------
    a : array_like, shape (m,)
        Output weights.
    W : array_like, shape (m, d)
        Input weights, one row per neuron.
    b : array_like, shape (m,)
        Biases.

    Returns
    -------
    float
    """
    outgoing, incoming, bias = _network(a, W, b)
    return float(np.sum(np.abs(outgoing) * np.sqrt(np.sum(incoming**2, axis=1) + bias**2)))


def rebalance(a: ArrayLike, W: ArrayLike, b: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
    """Rescale each neuron so that |a_i| = ‖(w_i, b_i)‖: the function is kept, ‖θ‖² becomes twice the
    path cost.

    c_i = √(|a_i|/‖(w_i, b_i)‖) multiplies (w_i, b_i) and divides a_i (ReLU is positively
    homogeneous); neurons with a_i = 0 or (w_i, b_i) = 0 compute nothing and are set to zero.

    Parameters
    ----------
    a : array_like, shape (m,)
        Output weights.
    W : array_like, shape (m, d)
        Input weights, one row per neuron.
    b : array_like, shape (m,)
        Biases.

    Returns
    -------
    (a, W, b) : tuple of ndarray, the shapes of the inputs
    """
    outgoing, incoming, bias = _network(a, W, b)
    norms = np.sqrt(np.sum(incoming**2, axis=1) + bias**2)
    alive = (outgoing != 0) & (norms > 0)
    scale = np.where(alive, np.sqrt(np.abs(outgoing) / np.where(alive, norms, 1.0)), 0.0)
    return (np.where(alive, outgoing / np.where(alive, scale, 1.0), 0.0), incoming * scale[:, None],
            bias * scale)


def least_rescaled_cost(a: ArrayLike, W: ArrayLike, b: ArrayLike) -> float:
    """min over c ∈ (0, ∞)^m of Σ_i a_i²/c_i² + c_i²‖(w_i, b_i)‖², by L-BFGS in log c.

    A second route to the rebalancing optimum, which knows nothing of AM–GM.

    Parameters
    ----------
    a : array_like, shape (m,)
        Output weights.
    W : array_like, shape (m, d)
        Input weights, one row per neuron.
    b : array_like, shape (m,)
        Biases.

    Returns
    -------
    float

    Raises
    ------
    NotConvergedError
        When L-BFGS fails.
    """
    outgoing, incoming, bias = _network(a, W, b)
    squares = np.sum(incoming**2, axis=1) + bias**2
    alive = (outgoing != 0) & (squares > 0)
    top, bottom = outgoing[alive] ** 2, squares[alive]

    def objective(log_scale: NDArray) -> tuple[float, NDArray]:
        up, down = np.exp(2 * log_scale) * bottom, np.exp(-2 * log_scale) * top
        return float(np.sum(up + down)), 2 * (up - down)

    start = 0.25 * np.log(top / bottom)
    result = minimize(objective, start + 0.5, jac=True, method="L-BFGS-B",
                      options={"gtol": 1e-13, "ftol": 1e-15, "maxiter": 1000})
    if not result.success and result.nit >= 1000:
        raise NotConvergedError(f"least_rescaled_cost: {result.message}")
    return float(result.fun)

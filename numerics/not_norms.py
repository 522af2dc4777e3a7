"""Training a depth-L factorization on the 2×2 completion that no norm explains (Razin, Cohen 2020).

Observed: W₁₂ = W₂₁ = 1, W₂₂ = 0; free: W₁₁. ``train_completion`` runs torch GD, ``completion_flow``
integrates the gradient flow (scipy DOP853); both start from a balanced factorization with det > 0 by
default and return a ``CompletionTrajectory``: the free entry, determinant, singular values, loss,
Schatten (quasi-)norms and effective rank over time. Source: arXiv 2005.06398.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rankcheck.numerics.linear_dynamics import Flow, gradient_descent, parameter_flow
from rankcheck.validation import as_finite, as_matrix, as_seed, nonnegative_float, positive_int

__all__ = [
    "TARGET", "MASK", "schatten_norm", "effective_rank", "CompletionTrajectory", "balanced_start",
    "train_completion", "completion_flow"
]

TARGET = np.array([[0.0, 1.0], [1.0, 0.0]])  # observed values (entry (0, 0) is not observed)
MASK = np.array([[0.0, 1.0], [1.0, 1.0]])


def schatten_norm(singular_values: ArrayLike, power: float) -> NDArray[np.float64]:
    """(Σ s_i^p)^{1/p} row by row (p < 1: a quasi-norm).

    Parameters
    ----------
    singular_values : array_like, shape (n, k)
    power : float
        p > 0.

    Returns
    -------
    ndarray, shape (n,)
    """
    values = np.atleast_2d(as_finite(singular_values, "singular_values"))
    power = nonnegative_float(power, "power", positive=True)
    return np.sum(values**power, axis=1) ** (1 / power)


def effective_rank(singular_values: ArrayLike) -> NDArray[np.float64]:
    """exp of the entropy of s/Σs, row by row (Roy and Vetterli, 2007).

    Parameters
    ----------
    singular_values : array_like, shape (n, k)

    Returns
    -------
    ndarray, shape (n,)
    """
    values = np.atleast_2d(as_finite(singular_values, "singular_values"))
    weights = values / values.sum(axis=1, keepdims=True)
    logs = np.log(weights, out=np.zeros_like(weights), where=weights > 0)
    return np.exp(-np.sum(weights * logs, axis=1))


@dataclass(frozen=True)
class CompletionTrajectory:
    """A trajectory of the 2×2 completion (Razin & Cohen 2020, arXiv 2005.06398).

    Attributes
    ----------
    times : ndarray, shape (n,)
    products : ndarray, shape (n, 2, 2)
        W_L⋯W_1.
    free_entry : ndarray, shape (n,)
        The unobserved entry W₁₁.
    determinant : ndarray, shape (n,)
    singular_values : ndarray, shape (n, 2)
        Descending.
    loss : ndarray, shape (n,)
        ½Σ_observed (W_ij − target_ij)².
    """

    times: NDArray[np.float64]
    products: NDArray[np.float64]
    free_entry: NDArray[np.float64]
    determinant: NDArray[np.float64]
    singular_values: NDArray[np.float64]
    loss: NDArray[np.float64]

    @classmethod
    def from_flow(cls, flow: Flow) -> CompletionTrajectory:
        """The trajectory of a ``rankcheck.numerics.linear_dynamics.Flow`` of this completion.

        Parameters
        ----------
        flow : Flow

        Returns
        -------
        CompletionTrajectory
        """
        return cls(flow.times, flow.products, flow.products[:, 0, 0].copy(),
                   np.linalg.det(flow.products), np.linalg.svd(flow.products, compute_uv=False),
                   flow.losses)

    def schatten(self, power: float) -> NDArray[np.float64]:
        """Schatten-p (quasi-)norm over time: p = 1 nuclear, p = 2 Frobenius.

        Parameters
        ----------
        power : float
            p > 0.

        Returns
        -------
        ndarray, shape (n,)
        """
        return schatten_norm(self.singular_values, power)

    def effective_rank(self) -> NDArray[np.float64]:
        """The effective rank over time (``effective_rank``).

        Returns
        -------
        ndarray, shape (n,)
        """
        return effective_rank(self.singular_values)


def balanced_start(depth: int, scale: float, seed: int = 0) -> list[NDArray[np.float64]]:
    """W_ℓ = scale·R_ℓ with R_ℓ random rotations (det +1): a balanced start with det > 0.

    W_{ℓ+1}ᵀW_{ℓ+1} = W_ℓW_ℓᵀ = scale²·I and det(W_L⋯W_1) = scale^{2L} > 0.

    Parameters
    ----------
    depth : int
        L >= 1.
    scale : float
        > 0.
    seed : int, default 0

    Returns
    -------
    list of ndarray, L of shape (2, 2)
    """
    depth = positive_int(depth, "depth", minimum=2)
    scale = nonnegative_float(scale, "init", positive=True)
    angles = np.random.default_rng(as_seed(seed)).uniform(0.0, 2 * np.pi, size=depth)
    return [scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) for a in angles]


def _start(depth: int, init: float | list[ArrayLike], seed: int) -> list[NDArray[np.float64]]:
    if isinstance(init, (int, float)):
        return balanced_start(depth, init, seed)
    weights = [as_matrix(w, f"init[{k}]") for k, w in enumerate(init)]
    if len(weights) != positive_int(depth, "depth", minimum=2) or any(w.shape != (2, 2) for w in weights):
        raise ValueError(f"init must be a scale or a list of {depth} matrices of shape (2, 2)")
    return weights


def train_completion(depth: int, init: float | list[ArrayLike], steps: int, lr: float, *,
                     record_every: int = 1, seed: int = 0) -> CompletionTrajectory:
    """Full-batch torch GD (float64) on the observed entries of the 2×2 completion.

    Records every ``record_every`` steps (time = steps × lr).

    Parameters
    ----------
    depth : int
        L >= 1.
    init : float or list of array_like
        A scale for ``balanced_start``, or the L weight matrices (first layer first).
    steps : int
    lr : float
    record_every : int, default 1
    seed : int, default 0

    Returns
    -------
    CompletionTrajectory

    Raises
    ------
    ValueError
        Naming the argument: a non-positive size, scale or step, weights of the wrong shape.
    """
    steps = positive_int(steps, "steps")
    every = positive_int(record_every, "record_every")
    lr = nonnegative_float(lr, "lr", positive=True)
    times = lr * np.arange(0, steps + 1, every)
    return CompletionTrajectory.from_flow(
        gradient_descent(_start(depth, init, seed), TARGET, lr, times, mask=MASK))


def completion_flow(depth: int, init: float | list[ArrayLike], t_eval: ArrayLike, *,
                    seed: int = 0) -> CompletionTrajectory:
    """The gradient flow of the same loss at the times ``t_eval`` (``parameter_flow``, DOP853).

    Parameters
    ----------
    depth : int
    init : float or list of array_like
    t_eval : array_like, shape (n,)
        Increasing times >= 0.
    seed : int, default 0

    Returns
    -------
    CompletionTrajectory

    Raises
    ------
    ValueError, NotConvergedError
        As ``rankcheck.numerics.linear_dynamics.parameter_flow``.
    """
    return CompletionTrajectory.from_flow(
        parameter_flow(_start(depth, init, seed), TARGET, t_eval, mask=MASK))

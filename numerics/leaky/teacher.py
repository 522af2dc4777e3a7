"""A teacher with a bottleneck: the composition of three random ResNets 30 → 6 → 3 → 30.

The regression task of Fig. 2a of Jacot, Kaiser, arXiv 2405.17573 (NeurIPS 2024 submission text):
f* = f₃∘f₂∘f₁ with each f_k a random residual map, Gaussian inputs, inputs and outputs demeaned
and normalized. The paper gives the dimensions and sizes but no code; the random parts here are
one choice (documented in ``random_resnet``), the note says which.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rankcheck.validation import positive_int

__all__ = ["TeacherTask", "random_resnet", "resnet_composition_task"]


@dataclass(frozen=True)
class TeacherTask:
    """Training and test sets of a teacher, columns are points.

    Attributes
    ----------
    X_train : ndarray, shape (d_in, N)
    Y_train : ndarray, shape (d_out, N)
    X_test : ndarray, shape (d_in, N_test)
    Y_test : ndarray, shape (d_out, N_test)
    dims : tuple of int
        The teacher's dimensions, input first.
    """

    X_train: NDArray[np.float64]
    Y_train: NDArray[np.float64]
    X_test: NDArray[np.float64]
    Y_test: NDArray[np.float64]
    dims: tuple[int, ...]


def random_resnet(d_in: int, d_out: int, hidden: int, rng: np.random.Generator):
    """A random residual map z ↦ P(z + V·relu(Uz + b)) from ℝ^{d_in} to ℝ^{d_out}.

    U (hidden, d_in) has N(0, 1/d_in) entries, b N(0, 1), V (d_in, hidden) N(0, 1/hidden), and P
    (d_out, d_in) N(0, 1/d_in): a residual block followed by a random linear map to the next width.

    Parameters
    ----------
    d_in, d_out, hidden : int
        Positive.
    rng : numpy.random.Generator

    Returns
    -------
    callable
        Maps an array of shape (d_in, n) to one of shape (d_out, n).
    """
    d_in, d_out = positive_int(d_in, "d_in"), positive_int(d_out, "d_out")
    hidden = positive_int(hidden, "hidden")
    U = rng.normal(size=(hidden, d_in)) / np.sqrt(d_in)
    b = rng.normal(size=(hidden, 1))
    V = rng.normal(size=(d_in, hidden)) / np.sqrt(hidden)
    P = rng.normal(size=(d_out, d_in)) / np.sqrt(d_in)

    def f(z: NDArray[np.float64]) -> NDArray[np.float64]:
        return P @ (z + V @ np.maximum(U @ z + b, 0.0))

    return f


def _normalizer(Z: NDArray[np.float64]):
    """Demean by the columns' mean and scale to a mean squared norm of 1 per point (training stats)."""
    mean = Z.mean(axis=1, keepdims=True)
    scale = np.sqrt(np.mean(np.sum((Z - mean) ** 2, axis=0)))
    return lambda W: (W - mean) / scale


def resnet_composition_task(seed: int, points: int = 1000, test_points: int = 1000,
                            dims: tuple[int, ...] = (30, 6, 3, 30), hidden: int = 100) -> TeacherTask:
    """Gaussian inputs and the composition of random ResNets through ``dims`` (a bottleneck).

    The teacher, the training inputs and the test inputs come from three independent streams of
    ``seed``, so the teacher and the test set do not change with ``points`` (nor the training set
    with ``test_points``). Each intermediate representation is normalized to a mean squared norm of
    1 per point; X and Y are demeaned and normalized (mean ‖y‖² = 1 per point) with the training
    set's statistics, so predicting 0 has test error ≈ 1.

    Parameters
    ----------
    seed : int
    points, test_points : int, default 1000
    dims : tuple of int, default (30, 6, 3, 30)
        At least two dimensions.
    hidden : int, default 100
        Width of each random residual block.

    Returns
    -------
    TeacherTask

    Raises
    ------
    ValueError
        Naming the argument: non-positive sizes, fewer than two dims.
    """
    points, test_points = positive_int(points, "points"), positive_int(test_points, "test_points")
    dims = tuple(positive_int(d, "dims") for d in dims)
    if len(dims) < 2:
        raise ValueError(f"dims must hold at least two dimensions, got {dims}")
    teacher_rng, train_rng, test_rng = (np.random.default_rng(s)
                                        for s in np.random.SeedSequence(seed).spawn(3))
    parts = [random_resnet(a, b, hidden, teacher_rng) for a, b in zip(dims[:-1], dims[1:], strict=True)]
    # points drawn one after another (rows, then transposed): more points extend the same draw
    X_train = train_rng.normal(size=(points, dims[0])).T
    X_test = test_rng.normal(size=(test_points, dims[0])).T
    train, test = X_train, X_test
    for part in parts:
        train, test = part(train), part(test)
        scale = _normalizer(train)
        train, test = scale(train), scale(test)
    inputs = _normalizer(X_train)
    return TeacherTask(inputs(X_train), train, inputs(X_test), test, dims)

"""Argument checks shared by every route.

This module holds no mathematics of any claim, only the checks that turn bad input into a
``ValueError`` naming the argument and what was expected. It sits on the ground floor ``rankcheck``
so that ``rankcheck.theory`` and ``rankcheck.numerics`` validate their inputs the same way without
either importing the other (``tests/test_layout.py`` enforces it).

Array arguments may be numpy arrays, nested sequences or torch tensors (a tensor is detached and
copied to the CPU first).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rankcheck.errors import NotConvergedError

__all__ = [
    "NotConvergedError", "as_array", "as_finite", "as_matrix", "as_vector", "as_seed", "as_device",
    "nonnegative_float", "positive_int",
]


def as_array(value: object) -> object:
    """``value`` itself, or a torch tensor's values as a CPU numpy array (gradients detached).

    Parameters
    ----------
    value : object
        Anything; only a ``torch.Tensor`` is converted (so ``requires_grad`` and CUDA tensors are
        accepted wherever an array is).

    Returns
    -------
    object
        ``value.detach().cpu().numpy()`` for a tensor, else ``value`` unchanged.
    """
    detach = getattr(value, "detach", None)
    if detach is not None and hasattr(value, "cpu"):
        return detach().cpu().numpy()
    return value


def _real(value: object, name: str, kind: str) -> NDArray[np.float64]:
    """``value`` as a float64 array, or a ValueError saying ``name`` must be a real ``kind``."""
    try:
        return np.asarray(as_array(value), dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a real {kind}, got {type(value).__name__}") from err


def _require_finite(array: NDArray[np.float64], name: str) -> None:
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must have finite entries (no nan or inf)")


def as_matrix(value: ArrayLike, name: str, *, square: bool = False) -> NDArray[np.float64]:
    """Return ``value`` as a finite, non-empty float64 matrix.

    Parameters
    ----------
    value : array_like, shape (m, n)
        A nested sequence, numpy array or torch tensor of real numbers.
    name : str
        The argument's name, used in the error message.
    square : bool, default False
        Also require m == n.

    Returns
    -------
    ndarray of float64, shape (m, n)

    Raises
    ------
    ValueError
        Naming ``name`` when ``value`` is not real, not 2-D, empty, non-finite or (with
        ``square=True``) not square.
    """
    array = _real(value, name, "matrix")
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got an array of shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} must be non-empty, got shape {array.shape}")
    _require_finite(array, name)
    if square and array.shape[0] != array.shape[1]:
        raise ValueError(f"{name} must be square, got shape {array.shape}")
    return array


def as_vector(value: ArrayLike, name: str, *, nonnegative: bool = False) -> NDArray[np.float64]:
    """Return ``value`` as a finite, non-empty float64 vector (a scalar becomes a vector of length 1).

    Parameters
    ----------
    value : array_like, shape (k,) or scalar
    name : str
        The argument's name, used in the error message.
    nonnegative : bool, default False
        Also require every entry >= 0.

    Returns
    -------
    ndarray of float64, shape (k,), k >= 1

    Raises
    ------
    ValueError
        Naming ``name`` when ``value`` is not real, not 1-D, empty, non-finite or (with
        ``nonnegative=True``) has a negative entry.
    """
    array = np.atleast_1d(_real(value, name, "vector"))
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D vector, got shape {array.shape}")
    _require_finite(array, name)
    if nonnegative and np.any(array < 0):
        raise ValueError(f"{name} must be entrywise >= 0, got min {array.min():.3g}")
    return array


def as_finite(value: ArrayLike, name: str, *, ndim: int | None = None,
              allow_empty: bool = False) -> NDArray[np.float64]:
    """Return ``value`` as a finite float64 array (of ``ndim`` dimensions when given).

    Parameters
    ----------
    value : array_like
    name : str
        The argument's name, used in the error message.
    ndim : int, optional
        The required number of dimensions.
    allow_empty : bool, default False
        Accept an array without entries (for elementwise functions).

    Returns
    -------
    ndarray of float64

    Raises
    ------
    ValueError
        Naming ``name`` when ``value`` is not real, has another number of dimensions, is empty
        or has a non-finite entry.
    """
    array = _real(value, name, "array")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {array.shape}")
    if array.size == 0 and not allow_empty:
        raise ValueError(f"{name} must be non-empty, got shape {array.shape}")
    _require_finite(array, name)
    return array


def positive_int(value: object, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum``.

    Parameters
    ----------
    value : object
        An integer (numpy integers included); bools and floats are refused, even integral ones.
    name : str
        The argument's name, used in the error message.
    minimum : int, default 1

    Returns
    -------
    int

    Raises
    ------
    ValueError
        Naming ``name`` when ``value`` is not an integer or is below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def as_seed(value: object, name: str = "seed") -> int:
    """Return ``value`` as a seed: an integer in [0, 2⁶³).

    numpy's generators refuse negative seeds and torch's ``manual_seed`` a float, each with its
    own message; this names the argument instead.

    Parameters
    ----------
    value : object
        An integer (numpy integers included); bools and floats are refused.
    name : str, default "seed"

    Returns
    -------
    int

    Raises
    ------
    ValueError
        Naming ``name``.
    """
    if isinstance(value, bool) or not isinstance(value, Integral) or not 0 <= value < 2**63:
        raise ValueError(f"{name} must be an integer in [0, 2**63), got {value!r}")
    return int(value)


def as_device(value: object, name: str = "device"):
    """Return ``value`` as a ``torch.device`` ("cpu", "cuda", "cuda:1", or a device).

    Parameters
    ----------
    value : str or torch.device
    name : str, default "device"

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        Naming ``name`` when torch does not know the device.
    """
    import torch

    try:
        return torch.device(value)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"{name} must name a torch device ('cpu', 'cuda', 'cuda:1'), got {value!r}") from err


def nonnegative_float(value: object, name: str, *, positive: bool = False) -> float:
    """Return ``value`` as a finite float >= 0 (> 0 with ``positive=True``).

    Parameters
    ----------
    value : object
        A real number (ints and numpy floats included); bools are refused.
    name : str
        The argument's name, used in the error message.
    positive : bool, default False
        Require ``value > 0``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Naming ``name`` when ``value`` is not a finite real number or is negative (zero with
        ``positive=True``).
    """
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    value = float(value)
    if value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return value

"""Assertion helpers for property tests: one ``assert_close`` whose tolerance says why, exact ranks.

rankcheck's own tests use these, and they are shipped for other projects' tests::

    from rankcheck.testing import assert_close
    assert_close(measured, predicted, rtol=1e-8, why="L-BFGS gradient tolerance 1e-10")

Every tolerance carries its justification (``why``), printed with a failure together with the worst
entry and the largest absolute and relative errors, so a failing property test says what was
expected, by how much it missed, and why the bound was what it was.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from rankcheck.validation import as_array

__all__ = ["assert_close", "numerical_rank"]


def assert_close(actual: ArrayLike, expected: ArrayLike, *, rtol: float, atol: float = 0.0,
                 why: str) -> None:
    """Assert ``|actual − expected| <= atol + rtol·|expected|`` entrywise, reporting both errors.

    Parameters
    ----------
    actual, expected : array_like, same shape
        Numbers, numpy arrays or torch tensors (detached and copied to the CPU).
    rtol : float
        Relative tolerance, against ``|expected|``.
    atol : float, default 0
        Absolute tolerance, added to the relative one.
    why : str
        What justifies the tolerance (a solver's stopping rule, a discretization step, a sampling
        error); printed with any failure.

    Raises
    ------
    AssertionError
        When the shapes differ, or when any entry is out of tolerance: the message gives the
        tolerance and ``why``, the largest absolute and relative errors and the worst entry.
    ValueError
        When ``why`` is empty: a tolerance without a reason is not accepted.
    """
    if not isinstance(why, str) or not why.strip():
        raise ValueError("why must say what justifies the tolerance, got an empty reason")
    actual_arr = np.asarray(as_array(actual), dtype=np.float64)
    expected_arr = np.asarray(as_array(expected), dtype=np.float64)
    assert actual_arr.shape == expected_arr.shape, (actual_arr.shape, expected_arr.shape)
    error = np.abs(actual_arr - expected_arr)
    bound = atol + rtol * np.abs(expected_arr)
    if not np.all(error <= bound):
        worst = int(np.argmax(error - bound))
        rel = error / np.maximum(np.abs(expected_arr), 1e-300)
        raise AssertionError(
            f"not close (tolerance: rtol={rtol:g}, atol={atol:g}; {why}):\n"
            f"  max abs error {error.max():.3e}, max rel error {rel.max():.3e}\n"
            f"  worst entry {worst}: actual {actual_arr.flat[worst]!r}, "
            f"expected {expected_arr.flat[worst]!r}"
        )


def numerical_rank(matrix: ArrayLike, scale: float | None = None, rtol: float = 1e-12) -> int:
    """The number of singular values above ``rtol·scale``: a rank relative to a stated round-off scale.

    numpy's default threshold is relative to the largest singular value of ``matrix`` itself; for a
    computed product A·B whose value is small next to ‖A‖‖B‖, round-off of size ε‖A‖‖B‖ then
    counts as rank. Pass the scale of the computation instead (``scale = ‖A‖₂‖B‖₂``).

    Parameters
    ----------
    matrix : array_like, shape (m, n)
    scale : float, optional
        The magnitude the computation's round-off is relative to; default the largest singular
        value of ``matrix``.
    rtol : float, default 1e-12
        Singular values at most ``rtol·scale`` count as zero.

    Returns
    -------
    int
        The numerical rank.
    """
    values = np.linalg.svd(np.asarray(as_array(matrix), dtype=np.float64), compute_uv=False)
    if values.size == 0:
        return 0
    reference = float(values[0]) if scale is None else float(scale)
    return int(np.sum(values > rtol * reference))

"""The one assertion helper of the suite."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def assert_close(actual: ArrayLike, expected: ArrayLike, *, rtol: float, atol: float = 0.0,
                 why: str) -> None:
    """Assert |actual − expected| <= atol + rtol·|expected| entrywise, reporting both errors.

    ``why`` justifies the tolerance and is printed with any failure.
    """
    actual_arr = np.asarray(actual, dtype=np.float64)
    expected_arr = np.asarray(expected, dtype=np.float64)
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

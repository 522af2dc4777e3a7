"""Natural data as tensor entries: scikit-learn's digits as indices into a high-order tensor.

The encoding of Razin, Maman, Cohen 2021 (arXiv 2102.09972): each image's pooled, binned
pixels index one entry of a tensor of order (8/pool)², whose value is the image's label; the
data set then is a tensor-completion problem whose distance from low-rank tensors can be measured.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rankcheck.validation import positive_int

__all__ = ["digits_tensor_data"]

def digits_tensor_data(pool: int = 2, levels: int = 4) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """scikit-learn's bundled 8×8 digits (1 797 images, no download) as tensor-completion data.

    Each image, average-pooled over ``pool``×``pool`` blocks and its intensities (0–16) cut into
    ``levels`` equal bins, is an index (i_1, …, i_N) into a tensor of order N = (8/pool)² and side
    ``levels``; its label is +1 for digits 0–4 and −1 for 5–9.

    Parameters
    ----------
    pool : int, default 2
        Must divide 8.
    levels : int, default 4
        Bins of the intensities, >= 2.

    Returns
    -------
    indices : ndarray of int64, shape (1797, N)
    labels : ndarray of float64, shape (1797,)

    Raises
    ------
    ValueError
        Naming the argument: a ``pool`` that does not divide 8, ``levels`` < 2.
    """
    from sklearn.datasets import load_digits

    pool, levels = positive_int(pool, "pool"), positive_int(levels, "levels", minimum=2)
    if 8 % pool:
        raise ValueError(f"pool must divide 8, got {pool}")
    digits = load_digits()
    side = 8 // pool
    images = digits.images.reshape(-1, side, pool, side, pool).mean(axis=(2, 4))
    indices = np.minimum((images / 16.0 * levels).astype(np.int64), levels - 1).reshape(len(images), -1)
    return indices, np.where(digits.target < 5, 1.0, -1.0)

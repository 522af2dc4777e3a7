"""Helpers shared by the CP and hierarchical trainers: checks of observed entries, matricizations."""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray

from rankcheck.validation import as_array, as_finite, nonnegative_float, positive_int


def _check(observed_values, observed_indices, shape, rank):
    dims = tuple(positive_int(d, "shape entry") for d in shape)
    if len(dims) < 2:
        raise ValueError(f"the tensor must have order >= 2, got shape {shape}")
    rank = positive_int(rank, "rank")
    indices = np.asarray(as_array(observed_indices))
    if indices.ndim != 2 or indices.shape[1] != len(dims) or indices.shape[0] == 0:
        raise ValueError(f"observed_indices must be a non-empty (k, {len(dims)}) integer array, "
                         f"got shape {indices.shape}")
    values = as_finite(observed_values, "observed_values")
    if values.shape != (indices.shape[0],):
        raise ValueError(f"observed_values must have shape ({indices.shape[0]},), got {values.shape}")
    if not np.issubdtype(indices.dtype, np.integer) or np.any(indices < 0) \
            or np.any(indices >= np.asarray(dims)):
        raise ValueError(f"observed_indices must be integer positions inside shape {dims}")
    return values, indices, dims, rank


RECORDS = 100  # records of a trajectory when the caller names no interval


def _record_interval(record_every: int | None, steps: int, gap: int) -> int:
    """Steps between records: ``record_every``; None: about ``RECORDS`` records over the run, at
    least ``gap`` steps apart (a record costing c steps then adds at most c/gap to the run)."""
    if record_every is None:
        return max(gap, steps // RECORDS)
    return positive_int(record_every, "record_every")


def _probe_sizes(sizes) -> tuple[float, ...]:
    return tuple(nonnegative_float(size, "probe_steps entry", positive=True) for size in sizes)


def _matricization_spectrum(tensor: NDArray, modes: list[int]) -> NDArray:
    """Singular values of the matricization of ``tensor`` with the given modes as rows, descending
    (LAPACK's gesdd through torch: a third of numpy's call overhead on the small matrices here)."""
    rest = [m for m in range(tensor.ndim) if m not in modes]
    rows = int(np.prod([tensor.shape[m] for m in modes]))
    matrix = np.ascontiguousarray(np.transpose(tensor, modes + rest)).reshape(rows, -1)
    return torch.linalg.svdvals(torch.from_numpy(matrix)).numpy()

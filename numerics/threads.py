"""The torch thread count a solver runs under: one unless the caller asks for more.

Small trainings spend more on torch's thread hand-offs than they gain from them, and on a shared
machine the default (one thread per core) makes every process wait on the others: one thread per
process is the project's rule (the sweeps pin it in their workers; the solvers' ``threads``
argument does the same for direct calls).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from rankcheck.validation import positive_int

__all__ = ["torch_threads"]


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the body with ``torch.set_num_threads(threads)``, restoring the count after.

    Parameters
    ----------
    threads : int or None
        Threads for torch's intra-op pool, >= 1; None leaves torch's setting alone.

    Returns
    -------
    contextlib.AbstractContextManager
        For ``with torch_threads(1): ...``; the body's value is None.

    Raises
    ------
    ValueError
        When ``threads`` is not a positive integer or None.
    """
    if threads is None:
        yield
        return
    wanted = positive_int(threads, "threads")
    before = torch.get_num_threads()
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(before)

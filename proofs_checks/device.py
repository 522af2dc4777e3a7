"""What case functions read from the environment: the torch device of the trainings
(``RANKCHECK_DEVICE``, default the CPU) and a folder of real datasets (``RANKCHECK_DATA_ROOT``).

A module of its own, and a small one: sweep case functions read it, so its source is part of their
code version (``sweep.code_dependencies``) — a change here reruns them.
"""

from __future__ import annotations

import os

__all__ = ["case_device", "case_data_root"]


def case_device() -> str:
    """The device named by ``RANKCHECK_DEVICE`` (``rankcheck run --device`` sets it, and workers
    inherit it), default ``"cpu"``.

    Returns
    -------
    str
    """
    return os.environ.get("RANKCHECK_DEVICE", "cpu")


def case_data_root() -> str | None:
    """The folder of PyTorch Geometric datasets named by ``RANKCHECK_DATA_ROOT`` (``rankcheck run
    --data-root`` sets it), or None when unset.

    Returns
    -------
    str or None
    """
    return os.environ.get("RANKCHECK_DATA_ROOT") or None

"""The torch device of the trainings that take one: ``RANKCHECK_DEVICE``, default the CPU.

A module of its own, and a small one: sweep case functions read it, so its source is part of their
code version (``sweep.code_dependencies``) — a change here reruns them.
"""

from __future__ import annotations

import os

__all__ = ["case_device"]


def case_device() -> str:
    """The device named by ``RANKCHECK_DEVICE`` (``rankcheck run --device`` sets it, and workers
    inherit it), default ``"cpu"``.

    Returns
    -------
    str
    """
    return os.environ.get("RANKCHECK_DEVICE", "cpu")

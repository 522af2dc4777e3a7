"""The error types every route raises besides ``ValueError``.

Bad input is a ``ValueError`` naming the argument (see ``rankcheck.validation``); a solver or a
training that stops before meeting its tolerance raises ``NotConvergedError``, which the registry
reports as ``inconclusive`` with the message as its reason.
"""

from __future__ import annotations

__all__ = ["NotConvergedError"]


class NotConvergedError(RuntimeError):
    """A solver stopped before meeting its tolerance; checks report it as ``inconclusive``.

    The message says which tolerance was missed and by how much, so that the reason in a report is
    enough to decide whether to rerun with a larger budget.
    """

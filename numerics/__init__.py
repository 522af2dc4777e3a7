"""Independent numeric reference solvers, one module per family of claims.

These solvers know nothing of the theory's closed forms nor of verdicts: other projects can import
them alone (``from numerics import dln``).
"""

from rankcheck.errors import NotConvergedError

__all__ = ["NotConvergedError"]

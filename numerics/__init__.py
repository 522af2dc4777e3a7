"""Independent numeric reference solvers, one module (or sub-package) per family of claims.

These solvers know nothing of the theory's closed forms nor of verdicts: other projects can import
them alone (``from rankcheck.numerics import dln``). A family that holds several subjects is a
sub-package with one subject per module, its public names re-exported (``rankcheck.numerics.gnn``,
``.tensor``, ``.cone``). Shared machinery: ``networks`` (float64 torch MLPs), ``optim`` (training to
stationarity), ``threads`` (the torch thread count a solver runs under: one unless asked).
"""

from rankcheck.errors import NotConvergedError

__all__ = ["NotConvergedError"]

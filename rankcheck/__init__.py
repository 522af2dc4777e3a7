"""rankcheck: a symbolic–numeric verification suite for rank-based theories of deep learning.

One namespace, three routes over a small ground floor:

``rankcheck.theory``
    sympy derivations of what each theorem predicts (exact expressions, lambdified functions).
``rankcheck.numerics``
    independent numeric reference solvers and trainings, importable on their own.
``rankcheck.proofs_checks``
    the claim registry: compares the two routes, judges, reports; the CLI and the sweeps.

The ground floor holds what every route may use: ``rankcheck.validation`` (argument checks),
``rankcheck.errors`` (``NotConvergedError``), and for other projects' property tests
``rankcheck.testing`` (``assert_close``) and ``rankcheck.strategies`` (Hypothesis strategies).
``theory`` and ``numerics`` never import each other.
"""

from rankcheck.errors import NotConvergedError

__all__ = ["NotConvergedError", "__version__"]
__version__ = "0.1.0"

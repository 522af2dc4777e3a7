"""What the theorems predict: sympy derivations, exact expressions and lambdified functions.

One module per family of claims (``rankcheck.theory.dln``, ...). Nothing here computes a quantity by
the numeric route of ``rankcheck.numerics``, which this package never imports; the two are compared
by ``rankcheck.proofs_checks``.
"""

__all__: list[str] = []

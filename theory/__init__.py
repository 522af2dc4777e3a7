"""What the theorems predict: sympy derivations, exact expressions and lambdified functions.

One module per family of claims (``theory.dln``, ...). Nothing here computes a quantity by the
numeric route of ``numerics``; the two are compared by ``proofs_checks``.
"""

__all__ = []

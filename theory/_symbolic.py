"""Small sympy helpers shared by the theory modules."""

from __future__ import annotations

import sympy as sp

__all__ = ["symbol_matrix"]


def symbol_matrix(name: str, rows: int, cols: int, *, symmetric: bool = False) -> sp.Matrix:
    """A (rows, cols) matrix of real symbols ``name_ij`` (``name_ij`` = ``name_ji`` if symmetric)."""
    if symmetric:
        return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{min(i, j)}{max(i, j)}", real=True))
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}{j}", real=True))

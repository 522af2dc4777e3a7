"""Hypothesis strategies shared by the checks (at run time) and the tests.

Strategies build valid inputs directly (no filtering). Each drawn case is a small frozen record
whose ``repr`` reproduces it, so a failing case in a report can be rebuilt exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from hypothesis import strategies as st
from numpy.typing import NDArray


def matrix_with_singular_values(
    rows: int, cols: int, singular_values: tuple[float, ...], seed: int
) -> NDArray[np.float64]:
    """U diag(s) Vᵀ with Haar-random U (rows×k), V (cols×k), k = len(s) <= min(rows, cols)."""
    k = len(singular_values)
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((rows, max(k, 1))))
    v, _ = np.linalg.qr(rng.standard_normal((cols, max(k, 1))))
    return (u[:, :k] * np.asarray(singular_values)) @ v[:, :k].T


@dataclass(frozen=True)
class MatrixCase:
    """A (rows × cols) matrix with prescribed non-zero singular values (rank = their count)."""

    rows: int
    cols: int
    singular_values: tuple[float, ...]
    seed: int

    @cached_property
    def matrix(self) -> NDArray[np.float64]:
        return matrix_with_singular_values(self.rows, self.cols, self.singular_values, self.seed)

    @property
    def rank(self) -> int:
        return len(self.singular_values)

    def params(self) -> dict[str, object]:
        """JSON-serializable parameters (for sweeps); ``MatrixCase.from_params`` inverts it."""
        return {"rows": self.rows, "cols": self.cols,
                "singular_values": list(self.singular_values), "seed": self.seed}

    @classmethod
    def from_params(cls, params: dict) -> MatrixCase:
        return cls(int(params["rows"]), int(params["cols"]),
                   tuple(float(v) for v in params["singular_values"]), int(params["seed"]))


@st.composite
def matrix_cases(
    draw: st.DrawFn,
    max_side: int = 6,
    min_singular: float = 0.2,
    max_singular: float = 3.0,
    min_rank: int = 1,
    full_rank: bool | None = None,
    distinct: bool = False,
) -> MatrixCase:
    """Matrices up to ``max_side`` × ``max_side`` with rank >= ``min_rank`` and singular values
    in [min_singular, max_singular].

    ``full_rank``: True forces rank = min(rows, cols), False forces rank < min(rows, cols), None
    draws the rank freely (rank-deficient matrices included). ``distinct``: the k-th largest value
    lies in the k-th of ``rank`` equal bins, inside its middle half, so values differ by at least
    (max − min)/(2·rank).
    """
    low_side = min_rank + 1 if full_rank is False else min_rank
    rows = draw(st.integers(low_side, max_side))
    cols = draw(st.integers(low_side, max_side))
    side = min(rows, cols)
    if full_rank:
        rank = side
    elif full_rank is False:
        rank = draw(st.integers(min_rank, side - 1))
    else:
        rank = draw(st.integers(min_rank, side))
    fractions = draw(st.lists(st.floats(0.0, 1.0), min_size=rank, max_size=rank))
    if distinct:
        fractions = [(k + 0.25 + 0.5 * f) / rank for k, f in enumerate(fractions)]
    values = [min_singular + (max_singular - min_singular) * f for f in fractions]
    seed = draw(st.integers(0, 2**31 - 1))
    return MatrixCase(rows, cols, tuple(sorted(values, reverse=True)), seed)


def depths(max_depth: int = 6) -> st.SearchStrategy[int]:
    return st.integers(1, max_depth)

"""Hypothesis strategies for property tests of rank theory: matrices, PSD matrices, graphs, tensors.

rankcheck's checks draw their cases from these at run time, its tests use them, and they are shipped
for other projects' property tests::

    from hypothesis import given
    from rankcheck import strategies

    @given(strategies.matrix_cases(max_side=5))
    def test_nuclear_norm(case):
        assert abs(np.linalg.norm(case.matrix, "nuc") - sum(case.singular_values)) < 1e-9

Strategies build valid inputs directly (no filtering). Each drawn case is a small frozen record
whose ``repr`` reproduces it (its random parts come from a drawn ``seed``), so a failing case in a
report or a test log can be rebuilt exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from hypothesis import strategies as st
from numpy.typing import NDArray

__all__ = [
    "GraphCase", "MatrixCase", "TensorCase", "depths", "graph_partitions", "graphs", "matrix_cases",
    "matrix_with_singular_values", "observed_tensors", "psd_matrices", "sphere_points",
]


def matrix_with_singular_values(
    rows: int, cols: int, singular_values: tuple[float, ...], seed: int
) -> NDArray[np.float64]:
    """U diag(s) Vᵀ with Haar-random orthonormal U (rows×k) and V (cols×k).

    Parameters
    ----------
    rows, cols : int
        The shape.
    singular_values : tuple of float, length k <= min(rows, cols)
        The non-zero singular values (the rank is k).
    seed : int
        Seed of the numpy generator that draws U and V.

    Returns
    -------
    ndarray, shape (rows, cols)
    """
    k = len(singular_values)
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((rows, max(k, 1))))
    v, _ = np.linalg.qr(rng.standard_normal((cols, max(k, 1))))
    return (u[:, :k] * np.asarray(singular_values)) @ v[:, :k].T


@dataclass(frozen=True)
class MatrixCase:
    """A (rows × cols) matrix with prescribed non-zero singular values (rank = their count).

    Attributes
    ----------
    rows, cols : int
    singular_values : tuple of float
        Non-increasing, all > 0.
    seed : int
        Seed of the singular vectors (``matrix_with_singular_values``).
    matrix : ndarray, shape (rows, cols)
        The matrix, built on first access.
    rank : int
    """

    rows: int
    cols: int
    singular_values: tuple[float, ...]
    seed: int

    @cached_property
    def matrix(self) -> NDArray[np.float64]:
        """The matrix U diag(s) Vᵀ, shape (rows, cols)."""
        return matrix_with_singular_values(self.rows, self.cols, self.singular_values, self.seed)

    @property
    def rank(self) -> int:
        """The number of non-zero singular values."""
        return len(self.singular_values)

    def params(self) -> dict[str, object]:
        """JSON-serializable parameters (for sweeps); ``MatrixCase.from_params`` inverts it."""
        return {"rows": self.rows, "cols": self.cols,
                "singular_values": list(self.singular_values), "seed": self.seed}

    @classmethod
    def from_params(cls, params: dict) -> MatrixCase:
        """The case that ``params()`` describes."""
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
    """Matrices with a given rank range and singular values in [min_singular, max_singular].

    Parameters
    ----------
    max_side : int, default 6
        Rows and columns are drawn in [low, max_side].
    min_singular, max_singular : float
        Bounds of the non-zero singular values.
    min_rank : int, default 1
    full_rank : bool or None, default None
        True forces rank = min(rows, cols), False forces rank < min(rows, cols), None draws the
        rank freely (rank-deficient matrices included).
    distinct : bool, default False
        The k-th largest value lies in the k-th of ``rank`` equal bins, inside its middle half, so
        values differ by at least (max − min)/(2·rank).

    Returns
    -------
    SearchStrategy of MatrixCase
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
    """Network depths L in [1, max_depth].

    Parameters
    ----------
    max_depth : int, default 6

    Returns
    -------
    SearchStrategy of int
    """
    return st.integers(1, max_depth)


@st.composite
def psd_matrices(draw: st.DrawFn, max_side: int = 6, min_eigenvalue: float = 0.1,
                 max_eigenvalue: float = 3.0, rank: int | None = None) -> NDArray[np.float64]:
    """Symmetric positive semi-definite matrices Q diag(λ) Qᵀ with Haar-random Q.

    Parameters
    ----------
    max_side : int, default 6
        The side n is drawn in [max(1, rank), max_side].
    min_eigenvalue, max_eigenvalue : float
        Bounds of the non-zero eigenvalues (0 < min <= max).
    rank : int, optional
        Number of non-zero eigenvalues; default n (positive definite).

    Returns
    -------
    SearchStrategy of ndarray, shape (n, n)
        Exactly symmetric (the average with its transpose).
    """
    side = draw(st.integers(max(1, rank or 1), max_side))
    k = side if rank is None else rank
    values = draw(st.lists(st.floats(min_eigenvalue, max_eigenvalue), min_size=k, max_size=k))
    basis = matrix_with_singular_values(side, side, tuple([1.0] * side), draw(st.integers(0, 2**31 - 1)))
    matrix = (basis[:, :k] * np.asarray(values)) @ basis[:, :k].T
    return (matrix + matrix.T) / 2


@dataclass(frozen=True)
class GraphCase:
    """A simple undirected graph on vertices 0..num_nodes−1.

    Attributes
    ----------
    num_nodes : int
    edges : tuple of (int, int)
        Each undirected edge once, as (u, v) with u < v.
    edge_index : ndarray of int64, shape (2, 2·len(edges))
        Both directions of every edge, the torch_geometric convention every graph solver of
        ``rankcheck.numerics.gnn`` takes.
    """

    num_nodes: int
    edges: tuple[tuple[int, int], ...]

    @property
    def edge_index(self) -> NDArray[np.int64]:
        """Both directions of every edge, shape (2, 2E)."""
        pairs = np.array(self.edges, dtype=np.int64).reshape(-1, 2).T
        return np.concatenate([pairs, pairs[::-1]], axis=1)


@st.composite
def graphs(draw: st.DrawFn, min_nodes: int = 3, max_nodes: int = 8, min_edges: int = 1) -> GraphCase:
    """Simple undirected graphs (no self-loops, no repeated edges), possibly disconnected.

    Parameters
    ----------
    min_nodes, max_nodes : int
        Bounds of the number of vertices (min_nodes >= 2).
    min_edges : int, default 1

    Returns
    -------
    SearchStrategy of GraphCase
    """
    nodes = draw(st.integers(min_nodes, max_nodes))
    possible = [(u, v) for u in range(nodes) for v in range(u + 1, nodes)]
    chosen = draw(st.lists(st.sampled_from(possible), min_size=min(min_edges, len(possible)),
                           unique=True))
    return GraphCase(nodes, tuple(sorted(chosen)))


@st.composite
def graph_partitions(draw: st.DrawFn, min_nodes: int = 3, max_nodes: int = 8
                     ) -> tuple[GraphCase, list[int]]:
    """A graph and one side I of a partition (I, Iᶜ) of its vertices, both sides non-empty.

    Parameters
    ----------
    min_nodes, max_nodes : int
        Bounds of the number of vertices (min_nodes >= 2).

    Returns
    -------
    SearchStrategy of (GraphCase, list of int)
        The partition side is sorted.
    """
    graph = draw(graphs(min_nodes, max_nodes))
    part = draw(st.lists(st.integers(0, graph.num_nodes - 1), min_size=1,
                         max_size=graph.num_nodes - 1, unique=True))
    return graph, sorted(part)


@dataclass(frozen=True)
class TensorCase:
    """A CP tensor of given rank and a random set of observed entries (a tensor-completion case).

    Attributes
    ----------
    shape : tuple of int
    rank : int
        The CP rank the tensor is built with (its rank is at most this).
    observed : int
        Number of observed entries, drawn without replacement.
    seed : int
        Seed of the factors (standard normal, scaled by ``rank^{-1/order}``) and of the mask.
    tensor : ndarray, shape ``shape``
    indices : ndarray of int64, shape (observed, order)
    values : ndarray, shape (observed,)
        ``tensor[indices]``.
    mask : ndarray of bool, shape ``shape``
    """

    shape: tuple[int, ...]
    rank: int
    observed: int
    seed: int

    @cached_property
    def tensor(self) -> NDArray[np.float64]:
        """Σ_r ⊗_n w_r^n with Gaussian factors, shape ``shape``."""
        rng = np.random.default_rng(self.seed)
        factors = [rng.standard_normal((side, self.rank)) * self.rank ** (-1 / len(self.shape))
                   for side in self.shape]
        letters = "abcdefghijklmnopqrstuvwxyz"[:len(self.shape)]
        spec = ",".join(f"{letter}r" for letter in letters) + "->" + letters
        return np.einsum(spec, *factors)

    @cached_property
    def indices(self) -> NDArray[np.int64]:
        """The observed entries' multi-indices, shape (observed, order)."""
        rng = np.random.default_rng([self.seed, 1])
        flat = rng.choice(int(np.prod(self.shape)), size=self.observed, replace=False)
        return np.stack(np.unravel_index(np.sort(flat), self.shape), axis=1).astype(np.int64)

    @property
    def values(self) -> NDArray[np.float64]:
        """The observed values, shape (observed,)."""
        return self.tensor[tuple(self.indices.T)]

    @property
    def mask(self) -> NDArray[np.bool_]:
        """True at the observed entries, shape ``shape``."""
        mask = np.zeros(self.shape, dtype=bool)
        mask[tuple(self.indices.T)] = True
        return mask


@st.composite
def observed_tensors(draw: st.DrawFn, min_order: int = 2, max_order: int = 4, max_side: int = 4,
                     max_rank: int = 2, min_fraction: float = 0.3, max_fraction: float = 0.9
                     ) -> TensorCase:
    """Low-rank tensors with an observation mask.

    Parameters
    ----------
    min_order, max_order : int
        Bounds of the order (number of modes), >= 2.
    max_side : int, default 4
        Each mode's size is drawn in [2, max_side].
    max_rank : int, default 2
        The CP rank is drawn in [1, max_rank].
    min_fraction, max_fraction : float
        Bounds of the observed share of entries (at least one entry is observed, one hidden).

    Returns
    -------
    SearchStrategy of TensorCase
    """
    order = draw(st.integers(min_order, max_order))
    shape = tuple(draw(st.lists(st.integers(2, max_side), min_size=order, max_size=order)))
    size = int(np.prod(shape))
    fraction = draw(st.floats(min_fraction, max_fraction))
    observed = min(max(1, round(fraction * size)), size - 1)
    return TensorCase(shape, draw(st.integers(1, max_rank)), observed, draw(st.integers(0, 2**31 - 1)))


@st.composite
def sphere_points(draw: st.DrawFn, max_points: int = 20, min_dim: int = 2, max_dim: int = 6
                  ) -> NDArray[np.float64]:
    """Points drawn uniformly on the unit sphere S^{d−1} (normalized Gaussian rows).

    Parameters
    ----------
    max_points : int, default 20
        The number of points is drawn in [1, max_points].
    min_dim, max_dim : int
        Bounds of the ambient dimension d.

    Returns
    -------
    SearchStrategy of ndarray, shape (n, d)
        Rows of unit Euclidean norm.
    """
    count = draw(st.integers(1, max_points))
    dim = draw(st.integers(min_dim, max_dim))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    points = rng.standard_normal((count, dim))
    return points / np.linalg.norm(points, axis=1, keepdims=True)

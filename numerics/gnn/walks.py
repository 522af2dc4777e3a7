"""Walk indices of graph partitions (Razin, Verbin, Cohen 2023, arXiv 2211.16494).

Self-loops are added for the walk counts (Â = A + I), as in the paper. For a partition (I, Iᶜ)
the boundary C_I holds the vertices of I with a neighbour in Iᶜ and those of Iᶜ with a neighbour in
I; the walk index WI_{L−1}(I) is the number of length-(L−1) walks of Â that start in C_I and end
anywhere (graph prediction) or at ``target`` (vertex prediction). Counts are exact: int64 while
they provably fit, Python integers beyond.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sparse
from numpy.typing import ArrayLike, NDArray

from rankcheck.numerics.gnn.graphs import INT64_SAFE, adjacency, check_edge_index
from rankcheck.validation import as_array, positive_int

__all__ = ["boundary", "walk_index", "singleton_walk_indices"]

def _walk_vector(matrix: sparse.csr_matrix, start: NDArray, length: int, bound: int) -> NDArray:
    """Â^length · start, exactly: int64 sparse products while ``bound`` fits, else Python ints."""
    if bound < INT64_SAFE:
        vector = start.astype(np.int64)
        for _ in range(length):
            vector = matrix @ vector
        return vector
    vector = start.astype(object)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    for _ in range(length):
        result = np.zeros(matrix.shape[0], dtype=object)
        np.add.at(result, rows, vector[matrix.indices])
        vector = result
    return vector


def boundary(edges: NDArray, num_nodes: int, part: NDArray) -> NDArray[np.bool_]:
    """The boundary C_I of a partition (I, Iᶜ) as a boolean mask.

    Parameters
    ----------
    edges : ndarray of int64, shape (2, E)
        A validated ``edge_index``.
    num_nodes : int
        n, the number of vertices.
    part : ndarray of int, shape (k,)
        The vertices of I.

    Returns
    -------
    ndarray of bool, shape (n,)
        True at the endpoints of the edges that cross the partition.
    """
    inside = np.zeros(num_nodes, dtype=bool)
    inside[part] = True
    crossing = inside[edges[0]] != inside[edges[1]]
    mask = np.zeros(num_nodes, dtype=bool)
    mask[edges[0][crossing]] = True
    return mask


def walk_index(edge_index: ArrayLike, partition: ArrayLike, depth: int, target: int | None = None,
               *, num_nodes: int | None = None, self_loops: bool = True) -> int:
    """The walk index WI_{depth−1}(I) of a partition (Razin, Verbin, Cohen 2023, arXiv 2211.16494).

    The number of length-(depth − 1) walks of A + I that start in the boundary C_I and end anywhere
    (``target=None``, graph prediction) or at ``target`` (vertex prediction), computed exactly by
    depth − 1 sparse matrix–vector products.

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E), or torch_geometric.data.Data
        An undirected graph (``check_edge_index``).
    partition : array_like of int, shape (k,)
        The vertex ids of I: non-empty, distinct, a proper subset of the vertices.
    depth : int
        L, the network's depth (walks have length L − 1).
    target : int, optional
        The vertex a vertex-prediction network predicts at; None for graph prediction.
    num_nodes : int, optional
        Number of vertices (default: the largest id + 1).
    self_loops : bool, default True
        False counts walks of A instead (not the paper's definition; for comparison).

    Returns
    -------
    int
        Exact (a Python int beyond int64).

    Raises
    ------
    ValueError
        Naming the argument: a bad graph, an empty or repeated ``partition``, one covering every
        vertex, ``depth`` < 1, or a ``target`` outside [0, n).
    """
    edges, count = check_edge_index(edge_index, num_nodes)
    depth = positive_int(depth, "depth")
    part = np.asarray(as_array(partition))
    if part.ndim != 1 or part.size == 0 or not np.issubdtype(part.dtype, np.integer):
        raise ValueError("partition must be a non-empty 1-D array of vertex ids")
    if part.min() < 0 or part.max() >= count or np.unique(part).size != part.size:
        raise ValueError(f"partition must hold distinct vertex ids in [0, {count})")
    if part.size == count:
        raise ValueError("partition must be a proper subset of the vertices (its complement is empty)")
    start = np.ones(count, dtype=np.int64)
    if target is not None:
        target = positive_int(target, "target", minimum=0)  # an integer: 1.5 is no vertex
        if not target < count:
            raise ValueError(f"target must be a vertex id in [0, {count}), got {target}")
        start = np.zeros(count, dtype=np.int64)
        start[int(target)] = 1
    matrix = adjacency(edges, count)
    if not self_loops:
        matrix = (matrix - sparse.identity(count, dtype=np.int64, format="csr")).tocsr()
    degree = int(np.max(np.diff(matrix.indptr))) if count else 1
    bound = count * max(degree, 1) ** (depth - 1)
    walks = _walk_vector(matrix, start, depth - 1, bound)
    return int(sum(walks[boundary(edges, count, part)].tolist()))


def singleton_walk_indices(edge_index: ArrayLike, depth: int, *,
                           num_nodes: int | None = None) -> NDArray:
    """WI_{depth−1}({v}) with target v, for every vertex v.

    The length-(depth − 1) walks from the closed neighbourhood N[v] back to v, i.e. (Â^depth)_vv,
    and 0 for an isolated v (empty boundary); computed as the diagonal of Â^depth by sparse
    products, never densely.

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E), or torch_geometric.data.Data
    depth : int
        L >= 1.
    num_nodes : int, optional
        Number of vertices (default: the largest id + 1).

    Returns
    -------
    ndarray, shape (n,)
        int64, or Python ints (object dtype) where the counts could overflow int64.

    Raises
    ------
    ValueError
        Naming the argument: a bad graph or ``depth`` < 1.
    """
    edges, count = check_edge_index(edge_index, num_nodes)
    depth = positive_int(depth, "depth")
    return _singleton_indices(edges, count, depth)


def _singleton_indices(edges: NDArray, count: int, depth: int) -> NDArray[np.int64]:
    matrix = adjacency(edges, count)
    half = matrix
    for _ in range(depth // 2 - 1):
        half = half @ matrix
    if depth == 1:
        diagonal = matrix.diagonal()
    elif depth % 2 == 0:  # diag(H Hᵀ) with H = Â^{depth/2} symmetric
        diagonal = np.asarray(half.multiply(half).sum(axis=1)).ravel()
    else:  # diag(H Â H) = Σ_u (HÂ)_vu H_uv
        diagonal = np.asarray((half @ matrix).multiply(half).sum(axis=1)).ravel()
    isolated = np.bincount(edges[0], minlength=count) == 0
    return np.where(isolated, 0, diagonal).astype(np.int64)

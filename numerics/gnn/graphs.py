"""Undirected graphs as torch_geometric-style ``edge_index``: validation, Â = A + I, edge lists.

A graph is a 2×E integer array (numpy, torch tensor, or a ``torch_geometric.data.Data`` whose
``edge_index`` is used) holding both directions of every edge, without self-loops.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sparse
from numpy.typing import ArrayLike, NDArray

from rankcheck.validation import as_array, as_finite

__all__ = ["INT64_SAFE", "check_edge_index", "adjacency", "undirected_pairs", "edge_index_of", "without"]

INT64_SAFE = 2**62


def check_edge_index(edge_index: ArrayLike, num_nodes: int | None = None) -> tuple[NDArray, int]:
    """Validate an undirected graph and return it as an int64 ``edge_index`` with its vertex count.

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E), or torch_geometric.data.Data
        Both directions of every edge, no self-loops, no repeated edges. A numpy array, a torch
        tensor (any device; copied to the CPU) or a ``Data`` object, whose ``edge_index`` is taken
        and whose ``num_nodes`` is the vertex count when ``num_nodes`` is not given.
    num_nodes : int, optional
        Number of vertices; default: the largest id + 1 (or the ``Data`` object's ``num_nodes``).

    Returns
    -------
    edges : ndarray of int64, shape (2, E)
    count : int
        The number of vertices.

    Raises
    ------
    ValueError
        Naming ``edge_index`` when it is not a 2×E integer array, has negative ids or ids
        >= ``num_nodes``, self-loops, repeated edges, or an edge without its reverse.
    """
    if hasattr(edge_index, "edge_index") and not hasattr(edge_index, "shape"):  # torch_geometric Data
        if num_nodes is None and "num_nodes" in edge_index:  # set, not inferred (which warns)
            num_nodes = int(edge_index.num_nodes)
        edge_index = edge_index.edge_index
    try:
        edges = np.asarray(edge_index.detach().cpu() if hasattr(edge_index, "cpu") else edge_index)
    except (TypeError, ValueError) as err:
        raise ValueError("edge_index must be a 2×E integer array") from err
    if edges.ndim != 2 or edges.shape[0] != 2 or not np.issubdtype(edges.dtype, np.integer):
        raise ValueError(f"edge_index must be a 2×E integer array, got shape {edges.shape} and "
                         f"dtype {edges.dtype}")
    edges = edges.astype(np.int64)
    if edges.size and edges.min() < 0:
        raise ValueError("edge_index has negative vertex ids")
    count = int(edges.max()) + 1 if edges.size else 0
    if num_nodes is not None:
        if edges.size and edges.max() >= num_nodes:
            raise ValueError(f"edge_index has vertex id {int(edges.max())} >= num_nodes = {num_nodes}")
        count = num_nodes
    if np.any(edges[0] == edges[1]):
        raise ValueError("edge_index must not contain self-loops (they are added for the counts)")
    forward = np.sort(edges[0] * max(count, 1) + edges[1])
    if np.any(np.diff(forward) == 0):
        raise ValueError("edge_index contains repeated edges")
    if not np.array_equal(forward, np.sort(edges[1] * max(count, 1) + edges[0])):
        raise ValueError("edge_index must be undirected: both directions of every edge")
    return edges, count


def adjacency(edges: NDArray, num_nodes: int, dtype=np.int64) -> sparse.csr_matrix:
    """Â = A + I of an undirected graph, as a sparse matrix.

    Parameters
    ----------
    edges : ndarray of int64, shape (2, E)
        A validated ``edge_index`` (``check_edge_index``).
    num_nodes : int
        n, the number of vertices.
    dtype : numpy dtype, default int64

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n, n)
    """
    ones = np.ones(edges.shape[1], dtype=dtype)
    matrix = sparse.csr_matrix((ones, (edges[0], edges[1])), shape=(num_nodes, num_nodes))
    return (matrix + sparse.identity(num_nodes, dtype=dtype, format="csr")).tocsr()


def undirected_pairs(edges: NDArray) -> NDArray[np.int64]:
    """The undirected edges of a validated ``edge_index``, each once.

    Parameters
    ----------
    edges : ndarray of int64, shape (2, E)
        Both directions of every edge.

    Returns
    -------
    ndarray of int64, shape (E/2, 2)
        Pairs (u, v) with u < v, in lexicographic order.
    """
    pairs = edges[:, edges[0] < edges[1]].T
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


def edge_index_of(pairs: ArrayLike) -> NDArray[np.int64]:
    """A torch_geometric ``edge_index`` from undirected pairs.

    Parameters
    ----------
    pairs : array_like of int, shape (k, 2)
        k = 0 gives the empty graph's (2, 0).

    Returns
    -------
    ndarray of int64, shape (2, 2k)
        Both directions of every pair.
    """
    pairs = as_finite(pairs, "pairs", allow_empty=True)
    if pairs.size and (pairs.ndim != 2 or pairs.shape[1] != 2 or np.any(pairs != np.rint(pairs))
                       or np.any(pairs < 0)):
        raise ValueError(f"pairs must be (k, 2) non-negative integer vertex ids, got shape {pairs.shape}")
    pairs = pairs.astype(np.int64).reshape(-1, 2)
    return np.concatenate([pairs.T, pairs[:, ::-1].T], axis=1) if len(pairs) else np.zeros((2, 0),
                                                                                          np.int64)


def without(edge_index: ArrayLike, removed: ArrayLike) -> NDArray[np.int64]:
    """A graph minus some of its undirected edges.

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E), or torch_geometric.data.Data
    removed : array_like of int, shape (k, 2)
        Undirected edges to remove, in either orientation.

    Returns
    -------
    ndarray of int64, shape (2, E − 2k')
        ``edge_index`` without both directions of the k' removed edges it contains.

    Raises
    ------
    ValueError
        When ``edge_index`` is not a valid undirected graph (``check_edge_index``).
    """
    edges, count = check_edge_index(edge_index)
    gone = np.asarray(as_array(removed), dtype=np.int64).reshape(-1, 2)
    keys = np.minimum(edges[0], edges[1]) * count + np.maximum(edges[0], edges[1])
    drop = np.minimum(gone[:, 0], gone[:, 1]) * count + np.maximum(gone[:, 0], gone[:, 1])
    return edges[:, ~np.isin(keys, drop)]

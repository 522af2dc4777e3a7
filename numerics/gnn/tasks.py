"""Generated vertex-prediction tasks that need interactions, and a GCN trained on them.

A degree-corrected two-block stochastic block model whose labels depend on 1-hop sums ("sum") or
on 2-hop reach ("reach"), so that removing edges the label needs costs accuracy; the GCN is
torch_geometric's ``GCNConv`` (Kipf & Welling 2017), as in the WIS experiments of arXiv 2211.16494.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sparse
from numpy.typing import ArrayLike, NDArray

from rankcheck.numerics.gnn.graphs import check_edge_index
from rankcheck.numerics.optim import finite_loss
from rankcheck.validation import as_array, as_seed, positive_int

__all__ = [
    "GraphTask", "LABELS", "interaction_sbm", "ball_sizes", "reach_labels", "task_features",
    "gcn_accuracy"
]

@dataclass(frozen=True)
class GraphTask:
    """A generated vertex-prediction task.

    Attributes
    ----------
    edge_index : ndarray of int64, shape (2, E)
    labels : ndarray of int64, shape (n,)
        In {0, 1}.
    block : ndarray of int64, shape (n,)
        The SBM block of each vertex, in {0, 1}.
    z : ndarray of float64, shape (n,)
        The raw vertex feature (z for "sum", b in {0, 1} for "reach"); the GCN's input features
        depend on the graph it is given (``task_features``).
    """

    edge_index: NDArray
    labels: NDArray
    block: NDArray
    z: NDArray


LABELS = ("sum", "reach")


def interaction_sbm(num_nodes: int, seed: int, *, label: str = "sum", hops: int = 1,
                    active: float | None = None, degree_in: float = 2.0, degree_out: float = 1.0,
                    tail: float = 2.5) -> GraphTask:
    """A two-block degree-corrected stochastic block model and labels that need interactions.

    Vertex v gets a weight θ_v ~ 1 + Pareto(``tail``) (normalized to mean 1: hubs and many
    low-degree vertices) and a block v mod 2; edge u–v is present with probability
    min(1, θ_uθ_v·c/(n/2)), c = ``degree_in`` within a block and ``degree_out`` across. Labels:

    - ``label="sum"``: features z_v ~ N(0, 1), label 1{z_v + Σ_{u∈N(v)} z_u > 0} — a threshold of
      a sum, which no product g(x_v)·h(x_rest) gives (separation rank > 1 with respect to
      ({v}, rest)); a vertex that loses k of its d edges keeps a correlation √((d + 1 − k)/(d + 1))
      with its label.
    - ``label="reach"``: features b_v ~ Bernoulli(``active``), label 1{an active vertex within
      ``hops`` of v} = 1 − Π_{dist(u, v) <= hops}(1 − b_u) (``reach_labels``): a product across
      ({v}, rest) over the ball of radius ``hops``.

    The graph and z do not depend on ``label``: the tasks of one seed share their graph.

    Parameters
    ----------
    num_nodes : int
        n >= 4.
    seed : int
        Every random draw derives from it.
    label : {"sum", "reach"}, default "sum"
    hops : int, default 1
        Radius of the "reach" label (must stay 1 for "sum").
    active : float, optional
        P(b_v = 1) of "reach"; default 1 − 2^{−1/m̄} with m̄ the mean ball size, which would
        balance the labels if every ball had m̄ vertices.
    degree_in, degree_out : float
        Mean degrees within and across blocks before the degree correction.
    tail : float, default 2.5
        Pareto exponent of the vertex weights.

    Returns
    -------
    GraphTask

    Raises
    ------
    ValueError
        Naming the argument: an unknown ``label``, ``hops`` != 1 with "sum", an ``active`` outside
        (0, 1), or a non-positive size.
    """
    num_nodes = positive_int(num_nodes, "num_nodes", minimum=4)
    if label not in LABELS:
        raise ValueError(f"label must be one of {LABELS}, got {label!r}")
    hops = positive_int(hops, "hops")
    if label == "sum" and hops != 1:
        raise ValueError(f"hops applies to label='reach' only (the sum is over N(v)), got hops={hops}")
    rng = np.random.default_rng(as_seed(seed))
    block = np.arange(num_nodes) % 2
    theta = rng.pareto(tail, num_nodes) + 1.0
    theta /= theta.mean()
    u, v = np.triu_indices(num_nodes, 1)
    rate = np.where(block[u] == block[v], degree_in, degree_out) / (num_nodes / 2)
    present = rng.random(u.size) < np.minimum(1.0, theta[u] * theta[v] * rate)
    pairs = np.stack([u[present], v[present]])
    edge_index = np.concatenate([pairs, pairs[::-1]], axis=1)
    z = rng.standard_normal(num_nodes)
    if label == "sum":
        signal = z.copy()
        np.add.at(signal, edge_index[0], z[edge_index[1]])
        return GraphTask(edge_index, (signal > 0).astype(np.int64), block, z)
    balls = _balls(edge_index, hops, num_nodes)
    if active is None:
        active = 1.0 - 2.0 ** (-1.0 / float(balls.sum() / num_nodes))
    elif not 0.0 < active < 1.0:
        raise ValueError(f"active must be a probability in (0, 1), got {active}")
    b = (rng.random(num_nodes) < active).astype(float)
    return GraphTask(edge_index, _reached(balls, b), block, b)


def _balls(edge_index: ArrayLike, hops: int, num_nodes: int | None) -> sparse.csr_matrix:
    """Boolean (n, n) sparse matrix: u within ``hops`` of v (closed balls)."""
    edges, count = check_edge_index(edge_index, num_nodes)
    step = sparse.csr_matrix((np.ones(edges.shape[1], dtype=bool), (edges[0], edges[1])),
                             shape=(count, count)) + sparse.eye(count, dtype=bool, format="csr")
    reach = sparse.eye(count, dtype=bool, format="csr")
    for _ in range(positive_int(hops, "hops")):
        reach = reach @ step
    return reach


def ball_sizes(edge_index: ArrayLike, hops: int, *, num_nodes: int | None = None) -> NDArray[np.int64]:
    """|{u : dist(u, v) <= hops}| for every vertex v (v included), by boolean sparse products.

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E), or torch_geometric.data.Data
    hops : int
        Radius >= 1.
    num_nodes : int, optional
        n (default: the largest id + 1).

    Returns
    -------
    ndarray of int64, shape (n,)
    """
    return np.asarray(_balls(edge_index, hops, num_nodes).sum(axis=1)).ravel().astype(np.int64)


def reach_labels(edge_index: ArrayLike, active: ArrayLike, hops: int) -> NDArray[np.int64]:
    """1{some active vertex lies within ``hops`` of v} for every vertex v.

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E), or torch_geometric.data.Data
    active : array_like of {0, 1}, shape (n,)
        n fixes the number of vertices, isolated ones included.
    hops : int
        Radius >= 1.

    Returns
    -------
    ndarray of int64, shape (n,)

    Raises
    ------
    ValueError
        When ``active`` is not a 0/1 vector with one entry per vertex.
    """
    flags = np.asarray(as_array(active))
    if flags.ndim != 1 or not np.all((flags == 0) | (flags == 1)):
        raise ValueError(f"active must be a 0/1 vector, one entry per vertex, got shape {flags.shape}")
    return _reached(_balls(edge_index, hops, flags.size), flags)


def _reached(balls: sparse.csr_matrix, active: NDArray) -> NDArray[np.int64]:
    """1{the ball of v holds an active vertex} from the boolean ball matrix (``_balls``)."""
    return np.asarray(balls @ active.astype(bool)).ravel().astype(np.int64)


def task_features(z: NDArray, block: NDArray, edge_index: NDArray) -> NDArray:
    """The GCN's input features [z_v·√(d_v + 1), 1{block 0}, 1{block 1}] on a given graph.

    d_v is the degree in ``edge_index`` (the graph the GCN sees): GCN's propagation D̂^{-1/2}ÂD̂^{-1/2}
    then sums z over N[v], up to the factor 1/√(d_v + 1), so one layer can read the label's sum off
    the graph it is given.

    Parameters
    ----------
    z : ndarray, shape (n,)
    block : ndarray of int, shape (n,)
    edge_index : ndarray of int64, shape (2, E)

    Returns
    -------
    ndarray of float64, shape (n, 3)
    """
    degree = np.bincount(edge_index[0], minlength=z.size)
    return np.stack([z * np.sqrt(degree + 1.0), block == 0, block == 1], axis=1).astype(float)


def gcn_accuracy(task: GraphTask, edge_index: ArrayLike, train: ArrayLike, test: ArrayLike, *,
                 seed: int, depth: int = 3, hidden: int = 64, epochs: int = 300, lr: float = 0.01,
                 weight_decay: float = 5e-4) -> float:
    """Test accuracy of a GCN trained on a task over a given (possibly sparsified) graph.

    A depth-``depth`` GCN (torch_geometric ``GCNConv``, ReLU, float64) trained full-batch with Adam on
    the ``train`` vertices; the features are recomputed for the graph it is given
    (``task_features``).

    Parameters
    ----------
    task : GraphTask
    edge_index : array_like of int, shape (2, E'), or torch_geometric.data.Data
        The graph the GCN sees (the task's, or what a sparsification kept of it).
    train, test : array_like of int
        Vertex ids.
    seed : int
        Seed of torch's generator (initialization).
    depth : int, default 3
    hidden : int, default 64
    epochs : int, default 300
    lr : float, default 0.01
    weight_decay : float, default 5e-4

    Returns
    -------
    float
        The share of ``test`` vertices whose label the trained GCN predicts.

    Raises
    ------
    ValueError
        Naming the argument: a bad graph or a non-positive size.
    """
    import torch
    from torch_geometric.nn import GCNConv

    depth, hidden = positive_int(depth, "depth"), positive_int(hidden, "hidden")
    graph, _ = check_edge_index(edge_index, task.z.size)
    x, edges = torch.as_tensor(task_features(task.z, task.block, graph)), torch.as_tensor(graph)
    torch.manual_seed(as_seed(seed))
    sizes = [x.shape[1], *[hidden] * (depth - 1), 2]
    layers = torch.nn.ModuleList([GCNConv(a, b) for a, b in zip(sizes, sizes[1:], strict=False)]).double()
    optimizer = torch.optim.Adam(layers.parameters(), lr=lr, weight_decay=weight_decay)
    labels = torch.as_tensor(task.labels)
    train, test = torch.as_tensor(np.asarray(as_array(train))), torch.as_tensor(np.asarray(as_array(test)))

    def forward() -> torch.Tensor:
        h = x
        for k, layer in enumerate(layers):
            h = layer(h, edges)
            h = torch.relu(h) if k < depth - 1 else h
        return h

    for epoch in range(epochs):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(forward()[train], labels[train])
        finite_loss(loss, "gcn_accuracy", epoch).backward()
        optimizer.step()
    with torch.no_grad():
        return float((forward()[test].argmax(1) == labels[test]).double().mean())

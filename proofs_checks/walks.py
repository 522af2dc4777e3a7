"""Claims on walk indices of graph partitions (note: notes/walks.md).

Source: Razin, Verbin, Cohen, arXiv 2211.16494 (CLAIMS.md §10d). Prediction: the walk index by
sparse products (``numerics.walks.walk_index``); measurement: brute-force enumeration of walks on a
networkx graph, written here independently.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import partial

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from numerics import walks as solvers  # noqa: E402
from proofs_checks.context import Context  # noqa: E402
from proofs_checks.registry import claim  # noqa: E402

SOURCE = "Razin, Verbin, Cohen 2023, arXiv 2211.16494, walk index of a partition"


def enumerate_walks(graph: nx.Graph, part: list[int], length: int, target: int | None) -> int:
    """Count walks of ``length`` steps on ``graph`` with a self-loop at every vertex, starting at
    the boundary of ``part`` (vertices with a neighbour across) and ending anywhere or at
    ``target``, by listing them one by one."""
    inside = set(part)
    starts = [v for v in graph if any((u in inside) != (v in inside) for u in graph[v])]
    count = 0
    for start in starts:
        walks = [(start,)]
        for _ in range(length):
            walks = [w + (x,) for w in walks for x in (*graph[w[-1]], w[-1])]
        count += sum(1 for w in walks if target is None or w[-1] == target)
    return count


def _edge_index(graph: nx.Graph) -> np.ndarray:
    pairs = np.array(list(graph.edges()), dtype=np.int64).reshape(-1, 2).T
    return np.concatenate([pairs, pairs[::-1]], axis=1)


@st.composite
def _cases(draw):
    nodes = draw(st.integers(3, 9))
    possible = list(itertools.combinations(range(nodes), 2))
    edges = draw(st.lists(st.sampled_from(possible), min_size=2, max_size=14, unique=True))
    part = draw(st.lists(st.integers(0, nodes - 1), min_size=1, max_size=nodes - 1, unique=True))
    return nodes, sorted(edges), sorted(part), draw(st.integers(1, 5)), \
        draw(st.none() | st.integers(0, nodes - 1))


def _graph(nodes: int, edges: list) -> nx.Graph:
    graph = nx.Graph()
    graph.add_nodes_from(range(nodes))
    graph.add_edges_from(edges)
    return graph


def _plot(ctx: Context, cases, predicted) -> None:
    fig, ax = plt.subplots(figsize=(4.6, 3.4))
    depths = [c[3] for c in cases]
    ax.semilogy(depths, np.maximum(predicted, 0.5), "o", alpha=0.6)
    ax.set(xlabel="depth L (walk length L − 1)", ylabel="walk index (0 drawn at 0.5)",
           title="walk indices of the drawn partitions")
    ctx.savefig(fig, "walk_indices")


@claim(
    "gnn.walk_index",
    statement="The walk index WI_{L−1}(I) — walks of length L − 1 on the graph with self-loops "
    "that start at the boundary of the partition (and end at the target for vertex prediction) — "
    "computed by sparse products equals the number of such walks listed one by one, and removing "
    "an edge never increases it.",
    source=SOURCE,
    predict=solvers.walk_index,
    broken=partial(solvers.walk_index, self_loops=False),
    broken_how="walks of A without the self-loops the definition adds",
)
def check_walk_index(ctx: Context, predict: Callable[..., int]) -> list:
    cases = ctx.draw(_cases(), ctx.pick(quick=40, full=300), label="graphs")
    graphs = [_graph(nodes, edges) for nodes, edges, *_ in cases]
    predicted = [predict(_edge_index(g), part, depth, target, num_nodes=nodes)
                 for g, (nodes, _, part, depth, target) in zip(graphs, cases, strict=True)]
    listed = ctx.cached("listed", lambda: [enumerate_walks(g, part, depth - 1, target)
                                           for g, (_, _, part, depth, target)
                                           in zip(graphs, cases, strict=True)])
    _plot(ctx, cases, predicted)
    counts = ctx.compare(
        "walk index by sparse products vs walks listed one by one",
        predicted, listed, rtol=0.0, atol=0.5,
        why="integer counts must agree exactly",
        cases=[{"nodes": c[0], "edges": c[1], "part": c[2], "depth": c[3], "target": c[4]}
               for c in cases],
    )
    increases = []
    for graph, (nodes, edges, part, depth, target), value in zip(graphs, cases, predicted,
                                                                   strict=True):
        worst = 0
        for edge in edges:
            smaller = graph.copy()
            smaller.remove_edge(*edge)
            worst = max(worst, predict(_edge_index(smaller), part, depth, target,
                                       num_nodes=nodes) - value)
        increases.append(worst)
    monotone = ctx.compare(
        "largest increase of the walk index over all single-edge removals",
        [0] * len(cases), increases, rtol=0.0, atol=0.5,
        why="an integer that must be <= 0: the walks of a subgraph are walks of the graph",
        cases=[{"nodes": c[0], "edges": c[1]} for c in cases],
    )
    return [counts, monotone]

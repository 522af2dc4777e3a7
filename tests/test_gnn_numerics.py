"""rankcheck.numerics.gnn against brute-force walk enumeration (networkx) and naive re-computation."""


import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rankcheck import strategies
from rankcheck.numerics import gnn as W


def as_edge_index(graph: nx.Graph) -> np.ndarray:
    pairs = np.array(list(graph.edges()), dtype=np.int64).reshape(-1, 2).T
    return np.concatenate([pairs, pairs[::-1]], axis=1)


def brute_force_walks(graph: nx.Graph, part, length, target=None) -> int:
    """Enumerate every walk of ``length`` steps on the graph with self-loops added."""
    inside = set(part)
    starts = [v for v in graph if any((u in inside) != (v in inside) for u in graph[v])]
    closed = {v: [*graph[v], v] for v in graph}
    count = 0
    for start in starts:
        paths = [[start]]
        for _ in range(length):
            paths = [p + [w] for p in paths for w in closed[p[-1]]]
        count += sum(1 for p in paths if target is None or p[-1] == target)
    return count


@st.composite
def graphs_with_partitions(draw):
    """The shipped ``strategies.graph_partitions`` as a networkx graph (the brute-force route),
    with a depth and a target vertex (None: graph prediction)."""
    case, part = draw(strategies.graph_partitions(min_nodes=3, max_nodes=8))
    graph = nx.Graph()
    graph.add_nodes_from(range(case.num_nodes))
    graph.add_edges_from(case.edges)
    return graph, part, draw(st.integers(1, 4)), draw(st.none() | st.integers(0, case.num_nodes - 1))


@given(graphs_with_partitions())
def test_walk_index_equals_brute_force_enumeration(case):
    graph, part, depth, target = case
    expected = brute_force_walks(graph, part, depth - 1, target)
    assert W.walk_index(as_edge_index(graph), part, depth, target,
                        num_nodes=graph.number_of_nodes()) == expected


@given(graphs_with_partitions())
def test_removing_an_edge_never_increases_a_walk_index(case):
    graph, part, depth, target = case
    nodes = graph.number_of_nodes()
    before = W.walk_index(as_edge_index(graph), part, depth, target, num_nodes=nodes)
    for edge in list(graph.edges()):
        smaller = graph.copy()
        smaller.remove_edge(*edge)
        if smaller.number_of_edges():
            assert W.walk_index(as_edge_index(smaller), part, depth, target,
                                num_nodes=nodes) <= before


@given(graphs_with_partitions())
def test_singleton_indices_are_walk_indices_with_their_own_target(case):
    graph, _, depth, _ = case
    nodes = graph.number_of_nodes()
    edge_index = as_edge_index(graph)
    expected = [W.walk_index(edge_index, [v], depth, v, num_nodes=nodes) for v in range(nodes)]
    assert W.singleton_walk_indices(edge_index, depth, num_nodes=nodes).tolist() == expected


def test_counts_beyond_int64_stay_exact():
    """K_30 with self-loops is the all-ones J, J^19·1 = 30^19·1, and every vertex is on the
    boundary of a half/half partition: WI_19 = 30·30^19 = 30^20 ≈ 3.5e29, beyond int64."""
    edge_index = as_edge_index(nx.complete_graph(30))
    assert W.walk_index(edge_index, list(range(15)), 20) == 30**20
    assert W.walk_index(edge_index, list(range(15)), 3) == 30**3  # the int64 route agrees


def naive_one_wis(edge_index, count):
    pairs = [tuple(p) for p in W.undirected_pairs(edge_index).tolist()]
    order = []
    for _ in range(count):
        degree = {}
        for u, v in pairs:
            degree[u] = degree.get(u, 0) + 1
            degree[v] = degree.get(v, 0) + 1
        best = max(pairs, key=lambda p: (min(degree[p[0]], degree[p[1]]),
                                         max(degree[p[0]], degree[p[1]]), -p[0], -p[1]))
        pairs.remove(best)
        order.append(best)
    return order


def naive_wis(edge_index, count, depth):
    nodes = int(edge_index.max()) + 1
    alive = [tuple(p) for p in W.undirected_pairs(edge_index).tolist()]
    order = []
    for _ in range(count):
        def key(pair):
            rest = np.array([q for q in alive if q != pair], dtype=np.int64).reshape(-1, 2)
            return tuple(sorted(W.singleton_walk_indices(W.edge_index_of(rest), depth,
                                                         num_nodes=nodes).tolist()))
        best = max(sorted(alive), key=key)  # max keeps the first (smallest pair) among ties
        alive.remove(best)
        order.append(best)
    return order


@pytest.mark.parametrize("seed", range(4))
def test_one_wis_and_wis_match_their_definitions(seed):
    graph = nx.gnm_random_graph(12, 24, seed=seed)
    edge_index = as_edge_index(graph)
    kept, order = W.one_wis(edge_index, 10)
    assert [tuple(p) for p in order.tolist()] == naive_one_wis(edge_index, 10)
    assert kept.shape == (2, 2 * (24 - 10))
    for depth in (2, 3):
        kept, order = W.wis(edge_index, 8, depth)
        assert [tuple(p) for p in order.tolist()] == naive_wis(edge_index, 8, depth)


@pytest.mark.parametrize("graph", [nx.gnm_random_graph(150, 600, seed=5),
                                   nx.barabasi_albert_graph(150, 4, seed=6)])
def test_one_wis_buckets_match_the_definition_over_most_removals(graph):
    """Many ties and falling keys: buckets re-filed lazily must still give the argmax order."""
    edge_index = as_edge_index(graph)
    count = graph.number_of_edges() * 2 // 3
    assert [tuple(p) for p in W.one_wis(edge_index, count)[1].tolist()] == naive_one_wis(edge_index, count)


def test_baselines_remove_what_they_say():
    graph = nx.gnm_random_graph(20, 40, seed=1)
    edge_index = as_edge_index(graph)
    for kept, order in (W.random_removal(edge_index, 15, seed=3), W.degree_removal(edge_index, 15)):
        assert kept.shape == (2, 50) and order.shape == (15, 2)
        remaining = set(map(tuple, W.undirected_pairs(kept).tolist()))
        assert remaining.isdisjoint(map(tuple, order.tolist()))


@pytest.mark.parametrize("edge_index, message", [
    (np.array([[0, 1], [1, 2]]), "undirected"),
    (np.array([[0, 0], [0, 0]]), "self-loops"),
    (np.array([[0, -1], [-1, 0]]), "negative"),
    (np.array([0, 1]), "2×E"),
    (np.array([[0.0, 1.0], [1.0, 0.0]]), "integer"),
])
def test_malformed_edge_index(edge_index, message):
    with pytest.raises(ValueError, match=message):
        W.walk_index(edge_index, [0], 2)


def test_bad_partitions_depths_and_removals():
    edge_index = as_edge_index(nx.path_graph(4))
    with pytest.raises(ValueError, match="partition"):
        W.walk_index(edge_index, [], 2)
    with pytest.raises(ValueError, match="partition"):
        W.walk_index(edge_index, [0, 9], 2)
    with pytest.raises(ValueError, match="proper subset"):
        W.walk_index(edge_index, [0, 1, 2, 3], 2)
    with pytest.raises(ValueError, match="depth"):
        W.walk_index(edge_index, [0], 0)
    with pytest.raises(ValueError, match="num_remove"):
        W.one_wis(edge_index, 4)
    with pytest.raises(ValueError, match="num_nodes"):
        W.walk_index(edge_index, [0], 2, num_nodes=3)


@pytest.mark.parametrize("depth", [3, 4])
def test_wis_cache_invalidation_on_a_sparse_graph(depth):
    """On a sparse graph most cached effects survive a removal; the order must still be exact."""
    edge_index = as_edge_index(nx.gnm_random_graph(40, 55, seed=7))
    _, order = W.wis(edge_index, 20, depth)
    assert [tuple(p) for p in order.tolist()] == naive_wis(edge_index, 20, depth)


@pytest.mark.parametrize("graph, expected", [
    (nx.path_graph(6), 1.0),            # every edge of a tree is a bridge
    (nx.cycle_graph(7), 6 / 7),         # two parallel paths of lengths 1 and n − 1
    (nx.complete_graph(9), 2 / 9),      # K_n: 2/n
])
def test_effective_resistances_closed_forms(graph, expected):
    _, resistance = W.effective_resistances(as_edge_index(graph))
    assert np.allclose(resistance, expected, rtol=1e-10, atol=1e-12)


def test_foster_theorem_and_spectral_baseline():
    """Foster: Σ_e R_e = n − 1 on a connected graph; the baseline removes the smallest R_e first
    and never a bridge while another edge is left."""
    graph = nx.barbell_graph(5, 0)  # two K_5 joined by one bridge
    edge_index = as_edge_index(graph)
    _, resistance = W.effective_resistances(edge_index)
    assert abs(resistance.sum() - (graph.number_of_nodes() - 1)) < 1e-9
    _, order = W.spectral_removal(edge_index, graph.number_of_edges() - 1)
    assert (4, 5) not in map(tuple, order.tolist())


def test_wis_in_chunks_removes_the_top_of_one_ranking():
    """chunk = k removes the k best candidates of the first ranking (each judged alone)."""
    edge_index = as_edge_index(nx.gnm_random_graph(14, 26, seed=3))
    nodes = int(edge_index.max()) + 1
    pairs = [tuple(p) for p in W.undirected_pairs(edge_index).tolist()]

    def key(pair):
        rest = np.array([q for q in pairs if q != pair], dtype=np.int64).reshape(-1, 2)
        return tuple(sorted(W.singleton_walk_indices(W.edge_index_of(rest), 3,
                                                     num_nodes=nodes).tolist()))

    ranking = sorted(sorted(pairs), key=key, reverse=True)  # stable: ties keep the smaller pair first
    _, order = W.wis(edge_index, 5, 3, chunk=5)
    assert [tuple(p) for p in order.tolist()] == ranking[:5]
    _, exact = W.wis(edge_index, 5, 3)
    assert [tuple(p) for p in exact.tolist()] == naive_wis(edge_index, 5, 3)
    with pytest.raises(ValueError, match="chunk"):
        W.wis(edge_index, 5, 3, chunk=0)


def test_interaction_sbm_labels_and_features_against_networkx_and_gcn_normalization():
    import torch
    from torch_geometric.nn.conv.gcn_conv import gcn_norm

    task = W.interaction_sbm(120, seed=4)
    features = W.task_features(task.z, task.block, task.edge_index)
    graph = nx.Graph(task.edge_index.T.tolist())
    graph.add_nodes_from(range(120))
    sums = np.array([task.z[v] + sum(task.z[u] for u in graph[v]) for v in range(120)])
    assert np.array_equal(task.labels, (sums > 0).astype(int))
    assert np.array_equal(task.block, np.arange(120) % 2)
    # GCN's propagation D̂^{-1/2}ÂD̂^{-1/2} of the first feature is Σ_{N[v]} z / √(d_v + 1).
    edges, weights = gcn_norm(torch.as_tensor(task.edge_index), num_nodes=120, add_self_loops=True)
    propagated = torch.zeros(120, dtype=torch.float64).index_add_(
        0, edges[1], weights.double() * torch.as_tensor(features[:, 0])[edges[0]])
    degree = np.array([graph.degree(v) for v in range(120)])
    np.testing.assert_allclose(propagated.numpy(), sums / np.sqrt(degree + 1), rtol=1e-6, atol=1e-6)
    assert np.array_equal(W.interaction_sbm(120, seed=4).edge_index, task.edge_index)  # seeded


def test_reach_labels_and_ball_sizes_against_networkx_distances():
    graph = nx.gnm_random_graph(40, 45, seed=3)  # sparse: some vertices isolated, several components
    edge_index = as_edge_index(graph)
    active = (np.random.default_rng(0).random(40) < 0.1).astype(int)
    for hops in (1, 2, 3):
        balls = [nx.single_source_shortest_path_length(graph, v, cutoff=hops) for v in range(40)]
        assert W.ball_sizes(edge_index, hops, num_nodes=40).tolist() == [len(b) for b in balls]
        expected = [int(any(active[u] for u in b)) for b in balls]
        assert W.reach_labels(edge_index, active, hops).tolist() == expected
    with pytest.raises(ValueError, match="active"):
        W.reach_labels(edge_index, np.full(40, 0.5), 1)
    with pytest.raises(ValueError, match="hops"):
        W.reach_labels(edge_index, active, 0)


def test_interaction_sbm_reach_task_shares_the_graph_and_balances_the_labels_by_its_rule():
    summed = W.interaction_sbm(300, seed=7)
    for hops in (1, 2):
        task = W.interaction_sbm(300, seed=7, label="reach", hops=hops)
        assert np.array_equal(task.edge_index, summed.edge_index)  # one graph per seed, any label
        assert set(np.unique(task.z)) <= {0.0, 1.0}
        assert np.array_equal(task.labels, W.reach_labels(task.edge_index, task.z, hops))
        # the default rate 1 − 2^{−1/m̄}: a ball of the mean size m̄ holds no active vertex with
        # probability 1/2; by Jensen the mean label is at most 1/2 (binomial noise: 300 vertices)
        assert 0.15 < task.labels.mean() < 0.55, task.labels.mean()
    rare = W.interaction_sbm(300, seed=7, label="reach", active=0.01)
    assert rare.labels.mean() < task.labels.mean()
    for kwargs, word in (({"label": "max"}, "label"), ({"hops": 2}, "hops"),
                         ({"label": "reach", "active": 1.0}, "active")):
        with pytest.raises(ValueError, match=word):
            W.interaction_sbm(300, seed=7, **kwargs)


def test_removal_orders_dispatch_and_prefixes():
    edge_index = as_edge_index(nx.gnm_random_graph(30, 70, seed=2))
    assert np.array_equal(W.removal_order("one_wis", edge_index, 20), W.one_wis(edge_index, 20)[1])
    assert np.array_equal(W.removal_order("random", edge_index, 20, seed=5),
                          W.random_removal(edge_index, 20, seed=5)[1])
    # Chunked WIS: the order for fewer removals is a prefix of the order for more.
    longer = W.removal_order("wis", edge_index, 25, chunk=10)
    assert np.array_equal(W.removal_order("wis", edge_index, 15, chunk=10), longer[:15])
    kept = W.without(edge_index, longer)
    assert kept.shape[1] == edge_index.shape[1] - 2 * 25
    remaining = {tuple(sorted(p)) for p in kept.T.tolist()}
    assert not remaining & {tuple(sorted(p)) for p in longer.tolist()}
    with pytest.raises(ValueError, match="method"):
        W.removal_order("ugs", edge_index, 3)


def test_sparsified_and_cut_off_cases_measure_on_the_kept_graph():
    from rankcheck.proofs_checks.gnn import cut_off_case, sparsified_case

    case = {"task": "reach 2", "method": "random", "max_ratio": 0.5, "seed": 3, "nodes": 100, "epochs": 1}
    whole, half = sparsified_case({**case, "ratio": 0.0}), sparsified_case({**case, "ratio": 0.5})
    assert whole["determined"] == 1.0  # the full graph determines every label, by definition
    task = W.interaction_sbm(100, 3, label="reach", hops=2)
    removed = W.random_removal(task.edge_index, round(0.5 * task.edge_index.shape[1] / 2), seed=3)[1]
    kept = W.without(task.edge_index, removed)
    assert half["determined"] == np.mean(W.reach_labels(kept, task.z, 2) == task.labels) < 1.0
    graph = {k: v for k, v in case.items() if k not in ("task", "epochs")}
    expected = int(np.sum(W.singleton_walk_indices(kept, 3, num_nodes=100) == 0))
    assert cut_off_case({**graph, "ratio": 0.5})["zero_walk_index"] == expected > 0
    assert sparsified_case({**case, "task": "sum", "ratio": 0.5})["determined"] is None


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_wis_matches_its_definition_on_a_dense_graph(depth):
    """Mean degree 8: every removal reaches most candidates, and the rank-2 expansion runs all its
    terms (depth 5: words with up to five removed-edge factors)."""
    edge_index = as_edge_index(nx.gnm_random_graph(15, 60, seed=depth))
    _, order = W.wis(edge_index, 6, depth)
    assert [tuple(p) for p in order.tolist()] == naive_wis(edge_index, 6, depth)


@given(strategies.graphs(3, 9), st.integers(1, 5))
def test_removal_effects_and_keys_are_the_recomputed_sorted_vectors(graph, depth):
    """Each candidate's changed indices are those of the graph without it, and the keys order the
    candidates as the sorted vectors do (the two private helpers against recomputation)."""
    from rankcheck.numerics.gnn import sparsification as S
    edge_index = W.edge_index_of(np.array(graph.edges, dtype=np.int64).reshape(-1, 2))
    if edge_index.shape[1] == 0:
        return
    nodes = graph.num_nodes
    pairs = W.undirected_pairs(edge_index)
    degree = np.bincount(edge_index[0], minlength=nodes)
    current = W.singleton_walk_indices(edge_index, depth, num_nodes=nodes)
    powers = S._powers(edge_index, nodes, depth)
    keys, owner, vertex, value = S._effect_keys(powers, current, degree, pairs, np.arange(len(pairs)))
    vectors = []
    for index in range(len(pairs)):
        truth = W.singleton_walk_indices(W.edge_index_of(np.delete(pairs, index, axis=0)), depth,
                                         num_nodes=nodes)
        mine = current.copy()
        mine[vertex[owner == index]] = value[owner == index]
        assert mine.tolist() == truth.tolist()
        vectors.append(sorted(truth.tolist()))
    for i in range(len(pairs)):
        for j in range(len(pairs)):
            assert (keys[i] < keys[j]) == (vectors[i] < vectors[j])


def test_wis_refuses_a_depth_whose_counts_overflow():
    edge_index = as_edge_index(nx.star_graph(30))  # Δ = 30: 32^13 > 2^62
    assert W.wis(edge_index, 1, 12)[1].shape == (1, 2)
    with pytest.raises(ValueError, match="depth 13"):
        W.wis(edge_index, 1, 13)

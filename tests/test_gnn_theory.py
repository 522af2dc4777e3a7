"""theory.gnn (the separation-rank bound of product GNNs) and the grid-tensor ranks of
numerics.gnn, against hand derivations, a second formula and numpy."""

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings

from rankcheck.numerics import gnn as W
from rankcheck.theory import gnn as S
from tests.test_gnn_numerics import as_edge_index, graphs_with_partitions


def test_exponent_by_hand_on_a_path():
    # Path 0–1–2, I = {0}, L = 2, target 0: h⁽¹⁾_j are products of one-vertex factors (sep 1);
    # (W⁽²⁾h⁽¹⁾_0)_d and (W⁽²⁾h⁽¹⁾_1)_d sum D_h such terms (sep <= D_h each, both 0 and 1 touch
    # both sides), their product has sep <= D_h², the read-out a factor D_h more: D_h³.
    assert S.separation_rank_bound(3, [(0, 1), (1, 2)], [0], 2, 0) == S.width ** 3
    # Target 2 at depth 1: h⁽¹⁾_2 = W x_1 ⊙ W x_2 only involves Iᶜ, the bound is D_h.
    assert S.interaction_exponent(3, [(0, 1), (1, 2)], [0], 1, 2) == 1


@settings(max_examples=40, deadline=None)
@given(graphs_with_partitions())
def test_exponent_is_the_unrolled_walk_sum_and_at_most_l_minus_1_walk_indices(case):
    graph, part, depth, target = case
    nodes, edges = graph.number_of_nodes(), list(graph.edges())
    closed = nx.to_numpy_array(graph, nodelist=range(nodes), dtype=np.int64) + np.eye(nodes, dtype=np.int64)
    # Second formula: e_L = Σ_{k=1}^{L−1} Â^k 1_{mixed at L−k}, mixed at m ⇔ dist(j, C_I) <= m − 1.
    inside = np.isin(np.arange(nodes), part)
    crossing = [v for v in range(nodes) if any(inside[u] != inside[v] for u in graph[v])]
    distance = nx.multi_source_dijkstra_path_length(graph, crossing) if crossing else {}
    unrolled = np.zeros(nodes, dtype=np.int64)
    for k in range(1, depth):
        mixed = np.array([v in distance and distance[v] <= depth - k - 1 for v in range(nodes)])
        unrolled += np.linalg.matrix_power(closed, k) @ mixed.astype(np.int64)
    expected = 1 + (unrolled.sum() if target is None else unrolled[target])
    assert S.interaction_exponent(nodes, edges, part, depth, target) == expected
    if edges:
        walks = W.walk_index(as_edge_index(graph), part, depth, target, num_nodes=nodes)
        corollary = S.walk_index_bound().subs({S.layers: depth, S.walks: walks, S.width: 2})
        assert 2 ** int(expected) <= corollary


def test_product_gnn_by_hand_and_exact_arithmetic_agrees_with_float():
    edge_index = np.array([[0, 1], [1, 0]])
    gnn = W.ProductGNN((np.array([[1, 2], [3, -1]]),), np.array([2, -1]))
    x = np.array([[[1, 0], [2, 1]]])  # x_0 = (1, 0), x_1 = (2, 1)
    # h_0 = (W x_0) ⊙ (W x_1) = (1, 3) ⊙ (4, 5) = (4, 15); f = 2·4 − 15 = −7.
    assert W.product_gnn(x, edge_index, gnn, target=0)[0] == pytest.approx(-7.0)
    # Graph prediction: h_0 = h_1, f = 2·16 − 225 = −193; mod p it is p − 193.
    assert W.product_gnn(x, edge_index, gnn)[0] == pytest.approx(-193.0)
    assert W.product_gnn(x, edge_index, gnn, modulus=W.PRIME)[0] == W.PRIME - 193


def test_rank_mod_matches_numpy_on_integer_matrices():
    rng = np.random.default_rng(0)
    for rank in range(1, 6):
        matrix = rng.integers(-3, 4, (9, rank)) @ rng.integers(-3, 4, (rank, 7))
        assert W.rank_mod(matrix) == np.linalg.matrix_rank(matrix.astype(float))


def test_grid_ranks_exact_and_by_svd_agree_where_the_entries_are_tame():
    # Path of 4 vertices, depth 2, width 2, vertex prediction: the entries are integers below 2^53
    # (exact in float64) and few enough factors multiply that the float64 SVD with tol 1e-9 still
    # resolves every singular value the exact rank counts (deeper nets need the exact route).
    edge_index = as_edge_index(nx.path_graph(4))
    gnn = W.random_product_gnn(2, 2, 2, seed=3)
    templates = np.random.default_rng(3).integers(-2, 3, (4, 2))
    exact = W.grid_tensor(edge_index, gnn, templates, 1, modulus=W.PRIME)
    floating = W.grid_tensor(edge_index, gnn, templates.astype(float), 1)
    assert np.abs(floating).max() < 2.0**53
    for part in ([0], [1], [0, 1], [0, 2], [1, 3]):
        assert W.separation_rank(exact, part, modulus=W.PRIME) == W.separation_rank(floating, part)


def test_no_edge_across_leaves_only_the_read_out_sum():
    # Two components {0, 1} and {2, 3}, I = {0, 1}: f = Σ_d w_d·A_d(x_I)·B_d(x_Iᶜ), so sep <= D_h,
    # and the bound (exponent 1) is attained by a generic network.
    edge_index = np.array([[0, 1, 2, 3], [1, 0, 3, 2]])
    gnn = W.random_product_gnn(3, 3, 2, seed=1)
    tensor = W.grid_tensor(edge_index, gnn, np.arange(10).reshape(5, 2), modulus=W.PRIME)
    assert W.separation_rank(tensor, [0, 1], modulus=W.PRIME) == 3
    assert S.interaction_exponent(4, [(0, 1), (2, 3)], [0, 1], 3) == 1


def test_bad_input():
    edge_index = as_edge_index(nx.path_graph(3))
    gnn = W.random_product_gnn(2, 2, 2, seed=0)
    with pytest.raises(ValueError, match="features"):
        W.product_gnn(np.zeros((3, 2)), edge_index, gnn)
    with pytest.raises(ValueError, match="dim"):
        W.product_gnn(np.zeros((1, 3, 5)), edge_index, gnn)
    with pytest.raises(ValueError, match="modulus"):
        W.product_gnn(np.zeros((1, 3, 2)), edge_index, gnn, modulus=W.PRIME)
    with pytest.raises(ValueError, match="max_entries"):
        W.grid_tensor(as_edge_index(nx.path_graph(12)), gnn, np.ones((4, 2)))
    with pytest.raises(ValueError, match="partition"):
        W.separation_rank(np.ones((2, 2, 2)), [0, 1, 2])
    with pytest.raises(ValueError, match="partition"):
        S.interaction_exponent(3, [(0, 1)], [0, 1, 2], 2)
    with pytest.raises(ValueError, match="edges"):
        S.separation_rank_bound(3, [(0, 3)], [0], 2)
    with pytest.raises(ValueError, match="depth"):
        S.interaction_exponent(3, [(0, 1)], [0], 0)


def test_rank_mod_by_hand_and_over_large_primes():
    # det [[1, 1], [1, 3]] = 2: rank 1 mod 2, rank 2 mod 3 and mod every odd prime
    assert W.rank_mod([[1, 1], [1, 3]], 2) == 1
    assert W.rank_mod([[1, 1], [1, 3]], 3) == 2
    assert W.rank_mod([[1, 2], [3, 6]], 7) == 1
    # a rank-3 integer matrix: exact over the Mersenne prime 2^61 − 1 (int64 products would
    # overflow there; the Python-integer path does not) and over 1e9 + 7 (the int64 path)
    rng = np.random.default_rng(3)
    matrix = rng.integers(-9, 10, (6, 3)) @ rng.integers(-9, 10, (3, 7))
    assert np.linalg.matrix_rank(matrix.astype(float)) == 3
    assert W.rank_mod(matrix, 2**61 - 1) == W.rank_mod(matrix, W.PRIME) == 3
    huge = np.array([[2**70, 1], [2**71, 2]], dtype=object)  # rows proportional: rank 1
    assert W.rank_mod(huge, 2**61 - 1) == 1
    assert W.rank_mod(matrix.astype(float), W.PRIME) == 3  # integral floats are exact integers


@pytest.mark.parametrize(("modulus", "message"), [
    (8, "modulus must be prime"), (2**61, "modulus must be prime"), (2**64 + 13, "below 2\\^64"),
    (1, "integer >= 2"), (7.0, "integer >= 2"), (True, "integer >= 2"),
])
def test_rank_mod_refuses_moduli_it_cannot_rank_over(modulus, message):
    with pytest.raises(ValueError, match=message):
        W.rank_mod([[2, 1], [4, 2]], modulus)
    with pytest.raises(ValueError, match=message):
        W.separation_rank(np.ones((2, 2)), [0], modulus=modulus)


def test_rank_mod_refuses_non_integer_matrices():
    with pytest.raises(ValueError, match="matrix must hold integers"):
        W.rank_mod([[0.5, 1.0], [1.0, 2.0]])
    with pytest.raises(ValueError, match="2-D"):
        W.rank_mod([1, 2, 3])


def test_is_prime_against_a_sieve():
    sieve = np.ones(10_000, dtype=bool)
    sieve[:2] = False
    for k in range(2, 100):
        sieve[k * k :: k] = False
    assert [n for n in range(10_000) if W.is_prime(n)] == list(np.flatnonzero(sieve))
    assert W.is_prime(2**61 - 1) and not W.is_prime(2**61 + 1) and W.is_prime(1_000_000_007)
    assert not W.is_prime(3_215_031_751)  # a strong pseudoprime to the bases 2, 3, 5 and 7

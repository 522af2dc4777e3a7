"""rankcheck.strategies draw what they promise, checked by routes independent of how they build it:
ranks and singular values by SVD, definiteness by eigenvalues, graphs by networkx, masks by counting,
sphere points by their norms; and a drawn case's repr rebuilds it."""

import networkx as nx
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rankcheck import strategies
from rankcheck.strategies import GraphCase, MatrixCase, TensorCase  # noqa: F401 - eval of reprs
from rankcheck.testing import assert_close, numerical_rank


@given(strategies.matrix_cases(max_side=5))
def test_matrix_cases_have_their_singular_values(case):
    values = np.linalg.svd(case.matrix, compute_uv=False)
    assert case.matrix.shape == (case.rows, case.cols)
    assert numerical_rank(case.matrix, rtol=1e-10) == case.rank
    assert_close(values[: case.rank], case.singular_values, rtol=1e-12, atol=1e-13,
                 why="float64 SVD of U diag(s) Vᵀ")


@given(strategies.matrix_cases(max_side=5, full_rank=False, distinct=True))
def test_rank_deficient_distinct_cases(case):
    assert case.rank < min(case.rows, case.cols)
    gaps = -np.diff(case.singular_values)
    assert np.all(gaps >= (3.0 - 0.2) / (2 * case.rank) - 1e-12)


@given(strategies.psd_matrices(max_side=5))
def test_psd_matrices_are_positive_definite_and_symmetric(matrix):
    assert np.array_equal(matrix, matrix.T)
    eigenvalues = np.linalg.eigvalsh(matrix)
    assert eigenvalues.min() >= 0.1 - 1e-9 and eigenvalues.max() <= 3.0 + 1e-9


@given(strategies.psd_matrices(max_side=5, rank=2))
def test_psd_matrices_of_given_rank(matrix):
    assert numerical_rank(matrix, rtol=1e-10) == 2
    assert np.linalg.eigvalsh(matrix).min() >= -1e-12


@given(strategies.graph_partitions(max_nodes=7))
def test_graphs_are_simple_undirected_edge_indices(case):
    graph, part = case
    edges = graph.edge_index
    assert edges.shape == (2, 2 * len(graph.edges)) and edges.dtype == np.int64
    reference = nx.Graph(list(graph.edges))
    assert reference.number_of_edges() == len(graph.edges)  # no repeats
    assert all(u < v for u, v in graph.edges)  # no self-loops, each edge once
    assert {tuple(e) for e in edges.T} == {(u, v) for u, v in graph.edges} | {(v, u) for u, v in graph.edges}
    assert 0 < len(part) < graph.num_nodes and len(set(part)) == len(part)


@given(strategies.observed_tensors())
def test_observed_tensors_have_their_rank_and_mask(case):
    assert case.tensor.shape == case.shape
    assert case.mask.sum() == case.observed == len(case.values)
    assert 0 < case.observed < case.tensor.size
    assert_close(case.values, case.tensor[case.mask], rtol=0.0, why="the same entries, in order")
    unfolding = case.tensor.reshape(case.shape[0], -1)  # mode-1 rank <= the CP rank
    assert numerical_rank(unfolding, rtol=1e-10) <= case.rank


@given(strategies.sphere_points(max_points=8))
def test_sphere_points_have_unit_norm(points):
    assert_close(np.linalg.norm(points, axis=1), np.ones(len(points)), rtol=1e-14,
                 why="normalized in float64")


@given(st.one_of(strategies.matrix_cases(max_side=4), strategies.graphs(max_nodes=5),
                 strategies.observed_tensors(max_order=3)))
def test_a_drawn_case_is_rebuilt_from_its_repr(case):
    rebuilt = eval(repr(case))  # noqa: S307 - the records' reprs are their constructors
    assert rebuilt == case
    for attribute in ("matrix", "edge_index", "tensor"):
        if hasattr(case, attribute):
            assert np.array_equal(getattr(rebuilt, attribute), getattr(case, attribute))

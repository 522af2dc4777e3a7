"""Array arguments accept numpy arrays, nested lists and torch tensors (also with ``requires_grad``);
graph solvers accept a ``torch_geometric.data.Data`` wherever they take ``edge_index``. Each call is
compared with the same call on numpy input: the conversion changes no number."""

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from rankcheck.numerics import bottleneck, cone, dln, gnn, leaky, tensor
from rankcheck.testing import assert_close
from rankcheck.validation import as_array, as_matrix

RNG = np.random.default_rng(0)
MATRIX = RNG.normal(size=(3, 4))
EDGES = np.array([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])  # the path 0–1–2–3
INDICES = np.array([[0, 0, 0], [1, 1, 1], [2, 0, 1], [0, 2, 2], [1, 2, 0]])
VALUES = RNG.normal(size=5)


def as_torch(array: np.ndarray) -> torch.Tensor:
    """A torch tensor of the array's values that requires grad (floats) or not (integers)."""
    tensor_ = torch.as_tensor(array)
    return tensor_.requires_grad_() if tensor_.is_floating_point() else tensor_


CALLS = {  # name -> (call, its numpy argument)
    "dln.representation_cost": (lambda a: dln.representation_cost(a, 2, restarts=1), MATRIX),
    "bottleneck.numerical_ranks": (lambda a: bottleneck.numerical_ranks(a, 1e-3), MATRIX[None]),
    "leaky.cost_of_identity": (leaky.cost_of_identity, MATRIX),
    "cone.caratheodory_reduce": (lambda a: cone.caratheodory_reduce(a).rank, MATRIX),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_array_arguments_accept_torch_tensors_with_gradients_and_lists(name):
    call, argument = CALLS[name]
    expected = call(argument)
    assert_close(call(as_torch(argument)), expected, rtol=0.0, why="same numbers, other type")
    assert_close(call(argument.tolist()), expected, rtol=0.0, why="same numbers, other type")


def test_tensor_completion_accepts_torch_observations():
    run = tensor.cp_completion(VALUES, INDICES, (3, 3, 3), 2, 0.1, 20, 0.05)
    again = tensor.cp_completion(as_torch(VALUES), as_torch(INDICES), (3, 3, 3), 2, 0.1, 20, 0.05)
    assert_close(again.loss, run.loss, rtol=0.0, why="same numbers, other type")


@pytest.mark.parametrize("make", [
    lambda e: e, lambda e: torch.as_tensor(e), lambda e: Data(edge_index=torch.as_tensor(e)),
    lambda e: Data(edge_index=torch.as_tensor(e), num_nodes=4),
], ids=["numpy", "torch", "Data", "Data with num_nodes"])
def test_graph_solvers_accept_edge_index_tensors_and_data(make):
    graph = make(EDGES)
    assert gnn.walk_index(graph, [0, 1], depth=3) == gnn.walk_index(EDGES, [0, 1], depth=3)
    assert gnn.singleton_walk_indices(graph, 3).tolist() == [4, 7, 7, 4]  # diagonal of Â³ by hand
    kept, order = gnn.one_wis(graph, 1)
    assert order.tolist() == [[1, 2]] and kept.shape == (2, 4)  # the middle edge: min degree 2


def test_data_num_nodes_counts_isolated_vertices():
    data = Data(edge_index=torch.as_tensor(EDGES), num_nodes=6)
    assert gnn.singleton_walk_indices(data, 3).tolist() == [4, 7, 7, 4, 0, 0]


def test_as_array_detaches_and_leaves_other_values_alone():
    grad = torch.ones(2, requires_grad=True)
    assert isinstance(as_array(grad), np.ndarray) and as_array(grad).tolist() == [1.0, 1.0]
    values = [1, 2]
    assert as_array(values) is values
    with pytest.raises(ValueError, match="A must be a 2-D matrix"):
        as_matrix(torch.ones(3), "A")

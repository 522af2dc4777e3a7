"""theory.compositionality and numerics.compositionality: AM–GM rebalancing by two routes."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from numerics import compositionality as N
from tests.helpers import assert_close
from theory import compositionality as T


def test_amgm_minimum_is_twice_the_path_cost():
    assert T.least_neuron_cost() == 2 * T.a * T.r
    second = sp.diff(T.neuron_cost(), T.c, 2).subs(T.c, T.optimal_rescaling())
    assert sp.simplify(second - 8 * T.r**2) == 0


def test_one_neuron_by_hand():
    a, W, b = np.array([-3.0]), np.array([[3.0, 0.0]]), np.array([4.0])  # ‖(w, b)‖ = 5
    assert N.path_cost(a, W, b) == 15.0
    a2, W2, b2 = N.rebalance(a, W, b)
    assert_close(np.abs(a2), [np.sqrt(15)], rtol=1e-15, why="|a| = ‖(w, b)‖ = √15")
    assert_close(N.parameter_cost(a2, W2, b2), 30.0, rtol=1e-15, why="2·15")
    assert_close(N.least_rescaled_cost(a, W, b), 30.0, rtol=1e-10, why="L-BFGS to gtol 1e-13")


@given(st.integers(1, 12), st.integers(1, 5), st.integers(0, 1000))
def test_rebalancing_keeps_the_function(width, dim, seed):
    rng = np.random.default_rng(seed)
    a, W, b = rng.normal(size=width), rng.normal(size=(width, dim)), rng.normal(size=width)
    x = rng.normal(size=(10, dim))
    assert_close(N.shallow_relu(*N.rebalance(a, W, b), x), N.shallow_relu(a, W, b, x), rtol=1e-12,
                 atol=1e-12, why="positive homogeneity; round-off")


def test_dead_neurons_are_zeroed():
    a, W, b = np.array([0.0, 2.0]), np.array([[1.0], [0.0]]), np.array([1.0, 0.0])
    a2, W2, b2 = N.rebalance(a, W, b)
    assert np.all(a2 == 0) and np.all(W2 == 0) and np.all(b2 == 0)


def test_mismatched_networks_are_rejected():
    with pytest.raises(ValueError, match="same neurons"):
        N.path_cost(np.ones(2), np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match="columns"):
        N.shallow_relu(np.ones(2), np.ones((2, 2)), np.ones(2), np.ones((4, 3)))

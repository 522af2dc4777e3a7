"""theory.dln: exact values, symbolic identities and a second numeric route for every closed form."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from rankcheck.numerics import dln as solvers
from rankcheck.strategies import matrix_cases
from rankcheck.testing import assert_close
from rankcheck.theory import dln as T

FLOAT = "float64 evaluation of a closed form"


@pytest.mark.parametrize(
    ("values", "depth", "expected"),
    [
        ((3.0, 1.0), 3, 3 * (3 ** (2 / 3) + 1)),  # ≈ 9.240251 (by hand: 3·(3^(2/3) + 1))
        ((3.0, 1.0), 1, 10.0),  # ‖A‖_F²
        ((3.0, 1.0), 2, 8.0),  # 2‖A‖_*
        ((2.0, 0.0), 4, 4 * np.sqrt(2.0)),  # rank 1: the zero singular value costs nothing
    ],
)
def test_representation_cost_worked_values(values, depth, expected):
    assert_close(T.representation_cost(np.diag(values), depth), expected, rtol=1e-14, why=FLOAT)


def test_representation_cost_worked_example_digits():
    assert round(T.representation_cost(np.diag([3.0, 1.0]), 3), 6) == 9.240251


def test_balanced_factor_is_stationary_and_optimal():
    a_star = T.balanced_factor()
    assert sp.simplify(a_star - T.s ** (1 / T.L)) == 0
    assert sp.simplify(T.scalar_representation_cost() - T.L * T.s ** (2 / T.L)) == 0
    # second route: brute-force the scalar problem min Σ a_ℓ² s.t. Π a_ℓ = s on a grid, L = 3
    s_value, grid = 2.5, np.linspace(0.2, 3.0, 601)
    a1, a2 = np.meshgrid(grid, grid)
    brute = np.min(a1**2 + a2**2 + (s_value / (a1 * a2)) ** 2)
    assert_close(brute, 3 * s_value ** (2 / 3), rtol=1e-4, why="grid step 4.7e-3, error O(step²)")


def test_expression_matches_lambdified_function():
    rng = np.random.default_rng(0)
    values = rng.uniform(0.1, 4.0, 3)
    expr = T.representation_cost_expr().subs({T.L: 5, T.r: 3}).doit()
    exact = float(expr.subs({T.sv[k + 1]: values[k] for k in range(3)}))
    assert_close(T.representation_cost(np.diag(values), 5), exact, rtol=1e-13, why=FLOAT)


def test_depth_expansion_first_terms():
    p0, p1, p2 = (T.power_sum(k) for k in range(3))
    assert sp.simplify(T.depth_expansion(2) - (T.L * p0 + 2 * p1 + 2 * p2 / T.L)) == 0
    assert T.depth_expansion_coefficients(2) == [p0, 2 * p1, 2 * p2]


@given(matrix_cases(max_side=4, min_singular=0.3, max_singular=3.0), st.integers(1, 4),
       st.sampled_from([6, 20, 80]))
def test_depth_expansion_obeys_the_taylor_remainder_bound(case, order, depth):
    """|R_L − Σ_{k≤K} R⁽ᵏ⁾L^{1−k}| ≤ L·Σ_i (2|x_i|/L)^{K+1}/(K+1)!·e^{2|x_i|/L}, x_i = log s_i.

    The Lagrange remainder of e^{2x/L}: an exact bound (it also fails if any coefficient is wrong,
    since a wrong coefficient leaves an O(L^{1−k}) error, larger than the bound for large L).
    """
    exact = T.representation_cost(case.matrix, depth)
    coefficients = T.depth_expansion_coefficients_fn(order)(case.matrix)
    approximation = sum(c * depth ** (1 - k) for k, c in enumerate(coefficients))
    x = np.abs(np.log(np.asarray(case.singular_values)))
    bound = depth * np.sum((2 * x / depth) ** (order + 1) * np.exp(2 * x / depth)) / np.prod(
        np.arange(1, order + 2))
    assert abs(exact - approximation) <= bound * (1 + 1e-9) + 1e-12


def test_rank_limit_and_gap():
    assert T.rank_limit_per_singular_value() == 1
    assert sp.simplify(T.rank_gap_leading_term() - 2 * T.power_sum(1)) == 0
    limit, exponent = T.rank_limit(np.diag([2.0, 3.0, 0.0]))
    assert (limit, exponent) == (2.0, -1.0)


def test_local_threshold_depth_three():
    expected = 4 * (2 * T.lam / 3) ** sp.Rational(3, 4)
    assert sp.simplify(T.local_threshold_expr().subs(T.L, 3) - expected) == 0


@pytest.mark.parametrize("depth", [3, 4, 6])
def test_global_threshold_is_a_tie(depth):
    """At y = y* the non-zero stationary point and s = 0 have the same objective."""
    lam_value = 0.07
    y_star = float(T.global_threshold_expr().subs({T.L: depth, T.lam: lam_value}))
    s_star = (2 * lam_value * (depth - 2)) ** (depth / (2 * depth - 2))
    f = sp.lambdify(T.s, T.scalar_regularized_objective().subs(
        {T.L: depth, T.lam: lam_value, T.y: y_star}))
    assert_close(f(s_star), y_star**2 / 2, rtol=1e-12, why=FLOAT)
    assert_close(s_star + 2 * lam_value * s_star ** (2 / depth - 1), y_star, rtol=1e-12, why=FLOAT)


def test_soft_threshold_depth_two_and_shrinkage_depth_one():
    y = np.array([0.05, 0.3, 1.7])
    assert_close(T.regularized_singular_values(y, 2, 0.1), np.maximum(y - 0.2, 0), rtol=1e-12,
                 why="roots of a quadratic")
    assert_close(T.regularized_singular_values(y, 1, 0.1), y / 1.2, rtol=1e-12, why=FLOAT)


@given(
    st.lists(st.floats(0.0, 4.0), min_size=1, max_size=5),
    st.integers(1, 6),
    st.floats(0.01, 0.5),
)
def test_polynomial_roots_agree_with_grid_minimization(targets, depth, lam_value):
    """Theory (threshold + polynomial roots) against numerics (grid + Brent)."""
    predicted = T.regularized_singular_values(targets, depth, lam_value)
    measured = solvers.regularized_singular_values(targets, depth, lam_value)
    assert_close(measured, predicted, rtol=1e-7, atol=1e-9,
                 why="Brent on function values resolves s to √eps ≈ 1.5e-8 relative")


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: T.representation_cost(np.array([[np.nan]]), 2), "A"),
        (lambda: T.representation_cost(np.ones(3), 2), "A"),
        (lambda: T.representation_cost(np.eye(2), 0), "depth"),
        (lambda: T.representation_cost(np.eye(2), 1.5), "depth"),
        (lambda: T.regularized_singular_values([1.0], 2, -0.1), "lam"),
        (lambda: T.regularized_singular_values([-1.0], 2, 0.1), "target_singular_values"),
        (lambda: T.depth_expansion(-1), "order"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()

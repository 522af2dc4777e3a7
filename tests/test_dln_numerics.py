"""numerics.dln against closed forms, a convex SDP, optimality conditions and bad input."""

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rankcheck.errors import NotConvergedError
from rankcheck.numerics import dln as N
from rankcheck.strategies import matrix_cases, matrix_with_singular_values
from rankcheck.testing import assert_close

SOLVER = "augmented-Lagrangian stops at relative residual and cost change 1e-9"


def nuclear_norm_sdp(A: np.ndarray) -> float:
    """2‖A‖_* = min tr X + tr Y s.t. [[X, A], [Aᵀ, Y]] ⪰ 0, solved by Clarabel (a second route)."""
    m, n = A.shape
    block = cp.Variable((m + n, m + n), symmetric=True)
    problem = cp.Problem(cp.Minimize(cp.trace(block)), [block >> 0, block[:m, m:] == A])
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert problem.status == cp.OPTIMAL, problem.status
    return float(problem.value)


def test_depth_two_cost_equals_nuclear_norm_sdp():
    A = matrix_with_singular_values(4, 3, (2.0, 0.7), seed=3)
    assert_close(N.representation_cost(A, 2), nuclear_norm_sdp(A), rtol=1e-7,
                 why=SOLVER + "; Clarabel gap 1e-10")


def test_depth_one_is_frobenius():
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert N.representation_cost(A, 1) == 30.0


def test_zero_matrix_costs_nothing():
    assert N.representation_cost(np.zeros((2, 3)), 4) == 0.0


@settings(max_examples=6)
@given(matrix_cases(max_side=4), st.integers(2, 5))
def test_factorization_is_feasible_balanced_and_costs_its_norm(case, depth):
    """At a constrained minimum the weights are balanced: W_{ℓ+1}ᵀW_{ℓ+1} = W_ℓW_ℓᵀ."""
    result = N.min_norm_factorization(case.matrix, depth, seed=1)
    assert_close(N.chain_product(result.weights), case.matrix, rtol=0, atol=1e-8, why=SOLVER)
    assert_close(result.cost, sum(float(np.sum(w**2)) for w in result.weights), rtol=1e-14,
                 why="same sum")
    for lower, upper in zip(result.weights[:-1], result.weights[1:], strict=True):
        assert_close(upper.T @ upper, lower @ lower.T, rtol=0, atol=1e-4,
                     why="first-order optimality holds to √(residual tolerance)")


def test_regularized_values_closed_forms():
    y = np.array([0.0, 0.05, 0.4, 2.0])
    assert_close(N.regularized_singular_values(y, 1, 0.25), y / 1.5, rtol=1e-7,
                 why="Brent resolves s to √eps relative")
    assert_close(N.regularized_singular_values(y, 2, 0.1), np.maximum(y - 0.2, 0), rtol=1e-7,
                 atol=1e-9, why="Brent resolves s to √eps relative")


def test_regularized_values_threshold_depth_three():
    """L = 3, λ = 0.1: y* = 2·(2λ)^{3/4} ≈ 0.598 by hand (s* = (2λ)^{3/4}, y* = 2s*)."""
    y_star = 2 * 0.2**0.75
    below, above = N.regularized_singular_values([0.99 * y_star, 1.01 * y_star], 3, 0.1)
    assert below == 0.0
    assert above > 0.2**0.75 * 0.9


def test_training_depth_one_matches_ridge_shrinkage():
    """L = 1: ½‖W − Y‖² + λ‖W‖² is minimized by W = Y/(1 + 2λ) (checks wd = 2λ in torch)."""
    Y = np.array([[1.0, -2.0], [0.5, 3.0]])
    run = N.train_dln(Y, 1, 0.2)
    assert run.converged
    assert_close(run.product, Y / 1.4, rtol=0, atol=1e-9, why="gradient norm < 1e-10, curvature 1.4")


def test_training_loss_decreases_and_reaches_regularized_values():
    Y = matrix_with_singular_values(3, 3, (2.0, 1.5, 0.02), seed=4)
    run = N.train_dln(Y, 3, 0.05, seed=2)
    assert run.converged and run.losses[-1] <= run.losses[0]
    expected = N.regularized_singular_values([2.0, 1.5, 0.02], 3, 0.05)
    assert_close(run.singular_values, expected, rtol=1e-6, atol=1e-7,
                 why="GD to gradient norm 1e-10; Brent to √eps")


def test_non_convergence_raises():
    A = matrix_with_singular_values(3, 3, (2.0, 1.0, 0.5), seed=0)
    with pytest.raises(NotConvergedError, match="no restart"):
        N.min_norm_factorization(A, 5, restarts=1, max_outer=1)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: N.representation_cost(np.array([[np.inf, 1.0]]), 2), "A"),
        (lambda: N.representation_cost(np.zeros((0, 2)), 2), "A"),
        (lambda: N.representation_cost(np.eye(2), 0), "depth"),
        (lambda: N.min_norm_factorization(np.eye(2), 2, restarts=0), "restarts"),
        (lambda: N.regularized_singular_values([1.0], 2, -1.0), "lam"),
        (lambda: N.train_dln(np.eye(2), 2, -0.1), "lam"),
        (lambda: N.train_dln(np.eye(2), True, 0.1), "depth"),
        (lambda: N.train_dln(np.eye(2), 2, 0.1, lr=0.0), "lr"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()

"""theory.bottleneck and numerics.bottleneck against values derived by hand and closed forms."""

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rankcheck.errors import NotConvergedError
from rankcheck.numerics import bottleneck as N
from rankcheck.numerics.optim import minimize_to_stationarity
from rankcheck.testing import assert_close
from rankcheck.theory import bottleneck as T
from rankcheck.theory import dln


def test_one_point_cost_by_hand_and_as_the_dln_cost():
    cost = T.one_point_cost()
    # L = 4, ‖x‖ = 2, ‖y‖ = 8: 4·(8/2)^{1/2} = 8
    assert cost.subs({dln.L: 4, T.x_norm: 2, T.y_norm: 8}) == 8
    assert sp.simplify(cost - dln.scalar_representation_cost().subs(dln.s, T.y_norm / T.x_norm)) == 0
    assert_close(T.one_point_cost_fn()(2.0, 8.0, 4), 8.0, rtol=1e-15, why="float64 rounding")


def test_one_point_expansion_terms_and_accuracy():
    assert sp.simplify(T.one_point_expansion(2) - (dln.L + 2 * T.rho + 2 * T.rho**2 / dln.L)) == 0
    # R⁽⁰⁾ = 1: the cost per layer tends to the rank of a one-point function
    assert sp.limit(T.one_point_expansion(3) / dln.L, dln.L, sp.oo) == 1
    exact = 50 * np.exp(2 * 0.3 / 50)
    truncated = float(T.one_point_expansion(3).subs({dln.L: 50, T.rho: 0.3}))
    # the first omitted term is (2ρ)^4/(4!·L^3) = 0.6^4/24/50^3 ≈ 4.3e-8
    assert_close(truncated, exact, rtol=0.0, atol=1e-7, why="first omitted term 4.3e-8")


def test_one_point_regularized_at_depth_two_is_soft_thresholding():
    # L = 2: g(s) = ½(s − Y)² + 2λ·s/X, so s = Y − 2λ/X when positive: X = 2, Y = 3, λ = 0.1 gives 2.9
    s, cost = T.one_point_regularized(2.0, 3.0, 2, 0.1)
    assert_close([s, cost], [2.9, 2 * 2.9 / 2], rtol=1e-12, why="closed form, root-finding rounding")
    assert T.one_point_regularized(2.0, 0.3, 2, 0.5) == (0.0, 0.0)  # Y < 2λ/X: thresholded to 0
    # L = 3 below the global threshold but above the local one: 0 is global, a non-zero local minimum exists
    x_value, lam_value = 1.0, 0.2
    y_star = float(dln.global_threshold_expr().subs({dln.L: 3, dln.lam: lam_value}))
    y_c = float(dln.local_threshold_expr().subs({dln.L: 3, dln.lam: lam_value}))
    between = (y_star + y_c) / 2
    assert T.one_point_regularized(x_value, between, 3, lam_value)[0] == 0.0
    assert T.one_point_regularized(x_value, between, 3, lam_value, minimum="local")[0] > 0.0
    with pytest.raises(ValueError, match="minimum"):
        T.one_point_regularized(1.0, 1.0, 3, 0.1, minimum="best")


def test_dln_curvature_and_nearest_minima_by_hand():
    # f''(s) = 1 + 2λ(2/L − 1)·s^{2/L − 2}; L = 4, s = 4, λ = 0.5: 1 − 0.5·4^{−3/2} = 0.9375
    assert_close(dln.regularized_curvature([4.0], 4, 0.5), [0.9375], rtol=1e-14, why="rounding")
    # L = 2 soft thresholding: the non-zero minimum of y = 3, λ = 0.05 is 3 − 2λ = 2.9
    assert_close(dln.nearest_local_minima([0.0, 2.8, 1e-9], [3.0, 3.0, 3.0], 2, 0.05), [0.0, 2.9, 0.0],
                 rtol=1e-12, why="closed form")


def test_depth_one_is_ridge_regression():
    rng = np.random.default_rng(0)
    X, Y, lam = rng.normal(size=(3, 5)), rng.normal(size=(2, 5)), 0.3
    fit = N.train_mlp(X, Y, depth=1, width=4, lam=lam, seed=1)
    # min ½‖WX − Y‖² + λ‖W‖²: W = Y Xᵀ (X Xᵀ + 2λ I)⁻¹
    ridge = Y @ X.T @ np.linalg.inv(X @ X.T + 2 * lam * np.eye(3))
    assert_close(fit.weights[0], ridge, rtol=0.0, atol=1e-6, why="convex quadratic, gradient <= 1e-6")
    assert_close(fit.norm_sq, float((ridge**2).sum()), rtol=1e-6, why="same")


def test_deep_one_point_training_reaches_the_cost():
    x, y = np.array([[1.0], [2.0]]), np.array([[3.0]])
    fit = N.train_mlp(x, y, depth=4, width=8, lam=0.05, seed=3)
    s, cost = T.one_point_regularized(np.sqrt(5.0), 3.0, 4, 0.05, minimum="local")
    assert_close([abs(fit.outputs[0, 0]), fit.norm_sq], [s, cost], rtol=1e-5,
                 why="L-BFGS to gradient <= 1e-6 on a problem of curvature ~1")


def test_bad_input_and_non_convergence():
    with pytest.raises(ValueError, match="same number of columns"):
        N.train_mlp(np.ones((2, 3)), np.ones((1, 2)), 2, 4, 0.1)
    with pytest.raises(ValueError, match="depth"):
        N.train_mlp(np.ones((2, 3)), np.ones((1, 3)), 0, 4, 0.1)
    with pytest.raises(ValueError, match="lam"):
        N.train_mlp(np.ones((2, 3)), np.ones((1, 3)), 2, 4, -0.1)
    with pytest.raises(NotConvergedError, match="gradient"):
        N.train_mlp(np.eye(3), np.ones((2, 3)), 6, 8, 1e-3, rounds=1, gradient_tol=1e-30)


def test_jacobians_match_autograd():
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(7, 3)), rng.normal(size=(5, 7)), rng.normal(size=(2, 5))]
    X = rng.normal(size=(3, 8))
    J = N.jacobians(weights, X)
    tensors = [torch.tensor(W) for W in weights]
    for i in range(X.shape[1]):
        x = torch.tensor(X[:, i])
        auto = torch.autograd.functional.jacobian(lambda v: N.relu_mlp(v[:, None], tensors)[:, 0], x)
        assert_close(J[i], auto.numpy(), rtol=1e-12, atol=1e-12, why="the same products, round-off only")
    with pytest.raises(ValueError, match="rows"):
        N.jacobians(weights, X[:2])


def test_shallow_target_has_the_rank_it_is_built_with():
    X = np.random.default_rng(1).normal(size=(6, 200))
    for k in (1, 2, 3):
        Y = N.shallow_target(X, k, 6, seed=k)
        assert_close(np.sum(Y**2) / 200, 1.0, rtol=1e-12, why="scaled to unit RMS output norm")
        assert np.linalg.matrix_rank(Y) == k  # A (6, k) times relu(BX): a rank-k matrix
        rng = np.random.default_rng(k)  # the same draws as the target: it is the net [B, A], rescaled
        B, A = rng.normal(size=(k, 6)), rng.normal(size=(6, k))
        weights = N.shallow_weights(6, k, 6, seed=k)
        assert np.array_equal(weights[0], B) and np.array_equal(weights[1], A)
        assert_close(N.relu_mlp(torch.tensor(X), [torch.tensor(B), torch.tensor(A)]).numpy()
                     * np.sqrt(200) / np.linalg.norm(A @ np.maximum(B @ X, 0)), Y, rtol=1e-12, atol=1e-12,
                     why="the same arithmetic")
        ranks = N.numerical_ranks(N.jacobians([B, A], X), 1e-9)
        all_active = np.all(B @ X > 0, axis=0)
        assert np.all(ranks[all_active] == k) and ranks.max() == k  # Jf = A·diag(1[Bx > 0])·B


def test_numerical_ranks_by_hand():
    stack = np.array([np.diag([1.0, 1e-2, 1e-6]), np.diag([2.0, 0.0, 0.0])])
    assert N.numerical_ranks(stack, 1e-3).tolist() == [2, 1]
    with pytest.raises(ValueError, match="stack"):
        N.numerical_ranks(np.eye(3), 1e-3)


def test_depth_fit_recovers_the_expansion():
    L = np.arange(3.0, 11.0)
    costs = 2.0 * L - 0.7 + 0.3 / L
    assert_close(N.depth_fit(L, costs, terms=3), [2.0, -0.7, 0.3], rtol=1e-10, why="exact data, 3 terms")
    r0, _ = N.depth_fit(L, costs)
    assert abs(r0 - 2.0) < 0.02  # the ignored 0.3/L term tilts the 2-term slope by ~0.3/(L_min·L_max)
    with pytest.raises(ValueError, match="terms"):
        N.depth_fit([3.0], [1.0])


def test_hidden_representations_by_hand():
    W1, W2, W3 = np.array([[1.0, -1.0], [2.0, 0.0]]), np.array([[1.0, 1.0]]), np.array([[3.0]])
    X = np.array([[1.0, -1.0], [2.0, 0.5]])
    first, second = N.hidden_representations([W1, W2, W3], X)
    assert_close(first, [[0.0, 0.0], [2.0, 0.0]], rtol=0.0, atol=0.0, why="relu([[−1, −1.5], [2, −2]])")
    assert_close(second, [[2.0, 0.0]], rtol=0.0, atol=0.0, why="relu of the row sums")


def test_biased_jacobians_and_representations_match_autograd_and_hand():
    rng = np.random.default_rng(2)
    weights = [rng.normal(size=(7, 3)), rng.normal(size=(5, 7)), rng.normal(size=(2, 5))]
    biases = [rng.normal(size=7), rng.normal(size=5), rng.normal(size=2)]
    X = rng.normal(size=(3, 8))
    J = N.jacobians(weights, X, biases)
    tensors, shifts = [torch.tensor(W) for W in weights], [torch.tensor(b) for b in biases]
    for i in range(X.shape[1]):
        auto = torch.autograd.functional.jacobian(lambda v: N.relu_mlp(v[:, None], tensors, shifts)[:, 0],
                                                  torch.tensor(X[:, i]))
        assert_close(J[i], auto.numpy(), rtol=1e-12, atol=1e-12, why="the same products, round-off only")
    # by hand: W1 = I, b1 = (−1, 1): relu(x − 1), relu(y + 1) at (x, y) = (2, −3) is (1, 0)
    (first,) = N.hidden_representations([np.eye(2), np.ones((1, 2))], np.array([[2.0], [-3.0]]),
                                        [np.array([-1.0, 1.0]), np.zeros(1)])
    assert_close(first, [[1.0], [0.0]], rtol=0.0, atol=0.0, why="exact arithmetic")
    with pytest.raises(ValueError, match="biases"):
        N.jacobians(weights, X, biases[:2] + [np.zeros(3)])


def test_biased_depth_one_is_ridge_regression_with_a_penalized_intercept():
    rng = np.random.default_rng(3)
    X, Y, lam = rng.normal(size=(3, 6)), rng.normal(size=(2, 6)), 0.2
    fit = N.train_mlp(X, Y, depth=1, width=4, lam=lam, seed=0, bias=True)
    # [W b] solves ridge on the inputs with a row of ones appended (the bias is penalized like W)
    Z = np.vstack([X, np.ones((1, 6))])
    ridge = Y @ Z.T @ np.linalg.inv(Z @ Z.T + 2 * lam * np.eye(4))
    assert_close(np.hstack([fit.weights[0], fit.biases[0][:, None]]), ridge, rtol=0.0, atol=1e-6,
                 why="convex quadratic, gradient <= 1e-6")
    assert_close(fit.objective, 0.5 * np.sum((ridge @ Z - Y) ** 2) + lam * np.sum(ridge**2), rtol=1e-10,
                 why="the reported objective at the optimum")


def test_plateau_stop_at_a_kink():
    # min |x| + 1 sits on a kink: the gradient is ±1 at every iterate, so only the plateau rule stops
    x = torch.tensor([0.7], dtype=torch.float64, requires_grad=True)
    gradient = minimize_to_stationarity(lambda: x.abs().sum() + 1.0, [x], 5, 1e-8, "kink", plateau_rtol=1e-10)
    assert gradient == pytest.approx(1.0) and abs(float(x.detach())) < 1e-6
    with pytest.raises(NotConvergedError, match="kink"):
        minimize_to_stationarity(lambda: x.abs().sum() + 1.0, [x], 3, 1e-8, "kink")


def test_pseudo_determinant_bound_is_tight_on_linear_maps_and_one_point_functions():
    for k in (1, 2, 3):
        assert T.pseudo_determinant_gap_linear(k) == 0
    values = {dln.sv[1]: 2.0, dln.sv[2]: 3.0}
    assert_close(float(T.pseudo_determinant_bound(2).subs(values)), 2 * np.log(6.0), rtol=1e-15,
                 why="by hand")
    # one point x ↦ y: R⁽¹⁾ = 2ρ (the expansion), and J = y xᵀ/‖x‖² has the one singular value ‖y‖/‖x‖
    x, y = np.array([1.0, 2.0, 2.0]), np.array([4.0, 0.0])
    r1 = float(T.one_point_expansion(2).coeff(dln.L, 0).subs(T.rho, np.log(4.0 / 3.0)))
    J = np.outer(y, x) / (x @ x)
    assert_close(r1, 2 * N.log_pseudo_determinants(J[None], 1e-12)[0], rtol=1e-12, why="equality, rounding")


def test_log_pseudo_determinants_by_hand_and_against_slogdet():
    stack = np.array([np.diag([2.0, 3.0, 1e-9]), np.zeros((3, 3))])
    logs = N.log_pseudo_determinants(stack, 1e-6)
    assert_close(logs[0], np.log(6.0), rtol=1e-14, why="the 1e-9 value is cut, rounding")
    assert logs[1] == -np.inf  # a zero matrix keeps no singular value
    full = np.random.default_rng(4).normal(size=(5, 4, 4))  # full rank: log|det|
    assert_close(N.log_pseudo_determinants(full, 1e-12), np.linalg.slogdet(full)[1], rtol=1e-12,
                 why="LU and SVD routes agree to rounding")
    with pytest.raises(ValueError, match="stack"):
        N.log_pseudo_determinants(np.eye(2), 1e-3)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_linear_composition_and_direct_sum_identities(n):
    assert T.linear_composition_identity(n) == 0
    assert T.linear_direct_sum_identity(n, 2) == 0


@settings(max_examples=40)
@given(st.integers(1, 3), st.integers(0, 2**16))
def test_linear_rank_and_r1_subadditivity_on_drawn_matrices(rank, seed):
    # R⁽⁰⁾ = rank and R⁽¹⁾ = 2 log|·|₊ of linear maps, the latter from the DLN expansion (an
    # independent route from the symbolic identities): composition of two rank-k maps whose product
    # keeps rank k, and sums
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(4, rank)) @ rng.normal(size=(rank, 4))
    B = rng.normal(size=(4, rank)) @ rng.normal(size=(rank, 4))
    r1 = dln.depth_expansion_coefficients_fn(1)
    # numerical rank relative to the scale of each computation's round-off (~eps·‖A‖‖B‖ for the
    # product): a rank-1 product whose value is small next to ‖A‖‖B‖ (seed 371: 0.02 vs 7.9) keeps
    # a second singular value ~1e-16 that the default tolerance, relative to s_max(AB), counts
    a, b = np.linalg.norm(A, 2), np.linalg.norm(B, 2)
    r0 = [np.linalg.matrix_rank(M, tol=1e-12 * scale)
          for M, scale in ((A, a), (B, b), (A @ B, a * b), (A + B, a + b))]
    assert r0[2] <= min(r0[0], r0[1]) and r0[3] <= r0[0] + r0[1]
    assert r0[2] == rank  # generic factors: the product keeps rank k
    # Horn: Π_{i<=k} s_i(AB) <= Π_{i<=k} s_i(A)·s_i(B), so R⁽¹⁾(AB) <= R⁽¹⁾(A) + R⁽¹⁾(B); 1e-9 for rounding
    assert r1(A @ B)[1] <= r1(A)[1] + r1(B)[1] + 1e-9

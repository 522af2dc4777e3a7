"""Covariance cone family: derivations, the Carathéodory reduction, the shallow convex optimum."""

from math import comb

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import orth
from scipy.optimize import linprog

from rankcheck.errors import NotConvergedError
from rankcheck.numerics import cone as cc
from rankcheck.proofs_checks.cone import _projected_gap, _triangle_free_edges, tight_construction
from rankcheck.theory import cone as theory

# --- theory ------------------------------------------------------------------------------------


def test_least_norm_identity_holds_symbolically():
    assert theory.least_norm_identity(3, 2, 2) == {"generic": 0, "rank_one": 0}


def test_row_space_condition_is_required():
    u, v = sp.Matrix([1, 2]), sp.Matrix([1, 0])
    with pytest.raises(ValueError, match="row space condition"):
        theory.least_norm_by_lagrange(u * v.T, sp.Matrix([[0, 1]]))  # Z̃ not in the row space of Z


def test_attraction_and_repulsion_gradients():
    parts = theory.attraction_repulsion(2, 2)
    assert parts["attraction_gradient"] == sp.zeros(2, 2)
    assert parts["repulsion_gradient"] == sp.zeros(2, 2)
    assert parts["two_point_blowup"] == 0


def test_one_point_cost_is_two_y_over_x():
    best_r2, cost = theory.one_point_cost()
    assert sp.simplify(best_r2 - theory.x_norm * theory.y) == 0
    assert sp.simplify(cost - 2 * theory.y / theory.x_norm) == 0


@pytest.mark.parametrize("n", [2, 4, 6, 8])
def test_tight_example_closed_forms(n):
    assert theory.tight_spectrum(n) == ({n: 1, sp.Rational(n, 2): n - 2, 0: 1} if n > 2 else {2: 1, 0: 1})
    assert theory.tight_cost(n) == n * n
    expected = theory.lam * n**2 - n * (n - 1) * theory.lam**2
    assert sp.expand(theory.tight_regularized_bound(n) - expected) == 0


def test_tight_bound_matches_soft_thresholding_numerically():
    # second route: the SVT minimizer of (1/N)‖Ŷ − A‖² + 2λ‖Ŷ‖_* evaluated with numpy
    n, lam = 6, 0.03
    A = theory.tight_target(n)
    values, vectors = np.linalg.eigh(A)
    Yhat = vectors @ np.diag(np.maximum(values - n * lam, 0)) @ vectors.T
    direct = np.sum((Yhat - A) ** 2) / n + 2 * lam * np.sum(np.linalg.svd(Yhat, compute_uv=False))
    assert theory.tight_bound_function(n)(lam) == pytest.approx(direct, rel=1e-12)
    with pytest.raises(ValueError, match="lam must be <= 1/2"):
        theory.tight_bound_function(n)(0.7)
    with pytest.raises(ValueError, match="n_points must be even"):
        theory.tight_target(5)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 4), st.integers(0, 2**16))
def test_least_norm_cost_equals_min_norm_solution(n_in, n_points, n_out, seed):
    # reference: np.linalg.lstsq returns the least-norm W with W Z = Z̃ (Z̃ in the row space of Z)
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n_in, n_points))
    Zt = rng.normal(size=(n_out, n_in)) @ Z
    W = np.linalg.lstsq(Z.T, Zt.T, rcond=None)[0].T
    assert theory.least_norm_cost([Zt], [Z]) == pytest.approx(np.sum(W**2), rel=1e-8, abs=1e-10)
    assert cc.least_norm_cost([Zt], [Z]) == pytest.approx(np.sum(W**2), rel=1e-8, abs=1e-10)


# --- Carathéodory --------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 80), st.integers(0, 2**16), st.booleans())
def test_conic_caratheodory_keeps_the_sum_with_at_most_rank_columns(dim, inner, n, seed, sparse_start):
    rng = np.random.default_rng(seed)
    G = rng.normal(size=(dim, inner)) @ rng.normal(size=(inner, n))  # rank min(dim, inner, n)
    weights = rng.uniform(0, 2, size=n) * (rng.random(n) < 0.7 if sparse_start else 1)
    c = cc.conic_caratheodory(G, weights, block=7)  # small blocks: many blocks and flushes
    assert np.all(c >= 0)
    assert np.count_nonzero(c) <= min(np.linalg.matrix_rank(G), np.count_nonzero(weights))
    # float64 pivoting on bases of condition ≲ 1e6: residual ≲ 1e-9 of the scale of G·weights
    np.testing.assert_allclose(G @ c, G @ weights, atol=1e-9 * (1 + np.abs(G) @ weights).max())


def test_conic_caratheodory_many_pivots_in_one_block():
    rng = np.random.default_rng(3)
    G = rng.normal(size=(20, 600))
    c = cc.conic_caratheodory(G, np.ones(600), block=500)  # > 32 pivots per block: eta flushes
    assert np.count_nonzero(c) == 20
    np.testing.assert_allclose(G @ c, G.sum(axis=1), rtol=1e-11, atol=1e-11)


def test_conic_caratheodory_agrees_with_a_highs_vertex():
    # second route: HiGHS's simplex returns a vertex of {c >= 0 : G c = G·1}, also with <= rank(G) non-zeros
    rng = np.random.default_rng(1)
    G = np.abs(rng.normal(size=(12, 200)))
    ours = cc.conic_caratheodory(G, np.ones(200))
    lp = linprog(np.zeros(200), A_eq=G, b_eq=G.sum(axis=1), bounds=(0, None), method="highs-ds")
    assert lp.status == 0
    assert np.count_nonzero(ours) <= 12 and np.count_nonzero(lp.x > 1e-12) <= 12
    np.testing.assert_allclose(G @ ours, G @ lp.x, rtol=1e-10)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 7), st.integers(1, 120), st.sampled_from(["relu", "identity", "abs"]),
       st.integers(0, 2**16))
def test_caratheodory_reduce_reproduces_both_covariances(n, width, activation, seed):
    Z = np.random.default_rng(seed).normal(size=(width, n))
    sigma = cc.activation_function(activation)
    out = cc.caratheodory_reduce(Z, activation)
    kept = Z[out.kept] * np.sqrt(out.weights)[:, None]
    assert out.kept.size <= n * (n + 1)
    # second route: the covariances recomputed from the rescaled kept rows (σ positively homogeneous)
    np.testing.assert_allclose(kept.T @ kept, Z.T @ Z, atol=1e-10 * np.abs(Z.T @ Z).max())
    np.testing.assert_allclose(sigma(kept).T @ sigma(kept), sigma(Z).T @ sigma(Z),
                               atol=1e-10 * max(np.abs(sigma(Z).T @ sigma(Z)).max(), 1.0))
    assert out.error < 1e-10


def test_identity_activation_needs_only_n_plus_n_choose_2():
    # σ = id: both halves coincide, so the generators span N(N+1)/2 dimensions only
    Z = np.random.default_rng(0).normal(size=(200, 6))
    reduction = cc.caratheodory_reduce(Z, "identity")
    assert reduction.kept.size == reduction.rank == 21


@pytest.mark.parametrize("bad, message", [
    (np.zeros((0, 3)), "non-empty"), (np.array([[np.nan, 1.0]]), "finite"), (np.ones(3), "2-D"),
])
def test_caratheodory_reduce_refuses_bad_layers(bad, message):
    with pytest.raises(ValueError, match=message):
        cc.caratheodory_reduce(bad)


def test_unknown_or_non_homogeneous_activation_is_refused():
    with pytest.raises(ValueError, match="positively homogeneous"):
        cc.caratheodory_reduce(np.ones((3, 2)), "tanh")
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
    with pytest.raises(ValueError, match="positive homogeneity"):
        cc.layer_covariances(net, np.ones((4, 2)))
    with pytest.raises(ValueError, match="weights must have one entry"):
        cc.caratheodory_reduce(np.ones((3, 2)), weights=np.ones(2))


# --- covariances, loss and reduced networks ------------------------------------------------------


def test_layer_covariances_by_hand():
    net = cc.mlp([2, 3, 1], seed=0)
    X = np.random.default_rng(0).normal(size=(5, 2))
    W1, b1 = net[0].weight.detach().numpy(), net[0].bias.detach().numpy()
    pre1 = W1 @ X.T + b1[:, None]
    post1 = np.maximum(pre1, 0)
    cov = cc.layer_covariances(net, X)
    np.testing.assert_allclose(cov.inputs[0], X @ X.T + 1.0)  # the bias row of ones
    np.testing.assert_allclose(cov.pre[0], pre1.T @ pre1)
    np.testing.assert_allclose(cov.post[0], post1.T @ post1)
    np.testing.assert_allclose(cov.inputs[1], post1.T @ post1)  # output layer has no bias
    np.testing.assert_allclose(cov.outputs[:, 0], net[2].weight.detach().numpy()[0] @ post1)


@settings(max_examples=15, deadline=None)
@given(st.integers(2, 6), st.integers(1, 3), st.integers(2, 4), st.integers(1, 8), st.integers(0, 2**16))
def test_activation_loss_is_the_loss_at_least_norm_weights(n, dim, depth, width, seed):
    X = np.random.default_rng(seed).normal(size=(n, dim))
    Y = np.random.default_rng(seed + 1).normal(size=(n, 1))
    net = cc.mlp([dim] + [width] * (depth - 1) + [1], seed=seed)
    lam = 0.1
    expected = cc.activation_loss(net, X, Y, lam)
    # second route: project every layer's weights on the row space of its input (same activations)
    _, post = cc.activations(net, X)
    with torch.no_grad():
        for layer, inputs in zip([m for m in net if isinstance(m, torch.nn.Linear)], post, strict=True):
            full = layer.weight.numpy()
            if layer.bias is not None:
                full = np.hstack([full, layer.bias.numpy()[:, None]])
                inputs = np.vstack([inputs, np.ones((1, n))])
            basis = orth(inputs)  # the column space of the layer's inputs (w, N)
            projected = full @ basis @ basis.T
            layer.weight.copy_(torch.as_tensor(projected[:, :layer.in_features]))
            if layer.bias is not None:
                layer.bias.copy_(torch.as_tensor(projected[:, -1]))
        value = float(cc.regularized_loss(net, torch.as_tensor(X), torch.as_tensor(Y), lam))
    assert value == pytest.approx(expected, rel=1e-8)
    assert _projected_gap(net, X) == pytest.approx(0.0, abs=1e-10)


def test_covariance_loss_equals_activation_loss_when_well_conditioned():
    # d >= N and wide layers: every K has condition ≲ 1e3, where the covariance route is accurate
    X = np.random.default_rng(0).normal(size=(5, 8))
    Y = np.random.default_rng(1).normal(size=(5, 2))
    net = cc.mlp([8, 40, 40, 2], seed=0)
    assert cc.covariance_loss(cc.layer_covariances(net, X), Y, 0.1) == pytest.approx(
        cc.activation_loss(net, X, Y, 0.1), rel=1e-9)


def test_reduce_network_keeps_outputs_and_least_norm_cost():
    X = np.random.default_rng(0).normal(size=(4, 2))
    net = cc.mlp([2, 60, 60, 1], seed=0)  # 60 > N(N+1) = 20: both hidden layers shrink
    reduced = cc.reduce_network(net, X)
    widths = [m.out_features for m in reduced if isinstance(m, torch.nn.Linear)][:-1]
    assert max(widths) <= 20
    with torch.no_grad():
        np.testing.assert_allclose(reduced(torch.as_tensor(X)).numpy(), net(torch.as_tensor(X)).numpy(),
                                   rtol=1e-9, atol=1e-10)
    least = theory.least_norm_cost(*cc.layer_inputs(net, X))
    assert cc.parameter_norm(reduced) == pytest.approx(least, rel=1e-8)


# --- shallow convex optimum ------------------------------------------------------------------


@settings(max_examples=12, deadline=None)
@given(st.integers(2, 7), st.integers(1, 2), st.integers(0, 2**16))
def test_exact_patterns_count_regions_of_the_arrangement(n, dim, seed):
    X = np.hstack([np.random.default_rng(seed).normal(size=(n, dim)), np.ones((n, 1))])
    patterns, mode = cc.activation_patterns(X)
    d = dim + 1
    # regions of a central arrangement of N generic hyperplanes in ℝ^d, minus the all-off one
    assert mode == "exact" and len(patterns) == 2 * sum(comb(n - 1, k) for k in range(d)) - 1
    sampled, mode = cc.activation_patterns(X, samples=4000, seed=seed)
    assert mode == "sampled"
    assert {tuple(p) for p in sampled} <= {tuple(p) for p in patterns}


@pytest.mark.parametrize("x, y, lam", [([1.0, 2.0], 3.0, 0.05), ([0.5], -1.0, 0.1)])
def test_shallow_optimum_one_point_closed_form(x, y, lam):
    # one point: f(x) = t costs 2|t|/‖(x, 1)‖ (theory.one_point_cost), so the loss is
    # min_t (t − y)² + 2λ|t|/‖x̃‖ = 2λ|y|/‖x̃‖ − λ²/‖x̃‖² when |y| > λ/‖x̃‖
    norm = np.linalg.norm(np.append(x, 1.0))
    out = cc.shallow_convex_optimum(np.array([x]), [y], lam)
    assert out.value == pytest.approx(2 * lam * abs(y) / norm - lam**2 / norm**2, rel=1e-8)
    assert out.a.size <= 2 and out.mode == "exact" and out.status == "optimal"


def test_shallow_optimum_certificate_and_sampled_upper_bound():
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(6, 2)), rng.normal(size=6)
    exact = cc.shallow_convex_optimum(X, y, 0.02)
    assert exact.gap < 1e-7 and exact.violation < 1e-8 and exact.a.size <= 7
    sampled = cc.shallow_convex_optimum(X, y, 0.02, samples=5, seed=1)
    assert sampled.mode == "sampled" and sampled.value >= exact.value * (1 - 1e-8)
    net_value = np.mean((cc_shallow(exact, X) - y) ** 2) + 0.02 * (
        np.sum(exact.a**2) + np.sum(exact.W**2) + np.sum(exact.b**2))
    assert net_value == pytest.approx(exact.value, rel=1e-10)


def cc_shallow(opt, X):
    return np.maximum(X @ opt.W.T + opt.b, 0) @ opt.a


def test_shallow_optimum_bad_input():
    X, y = np.ones((3, 2)), np.ones(3)
    with pytest.raises(ValueError, match="lam must be > 0"):
        cc.shallow_convex_optimum(X, y, 0.0)
    with pytest.raises(ValueError, match="3 rows but y has 2"):
        cc.shallow_convex_optimum(X, np.ones(2), 0.1)
    with pytest.raises(ValueError, match="general position"):
        cc.shallow_convex_optimum(X, y, 0.1)  # identical points
    with pytest.raises(ValueError, match="finite"):
        cc.shallow_convex_optimum(np.array([[np.inf, 0.0]]), [1.0], 0.1)


def test_solver_failure_is_not_converged(monkeypatch):
    import cvxpy as cp

    monkeypatch.setattr(cp.Problem, "solve", lambda self, **kw: setattr(self, "_status", "infeasible"))
    monkeypatch.setattr(cp.Problem, "status", property(lambda self: "infeasible"))
    with pytest.raises(NotConvergedError, match="infeasible"):
        cc.shallow_convex_optimum(np.random.default_rng(0).normal(size=(3, 1)), [1.0, 0.0, 2.0], 0.1)


# --- the N²/4 example -------------------------------------------------------------------------


@pytest.mark.parametrize("n", [4, 6])
def test_tight_construction_and_cp_certificate(n):
    net = tight_construction(n)
    with torch.no_grad():
        np.testing.assert_allclose(net(torch.eye(n, dtype=torch.float64)).numpy(), theory.tight_target(n),
                                   atol=1e-12)
    assert cc.parameter_norm(net) == pytest.approx(n * n, rel=1e-12)
    assert _triangle_free_edges(theory.tight_target(n)) == n * n // 4
    with pytest.raises(ValueError, match="triangle"):
        _triangle_free_edges(np.ones((3, 3)))


def test_caratheodory_width_is_the_dimension_of_the_pair_space():
    """N(N + 1): twice the N(N + 1)/2 free entries of a symmetric matrix, counted by hand too."""
    from rankcheck.theory import cone as cone_theory

    N = sp.Symbol("N", positive=True, integer=True)
    assert sp.simplify(cone_theory.pair_space_dimension() - N * (N + 1)) == 0
    for n in range(1, 8):
        by_hand = 2 * sum(1 for i in range(n) for j in range(i, n))
        assert cone_theory.caratheodory_width(n) == by_hand == n * (n + 1)
    with pytest.raises(ValueError, match="n_points"):
        cone_theory.caratheodory_width(0)

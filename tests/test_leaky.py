"""Leaky-ResNet geodesics: the Lagrangian, its split and Hamiltonian (sympy) against numpy, and the
numeric cost of identity and geodesic solver against the closed forms."""

import numpy as np
import pytest
import sympy as sp
import torch

from rankcheck.errors import NotConvergedError
from rankcheck.numerics import leaky as G
from rankcheck.numerics.leaky import hamilton
from rankcheck.proofs_checks.leaky import bottleneck_fraction, bottleneck_task
from rankcheck.testing import assert_close
from rankcheck.theory import leaky as g


@pytest.mark.parametrize("activation", ["identity", "generic"])
def test_lagrangian_splits_into_kinetic_cross_and_potential(activation):
    assert g.split(2, 2, activation)["remainder"] == 0


@pytest.mark.parametrize("width", [2, 3])
def test_cross_term_is_a_total_derivative_for_the_identity(width):
    assert g.cross_term_is_total_derivative(width, 2) == 0


@pytest.mark.parametrize("activation", ["identity", "generic"])
def test_legendre_transform_gives_the_closed_form_hamiltonian(activation):
    _, gap = g.hamiltonian(2, 2, activation)
    assert gap == 0


def test_cost_of_identity_is_the_rank_for_the_identity():
    assert g.coi_identity_rank(3, 2) == 2


def test_lagrangian_matches_least_norm_weights_numerically():
    # second route: ‖(Ȧ + L̃A) σ(A)⁺‖² / (2L̃) with σ = identity, by numpy least squares
    A, Adot, _ = g.symbols(3, 2)
    density = sp.lambdify((g.leak, *A, *Adot), g.lagrangian(3, 2), "numpy")
    rng = np.random.default_rng(0)
    a, adot, leak = rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), 1.7
    weights = np.linalg.lstsq(a.T, (adot + leak * a).T, rcond=None)[0].T  # W with W A = Ȧ + L̃A
    assert density(leak, *a.ravel(), *adot.ravel()) == pytest.approx(np.sum(weights**2) / (2 * leak),
                                                                     rel=1e-12)


def test_hamiltonian_by_finite_differences_of_the_lagrangian():
    # P = ∂ℒ/∂Ȧ by central differences, then ⟨P, Ȧ⟩ − ℒ vs the closed form (L̃/2)Tr[PKPᵀ] − L̃Tr[PAᵀ]
    A, Adot, _ = g.symbols(2, 2)
    density = sp.lambdify((g.leak, *A, *Adot), g.lagrangian(2, 2), "numpy")
    rng = np.random.default_rng(1)
    a, adot, leak, h = rng.normal(size=(2, 2)), rng.normal(size=(2, 2)), 0.8, 1e-6
    value = density(leak, *a.ravel(), *adot.ravel())
    momentum = np.zeros((2, 2))
    for index in np.ndindex(2, 2):
        step = np.zeros((2, 2))
        step[index] = h
        momentum[index] = (density(leak, *a.ravel(), *(adot + step).ravel())
                           - density(leak, *a.ravel(), *(adot - step).ravel())) / (2 * h)
    legendre = np.sum(momentum * adot) - value
    closed = leak / 2 * np.trace(momentum @ a.T @ a @ momentum.T) - leak * np.trace(momentum @ a.T)
    # central differences of a smooth rational function: error ~h² times its third derivative
    assert legendre == pytest.approx(closed, rel=1e-7, abs=1e-8)


def test_scalar_geodesic_is_log_linear_with_constant_hamiltonian():
    out = g.scalar_geodesic()
    assert out["residual"] == 0
    assert g.p not in out["hamiltonian"].free_symbols
    a0, a1 = sp.symbols("a0 a1", positive=True)
    for values in ({a0: 0.5, a1: 2.0, g.leak: 1.0}, {a0: 3.0, a1: 0.2, g.leak: 5.0}):
        expected = (np.log(values[a1] / values[a0]) + values[g.leak]) ** 2 / (2 * values[g.leak])
        assert float(out["action"].subs(values)) == pytest.approx(expected, rel=1e-12)


def test_bad_activation_and_sizes():
    with pytest.raises(ValueError, match="activation must be"):
        g.lagrangian(2, 2, "relu")
    with pytest.raises(ValueError, match="width must be"):
        g.symbols(0, 2)


# --- numerics.leaky ------------------------------------------------------------------------


def test_cost_of_identity_closed_forms():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(5, 3))
    assert G.cost_of_identity(A, "identity") == pytest.approx(3.0, rel=1e-10)  # rank A
    assert G.cost_of_identity(np.abs(A), "relu") == pytest.approx(3.0, rel=1e-10)  # A >= 0: σ(A) = A
    assert G.cost_of_identity(2.5 * A, "relu") == pytest.approx(G.cost_of_identity(A, "relu"), rel=1e-10)
    low = rng.normal(size=(5, 1)) @ rng.normal(size=(1, 3))  # rank 1
    assert G.cost_of_identity(low, "identity") == pytest.approx(1.0, rel=1e-8)
    # γ > 0 shrinks it: Tr[AᵀA (AᵀA + γI)⁻¹] = Σ s²/(s² + γ)
    s = np.linalg.svd(A, compute_uv=False)
    expected = np.sum(s**2 / (s**2 + 0.5))
    assert G.cost_of_identity(A, "identity", gamma=0.5) == pytest.approx(expected, rel=1e-12)


def test_scalar_geodesic_matches_the_closed_form():
    a0, a1, leak, steps = 0.5, 2.0, 1.0, 16
    geo = G.solve_geodesic([[a0]], [[a1]], leak, steps, gamma=0.0)
    p = np.linspace(0, 1, steps + 1)
    np.testing.assert_allclose(geo.path[:, 0, 0], a0 ** (1 - p) * a1**p, atol=1e-6)
    # H constant along the discrete geodesic; its value and the action converge at O(1/steps)
    assert np.ptp(geo.hamiltonian) < 1e-5
    exact_H = (np.log(a1 / a0) ** 2 - leak**2) / (2 * leak)
    exact_action = (np.log(a1 / a0) + leak) ** 2 / (2 * leak)
    assert abs(geo.hamiltonian.mean() - exact_H) < 2.0 / steps
    assert abs(geo.action - exact_action) < 3.0 / steps


def test_matrix_geodesic_conserves_the_hamiltonian():
    rng = np.random.default_rng(0)
    A0, A1 = np.abs(rng.normal(size=(3, 2))), np.abs(rng.normal(size=(3, 2)))
    for activation in ("identity", "relu"):
        geo = G.solve_geodesic(A0, A1, 2.0, 16, gamma=0.0, activation=activation)
        assert np.ptp(geo.hamiltonian) < 1e-5 * abs(geo.hamiltonian.mean())
        np.testing.assert_allclose(geo.coi, 2.0, rtol=1e-8)  # non-negative, full column rank: COI = N


def test_geodesic_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        G.solve_geodesic(np.ones((2, 2)), np.ones((3, 2)), 1.0, 8)
    with pytest.raises(ValueError, match="leak must be > 0"):
        G.solve_geodesic(np.ones((2, 2)), np.ones((2, 2)), 0.0, 8)
    with pytest.raises(ValueError, match="steps must be an integer >= 2"):
        G.solve_geodesic(np.ones((2, 2)), np.ones((2, 2)), 1.0, 1)
    with pytest.raises(ValueError, match="activation must be one of"):
        G.cost_of_identity(np.ones((2, 2)), "tanh")
    with pytest.raises(NotConvergedError, match="gradient norm"):
        G.solve_geodesic(np.ones((2, 1)) + np.eye(2)[:, :1], np.ones((2, 1)), 1.0, 8, iterations=1)


# --- Hamilton's equations: shooting, boundary values, Euler–Lagrange -------------------------

def test_paper_hamilton_field_equals_the_sympy_derived_one():
    rng = np.random.default_rng(0)
    for width, points in ((3, 2), (2, 3)):
        field = g.hamilton_field_fn(width, points)
        for _ in range(5):
            A, B = rng.normal(size=(width, points)), rng.normal(size=(width, points))
            derived = field(A, B, (A > 0).astype(float), 1.7)
            paper = G.hamilton_field(A, B, 1.7)
            for mine, theirs in zip(paper, derived, strict=True):
                assert np.allclose(mine, theirs, rtol=0.0, atol=1e-13)  # float64 rounding


def test_euler_lagrange_residual_vanishes_on_the_scalar_geodesic():
    # a(p) = a0^{1−p} a1^p with a > 0: ȧ = a·log r, ä = a·log² r (r = a1/a0), by hand
    euler = g.euler_lagrange_fn(1, 1)
    a0, a1, leak = 0.5, 2.0, 1.3
    for depth in (0.0, 0.4, 1.0):
        a = a0 ** (1 - depth) * a1**depth
        log_ratio = np.log(a1 / a0)
        residual, force = euler([[a]], [[a * log_ratio]], [[a * log_ratio**2]], [[1.0]], leak)
        assert abs(residual[0, 0]) < 1e-12 * (1 + abs(force[0, 0]))
    residual, _ = euler([[1.0]], [[1.0]], [[0.0]], [[1.0]], leak)  # not a geodesic: ä = 0, ȧ ≠ 0
    assert abs(residual[0, 0]) > 0.1


def test_shooting_conserves_the_hamiltonian_and_the_homogeneity_charge():
    rng = np.random.default_rng(3)
    A0, B0 = rng.normal(size=(3, 2)), 0.5 * rng.normal(size=(3, 2))
    shot = G.shoot(A0, B0, 1.5, rtol=1e-11)
    # ReLU is positively homogeneous, so Tr[BAᵀ] is conserved too (d/dp Tr[BAᵀ] = −L̃‖Bσ(A)ᵀ‖² + L̃‖Bσ(A)ᵀ‖²)
    charge = np.einsum("kwn,kwn->k", shot.B, shot.A)
    assert np.ptp(shot.H) < 1e-8 * (1 + abs(shot.H[0]))  # DOP853 at rtol 1e-11 over ~100s of steps
    assert np.ptp(charge) < 1e-8 * (1 + abs(charge[0]))
    assert shot.A.shape == (101, 3, 2) and shot.p[-1] == 1.0


def test_boundary_value_solver_agrees_with_the_action_minimizer():
    rng = np.random.default_rng(0)
    A0, A1 = np.abs(rng.normal(size=(3, 2))) + 0.2, np.abs(rng.normal(size=(3, 2))) + 0.2
    bvp = G.solve_geodesic_bvp(A0, A1, 1.0)
    assert np.abs(bvp.A[-1] - A1).max() < 1e-8
    gaps = []
    for steps in (16, 32):
        discrete = G.solve_geodesic(A0, A1, 1.0, steps, gamma=0.0, iterations=20000)
        nodes = np.array([np.interp(np.linspace(0, 1, steps + 1), bvp.p, bvp.A[:, i, j])
                          for i in range(3) for j in range(2)]).T.reshape(steps + 1, 3, 2)
        gaps.append(np.abs(nodes - discrete.path).max())
    # the discrete action is a first-order (forward Euler) discretization: the gap halves with the steps
    assert gaps[1] < 0.65 * gaps[0] and gaps[1] < 0.03, gaps


def test_hamilton_tangent_is_the_derivative_of_the_field():
    rng = np.random.default_rng(8)
    A, B = torch.from_numpy(rng.normal(size=(3, 4))), torch.from_numpy(rng.normal(size=(3, 4)))
    dA, dB = torch.from_numpy(rng.normal(size=(2, 3, 4))), torch.from_numpy(rng.normal(size=(2, 3, 4)))
    tangent = G.hamilton_tangent(A, B, dA, dB, 1.7)  # a batch of two tangents at once
    for k in range(2):  # forward-mode autodiff of the field (A has mixed signs: σ̇ = 0 and 1 both occur)
        _, expected = torch.func.jvp(lambda a, b: G.hamilton_field(a, b, 1.7), (A, B), (dA[k], dB[k]))
        for got, want in zip(tangent, expected, strict=True):
            np.testing.assert_allclose(got[k].numpy(), want.numpy(), rtol=1e-12, atol=1e-12)


def test_boundary_value_solver_finds_the_geodesic_of_the_hard_draw():
    # leaky.action's full-profile draw (L̃ = 1.842, seed 65008): least squares on a single DOP853 shot
    # with finite-difference Jacobians missed the end by 0.8–1.8 from every start; the flow amplifies
    # an error in B0 about e^5-fold over p ∈ [0, 1]
    rng = np.random.default_rng(65008)
    X, Y = np.abs(rng.normal(size=(3, 2))) + 0.2, np.abs(rng.normal(size=(3, 2))) + 0.2
    end = G.train_leaky_resnet(X, Y, 8, 1.842, 0.01, seed=65008, gradient_tol=1e-4).path[-1]
    bvp = G.solve_geodesic_bvp(X, end, 1.842)
    assert bvp.A.shape == (401, 3, 2) and np.abs(bvp.A[-1] - end).max() < 1e-8
    assert np.ptp(bvp.H) < 1e-7  # conserved by the flow; DOP853 at rtol 1e-10 keeps it to ~5e-9
    # the geodesic is the limit of the trained networks' paths: their conserved step H (1.99 at L = 32,
    # 1.88 at 64, measured) approaches the geodesic's 1.7647 at first order in 1/L
    assert 1.76 < bvp.H[0] < 1.77
    with pytest.raises(NotConvergedError, match="multiple shooting"):  # one damped Newton step is not enough
        G.solve_geodesic_bvp(X, end, 1.842, iterations=1)


def test_multiple_shooting_newton_converges_quadratically_from_a_trained_path():
    rng = np.random.default_rng(65008)
    X, Y = np.abs(rng.normal(size=(3, 2))) + 0.2, np.abs(rng.normal(size=(3, 2))) + 0.2
    path = G.train_leaky_resnet(X, Y, 16, 1.842, 0.01, seed=65008, gradient_tol=1e-4).path
    momenta = hamilton._costates(path, 1.842)
    misses = [hamilton._multiple_shooting(X, path[-1], 1.842, path[:-1:2], momenta[::2], 400, k)[1]
              for k in (1, 2, 3)]
    # Newton with the exact Jacobian: each error about the square of the last (up to a constant)
    assert misses[0] < 0.5 and misses[1] < 10 * misses[0] ** 2 and misses[2] < 10 * misses[1] ** 2, misses


def test_shooting_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        G.shoot(np.ones((2, 2)), np.ones((2, 3)), 1.0)
    with pytest.raises(ValueError, match="leak"):
        G.shoot(np.ones((2, 2)), np.ones((2, 2)), 0.0)
    with pytest.raises(ValueError, match="same shape"):
        G.solve_geodesic_bvp(np.ones((2, 2)), np.ones((3, 2)), 1.0)
    with pytest.raises(ValueError, match="multiple of segments"):
        G.solve_geodesic_bvp(np.ones((2, 2)), np.ones((2, 2)), 1.0, segments=3, steps=400)
    with pytest.raises(ValueError, match="start must be a path"):
        G.solve_geodesic_bvp(np.ones((2, 2)), np.ones((2, 2)), 1.0, start=np.ones((6, 2, 2)))


def test_masked_lagrangian_is_the_least_norm_weight_cost():
    rng = np.random.default_rng(5)
    A, V, leak = rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), 1.7
    post = np.maximum(A, 0.0)
    least = np.linalg.pinv(post.T).dot((V + leak * A).T).T  # W with W σ(A) = V + L̃A, least norm
    expected = np.sum(least**2) / (2 * leak)
    got = g.lagrangian_fn(3, 2)(A, V, (A > 0).astype(float), leak)
    assert abs(got - expected) < 1e-10 * expected  # float64 rounding through K⁻¹


def test_discrete_action_is_the_cost_of_least_norm_weights_and_a_lower_bound():
    import torch

    rng = np.random.default_rng(6)
    X, leak, depth = np.abs(rng.normal(size=(3, 2))) + 0.2, 1.2, 5
    rho = np.full(depth, 1 / depth)
    weights = rng.normal(size=(depth, 3, 3))
    path = [X]
    for weight in weights:  # project each W onto the row space of σ(A): least-norm for its own step
        post = np.maximum(path[-1], 0.0)
        weight[:] = weight @ post @ np.linalg.pinv(post)
        step = G.leaky_forward(torch.from_numpy(path[-1]), torch.from_numpy(weight[None]),
                               torch.tensor([1 / depth], dtype=torch.float64), leak)
        path.append(step[-1].numpy())
    cost = np.sum(rho * np.sum(weights**2, axis=(1, 2))) / (2 * leak)
    assert abs(G.discrete_action(np.array(path), rho, leak) - cost) < 1e-10 * cost
    heavier = weights + 0.1 * rng.normal(size=weights.shape)  # leaves the row space: costs more
    heavy_path = torch.stack(G.leaky_forward(torch.from_numpy(X), torch.from_numpy(heavier),
                                             torch.from_numpy(rho), leak)).numpy()
    heavy_cost = np.sum(rho * np.sum(heavier**2, axis=(1, 2))) / (2 * leak)
    assert G.discrete_action(heavy_path, rho, leak) < heavy_cost


def test_trained_leaky_resnet_cost_equals_its_path_action_and_bad_input():
    rng = np.random.default_rng(7)
    X, Y = np.abs(rng.normal(size=(3, 2))) + 0.2, np.abs(rng.normal(size=(3, 2))) + 0.2
    fit = G.train_leaky_resnet(X, Y, 4, 1.0, 0.01, seed=1)
    assert abs(fit.cost - G.discrete_action(fit.path, fit.rho, 1.0)) < 1e-6 * fit.cost  # stationarity 1e-7
    with pytest.raises(ValueError, match="rho"):
        G.train_leaky_resnet(X, Y, 2, 3.0, 0.01)  # ρL̃ = 1.5 >= 1
    with pytest.raises(ValueError, match="rho"):
        G.train_leaky_resnet(X, Y, 2, 1.0, 0.01, rho=[0.3, 0.3])
    with pytest.raises(ValueError, match="same shape"):
        G.train_leaky_resnet(X, Y[:, :1], 2, 1.0, 0.01)


def test_identity_start_keeps_nonnegative_representations_fixed():
    # W = L̃·I: α_ℓ = (1 − ρL̃)·α + ρL̃·σ(α) = α for α >= 0, at every layer and any L̃
    X = np.abs(np.random.default_rng(5).normal(size=(3, 4)))
    for leak in (0.5, 6.0):
        weights = leak * torch.eye(3, dtype=torch.float64).repeat(8, 1, 1)
        steps = torch.full((8,), 1 / 8, dtype=torch.float64)
        path = G.leaky_forward(torch.from_numpy(X), weights, steps, leak)
        assert_close(path[-1].numpy(), X, rtol=1e-14, why="exact fixed point, rounding only")
    with pytest.raises(ValueError, match="init"):
        G.train_leaky_resnet(X, X, 4, 1.0, 0.1, init="zeros")


def test_bottleneck_task_factors_through_two_dimensions():
    X, Y = bottleneck_task(3)
    assert X.shape == Y.shape == (5, 12)
    assert np.linalg.matrix_rank(X) == 5 and np.linalg.matrix_rank(Y) == 5
    # every output row is a function of (s, 1): where relu(s + 1) > 0 it gives s back
    alive = Y[0] > 0
    s = Y[0, alive] - 1.0
    assert alive.sum() >= 8 and np.all(Y[4] == 1.0)
    assert_close(Y[1:4, alive], [np.maximum(-0.3 - s, 0), np.maximum(s - 0.3, 0), np.maximum(1 - s, 0)],
                 rtol=0.0, atol=1e-12, why="the ramps of the same s")
    # by hand: within 1.1 × 2 = 2.2 of the inner dimension 2: the values 2 and 2.1, two of five
    assert bottleneck_fraction([4.0, 2.0, 2.1, 2.3, 5.0], 2) == pytest.approx(0.4)


def _path_with_moves(moves: list[float]) -> np.ndarray:
    """Representations (L + 1, 2, 2) whose ℓ-th layer moves them by Frobenius distance moves[ℓ]."""
    direction = np.array([[1.0, 0.0], [0.0, 0.0]])
    return np.cumsum([np.eye(2), *[m * direction for m in moves]], axis=0)


def test_adaptive_steps_by_hand():
    rho = np.full(3, 1 / 3)
    path = _path_with_moves([1.0, 2.0, 4.0])  # speeds 3, 6, 12: steps ∝ 1/speed = 4 : 2 : 1
    assert_close(G.adaptive_steps(path, rho, 0.5), np.array([4, 2, 1]) / 7, rtol=1e-14, why="rounding")
    # L̃ = 2, cap 0.9: ρ <= 0.45; 4/7 is capped, the other 0.55 is shared 2 : 1
    assert_close(G.adaptive_steps(path, rho, 2.0), [0.45, 0.55 * 2 / 3, 0.55 / 3], rtol=1e-14, why="rounding")
    # equal distance per layer is the fixed point, whatever the steps
    uneven = np.array([0.5, 0.3, 0.2])
    steady = _path_with_moves([0.7] * 3)
    assert_close(G.adaptive_steps(steady, uneven, 1.0), uneven, rtol=1e-14, why="rounding")
    with pytest.raises(ValueError, match="rho"):
        G.adaptive_steps(path, rho[:2], 1.0)
    with pytest.raises(ValueError, match="cap"):
        G.adaptive_steps(path, rho, 3.0)  # 3 layers × 0.9 < L̃: the capped steps cannot sum to 1


def test_adaptive_training_starts_uniform_and_its_cost_is_its_path_action():
    rng = np.random.default_rng(7)
    X, Y = np.abs(rng.normal(size=(3, 2))) + 0.2, np.abs(rng.normal(size=(3, 2))) + 0.2
    uniform = G.train_leaky_resnet(X, Y, 4, 1.0, 0.01, seed=1)
    fit = G.train_leaky_resnet(X, Y, 4, 1.0, 0.01, seed=1, adaptive_rounds=2)
    assert len(fit.objectives) == 3
    # round 0 is the uniform training: same seed, same steps, same stationary point
    assert fit.objectives[0] == pytest.approx(uniform.misfit + 0.01 * uniform.cost, rel=1e-12)
    assert not np.allclose(fit.rho, 0.25) and fit.rho.sum() == pytest.approx(1.0) and fit.rho.max() <= 0.9
    # at stationarity the cost with uneven steps is the discrete action of its path (least-norm weights)
    assert abs(fit.cost - G.discrete_action(fit.path, fit.rho, 1.0)) < 1e-6 * fit.cost
    assert fit.objectives[-1] == pytest.approx(fit.misfit + 0.01 * fit.cost, rel=1e-12)
    with pytest.raises(ValueError, match="adaptive_rounds"):
        G.train_leaky_resnet(X, Y, 4, 1.0, 0.01, adaptive_rounds=-1)
    with pytest.raises(ValueError, match="adaptive_rounds needs"):
        G.train_leaky_resnet(X, Y, 4, 3.8, 0.01, adaptive_rounds=1)  # uniform ρL̃ = 0.95 > the cap


def test_hamilton_field_is_linear_in_the_effective_depth():
    assert g.transit_share_exponent() == -1 and g.transit_share_exponent(3, 2) == -1
    # independent route: the paper's matrix form in numerics, at a drawn state, scales exactly with L̃;
    # so a shot at L̃ over depth p is the shot at 1 over depth L̃·p (compared at p = 1/3 vs 1)
    rng = np.random.default_rng(11)
    A, B = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    for one, three in zip(G.hamilton_field(A, B, 1.0), G.hamilton_field(A, B, 3.0), strict=True):
        assert_close(three, 3 * one, rtol=1e-14, why="rounding")
    slow, fast = G.shoot(A * 0.1, B * 0.1, 1.0, samples=4), G.shoot(A * 0.1, B * 0.1, 3.0, samples=4)
    assert_close(fast.A[1], slow.A[-1], rtol=1e-7, atol=1e-9, why="two DOP853 runs at rtol 1e-10")


def test_step_hamiltonians_of_a_shot_path_approach_its_hamiltonian():
    # independent route: H(A, B) from the costate of Hamilton's equations vs H from the sampled path's
    # finite-difference velocities alone (K invertible: w = 3 >= N = 2, A > 0); error O(1/steps)
    rng = np.random.default_rng(2)
    A0, B0 = np.abs(rng.normal(size=(3, 2))) + 0.5, 0.3 * rng.normal(size=(3, 2))
    coarse, fine = (G.shoot(A0, B0, 1.5, samples=n + 1) for n in (200, 400))
    errors = [np.max(np.abs(G.step_hamiltonians(s.A, 1.5) - s.H[0])) for s in (coarse, fine)]
    # measured 0.018, 0.0092 of H = 0.239: first order (ratio 2 ± 0.2), so it goes to 0 with the steps
    assert errors[1] < 0.05 * abs(coarse.H[0]) and 1.8 < errors[0] / errors[1] < 2.2
    with pytest.raises(ValueError, match="path"):
        G.step_hamiltonians(A0, 1.5)


# --- the Fig. 2a regression task: teacher and trainer -------------------------------------------------

def test_teacher_factors_through_its_bottleneck_and_is_normalized():
    rng = np.random.default_rng(3)
    parts = [G.random_resnet(a, b, 50, rng) for a, b in ((30, 6), (6, 3), (3, 30))]
    x = rng.normal(size=(30, 1))
    def f(z):
        for part in parts:
            z = part(z)
        return z
    h = 1e-6  # central differences of a piecewise-linear map: exact away from kinks
    jacobian = np.column_stack([(f(x + h * e[:, None]) - f(x - h * e[:, None]))[:, 0] / (2 * h)
                                for e in np.eye(30)])
    singular = np.linalg.svd(jacobian, compute_uv=False)
    assert singular[2] > 1e-3 and singular[3] < 1e-6 * singular[0]  # rank 3: the bottleneck
    task = G.resnet_composition_task(7, points=300, test_points=200)
    assert task.X_train.shape == (30, 300) and task.Y_test.shape == (30, 200)
    for A in (task.X_train, task.Y_train):
        assert_close(A.mean(axis=1), np.zeros(30), rtol=0, atol=1e-12, why="demeaned")
        assert_close(np.mean(np.sum(A**2, axis=0)), 1.0, rtol=1e-12, why="normalized")


def _affine_residual(A, B):
    """How far A is from a·B + b (one scalar a, one shift per row): the relation between two
    normalizations of the same points."""
    centred_a, centred_b = A - A.mean(axis=1, keepdims=True), B - B.mean(axis=1, keepdims=True)
    scale = np.sum(centred_a * centred_b) / np.sum(centred_b**2)
    return np.max(np.abs(centred_a - scale * centred_b))


def test_teacher_and_test_set_do_not_depend_on_the_training_size():
    """More training points add points: the first ones, the test points and the teacher stay (up to
    the normalization by the training set's statistics, an affine map)."""
    small, large = (G.resnet_composition_task(5, points=n, test_points=100) for n in (200, 400))
    assert _affine_residual(small.X_train, large.X_train[:, :200]) < 1e-12
    assert _affine_residual(small.X_test, large.X_test) < 1e-12
    other = G.resnet_composition_task(6, points=200, test_points=100)
    assert _affine_residual(small.X_test, other.X_test) > 0.5  # another seed, other points
    with pytest.raises(ValueError, match="dims"):
        G.resnet_composition_task(0, dims=(30,))


def _numpy_forward(X, weights, rho, leak, width, d_out):
    """An independent forward pass: α ← (1 − ρL̃)α + ρ·W[relu(α); 1], input zero-padded."""
    A = np.zeros((width, X.shape[1]))
    A[: X.shape[0]] = X
    for W, step in zip(weights, rho, strict=True):
        A = (1 - step * leak) * A + step * W @ np.vstack([np.maximum(A, 0), np.ones((1, A.shape[1]))])
    return A[:d_out]


@pytest.mark.parametrize("schedule", ["uniform", "adaptive", "irregular"])
def test_regression_errors_are_those_of_the_returned_network(schedule):
    task = G.resnet_composition_task(2, points=60, test_points=40, dims=(5, 2, 4))
    fit = G.fit_leaky_regression(task.X_train, task.Y_train, task.X_test, task.Y_test, 6, leak=2.0,
                                 width=8, schedule=schedule, adam_steps=150, sgd_steps=20,
                                 record_every=50, seed=1, dtype=torch.float64)
    for X, Y, error in ((task.X_train, task.Y_train, fit.train_error),
                        (task.X_test, task.Y_test, fit.test_error)):
        prediction = _numpy_forward(X, fit.weights, fit.rho, 2.0, 8, 4)
        assert_close(error, np.mean(np.sum((prediction - Y) ** 2, axis=0)), rtol=1e-10,
                     why="float64 both ways")
    penalty = 1e-3 * np.sum(fit.rho * np.sum(fit.weights**2, axis=(1, 2))) / (2 * 2.0)
    assert_close(fit.objective, fit.train_error + penalty, rtol=1e-10, why="the stated objective")
    assert_close(fit.rho.sum(), 1.0, rtol=1e-12, why="steps sum to 1")
    assert fit.history[-1, 0] == 170 and fit.history[-1, 1] < fit.history[0, 1]  # training helps
    if schedule == "irregular":
        assert_close(fit.rho, G.irregular_steps(6), rtol=1e-12, why="fixed schedule")
    if schedule == "uniform":
        assert_close(fit.rho, np.full(6, 1 / 6), rtol=1e-12, why="fixed schedule")


def test_irregular_steps_are_small_large_small():
    rho = G.irregular_steps(7)
    assert_close(rho, rho[::-1], rtol=1e-14, why="symmetric")
    assert np.argmax(rho) == 3 and rho[0] < rho[3] and abs(rho.sum() - 1) < 1e-14
    assert_close(G.irregular_steps(5, 0.0), np.full(5, 0.2), rtol=1e-14, why="contrast 0 is uniform")
    with pytest.raises(ValueError, match="contrast"):
        G.irregular_steps(4, 1.0)


def test_regression_bad_input_and_divergence():
    task = G.resnet_composition_task(0, points=20, test_points=10, dims=(4, 2, 3))
    args = (task.X_train, task.Y_train, task.X_test, task.Y_test)
    for kwargs, name in (({"width": 3}, "width"), ({"schedule": "random"}, "schedule"),
                         ({"adam_steps": -1}, "adam_steps"), ({"adam_steps": 0, "sgd_steps": 0}, "both"),
                         ({"device": "nowhere"}, "device"), ({"sgd_lr": 0.0}, "sgd_lr")):
        with pytest.raises(ValueError, match=name):
            G.fit_leaky_regression(*args, 6, width=kwargs.pop("width", 8), **kwargs)
    with pytest.raises(ValueError, match="rho_l"):
        G.fit_leaky_regression(*args, 3, width=8)  # uniform ρL̃ = 1
    with pytest.raises(ValueError, match="test set"):
        G.fit_leaky_regression(task.X_train, task.Y_train, task.X_test[:3], task.Y_test, 6, width=8)
    with pytest.raises(NotConvergedError, match="at step"):
        G.fit_leaky_regression(*args, 6, width=8, adam_steps=0, sgd_steps=50, sgd_lr=1e6)

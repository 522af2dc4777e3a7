"""theory.geodesics: the Leaky-ResNet Lagrangian, its split, the Hamiltonian, against sympy and numpy."""

import numpy as np
import pytest
import sympy as sp

from theory import geodesics as g


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

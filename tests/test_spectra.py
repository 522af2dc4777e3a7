"""theory.spectra and numerics.spectra against closed forms, sympy integrals and each other."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import quad

from rankcheck.numerics import spectra as N
from rankcheck.testing import assert_close
from rankcheck.theory import spectra as T


@pytest.mark.parametrize("k", range(9))
def test_closed_forms_match_sympy_integrals(k):
    """a_k = E[σ(Z)h_k(Z)] integrated by sympy on (0, ∞) for ReLU and the step."""
    assert sp.simplify(T.relu_hermite(k) - T.gaussian_expectation(T.z * T.hermite_function(k), 0)) == 0
    assert sp.simplify(T.step_hermite(k) - T.gaussian_expectation(T.hermite_function(k), 0)) == 0


def test_named_closed_forms():
    assert T.hermite_coefficients("relu", 3) == [1 / sp.sqrt(2 * sp.pi), sp.Rational(1, 2),
                                                 1 / (2 * sp.sqrt(sp.pi)), 0]
    assert T.hermite_coefficients("identity", 2) == [0, 1, 0]
    leaky = T.hermite_coefficients("leaky_relu", 1)
    assert sp.simplify(leaky[1] - (T.alpha + (1 - T.alpha) / 2)) == 0
    assert T.polynomial_hermite(T.z**3) == [0, 3, 0, sp.sqrt(6)]  # z³ = He_3 + 3He_1
    with pytest.raises(ValueError, match="activation"):
        T.hermite_coefficients("swish", 3)


def test_dual_activations_are_the_squared_coefficient_series():
    assert T.dual_series_gap(T.relu_dual(), T.relu_hermite, 10) == [0] * 10
    assert T.dual_series_gap(T.step_dual(), T.step_hermite, 10) == [0] * 10


def test_ntk_layer_kernels_are_one_at_one():
    assert [sp.simplify(e.subs(T.rho, 1)) for e in T.relu_nngp_kernels(4)] == [1] * 4
    assert T.relu_nngp_kernels(2)[1] == T.kappa1(T.rho)
    for depth in (1, 2, 4):
        values = [sp.simplify(e.subs(T.rho, 1)) for e in T.relu_ntk_layer_kernels(depth)]
        assert values == [1] * depth


@pytest.mark.parametrize("dim", [2, 3, 4, 7])
def test_multiplicities_count_polynomials_on_the_sphere(dim):
    """Σ_{k<=K} N(d, k) = C(K + d − 1, d − 1) + C(K + d − 2, d − 1): the polynomials of degree <= K
    restricted to S^{d−1}."""
    for top in range(6):
        total = sum(T.harmonic_multiplicity(dim, k) for k in range(top + 1))
        assert total == math.comb(top + dim - 1, dim - 1) + math.comb(top + dim - 2, dim - 1)
        assert N.harmonic_multiplicity(dim, top) == T.harmonic_multiplicity(dim, top)


@pytest.mark.parametrize("dim, power", [(2, 3), (3, 4), (5, 4), (3, 5), (7, 3)])
def test_monomial_eigenvalues_match_the_funk_hecke_integral(dim, power):
    for degree in range(power + 2):
        assert sp.simplify(T.funk_hecke(T.t**power, dim, degree)
                           - T.monomial_eigenvalue(dim, degree, power)) == 0
    numeric = N.monomial_eigenvalues(dim, power + 1, power + 1)[:, power]
    exact = [float(T.monomial_eigenvalue(dim, k, power)) for k in range(power + 2)]
    assert_close(numeric, exact, rtol=1e-13, why="log-gamma in float64")


def test_hermite_coefficients_of_relu_and_step_to_degree_200():
    relu = [float(T.relu_hermite(k)) for k in range(201)]
    step = [float(T.step_hermite(k)) for k in range(201)]
    assert_close(N.hermite_coefficients("relu", 200), relu, rtol=0, atol=1e-13,
                 why="Gauss–Legendre split at the kink; observed 3e-14")
    assert_close(N.hermite_coefficients("step", 200), step, rtol=0, atol=1e-12,
                 why="Gauss–Legendre split at the jump; observed 1.4e-13")
    leaky = [float(c.subs(T.alpha, 0.1)) for c in T.hermite_coefficients("leaky_relu", 50)]
    assert_close(N.hermite_coefficients("leaky_relu", 50), leaky, rtol=0, atol=1e-13, why="same")


def test_a_kink_without_breakpoints_costs_accuracy():
    """Documented behaviour: plain Gauss–Hermite on ReLU is off by ~1e-3, not 1e-13."""
    plain = N.hermite_coefficients(lambda x: np.maximum(x, 0.0), 40, breakpoints=())
    error = np.max(np.abs(plain - [float(T.relu_hermite(k)) for k in range(41)]))
    assert 1e-5 < error < 1e-2


@pytest.mark.parametrize("name, function", [("tanh", np.tanh),
                                            ("sigmoid", lambda x: 1 / (1 + np.exp(-x)))])
def test_smooth_activations_against_adaptive_quadrature(name, function):
    values = N.hermite_coefficients(name, 12)
    hermite = N.hermite_functions
    for k in range(13):
        reference = quad(lambda x, k=k: function(x) * hermite([x], k)[k, 0]
                         * np.exp(-x * x / 2) / np.sqrt(2 * np.pi), -40, 40, epsabs=1e-14,
                         limit=200)[0]
        assert_close(values[k], reference, rtol=0, atol=1e-12,
                     why="Gauss–Hermite (200 nodes) vs adaptive quad, both ~1e-14")
    parseval = quad(lambda x: function(x) ** 2 * np.exp(-x * x / 2) / np.sqrt(2 * np.pi), -40, 40,
                    epsabs=1e-14)[0]
    assert_close(np.sum(N.hermite_coefficients(name, 200) ** 2), parseval, rtol=1e-10,
                 why="Parseval: the coefficients of a smooth activation decay geometrically")


@pytest.mark.parametrize("bad, message", [("swish", "activation"), (3.0, "activation")])
def test_bad_activations(bad, message):
    with pytest.raises(ValueError, match=message):
        N.hermite_coefficients(bad, 4)
    with pytest.raises(ValueError, match="max_degree"):
        N.hermite_coefficients("relu", -1)
    with pytest.raises(ValueError, match="dim"):
        N.harmonic_multiplicity(1, 2)


def test_taylor_coefficients_by_fft():
    kernel = N.AnalyticKernel(np.exp)
    assert_close(kernel.taylor(64)[:30], [1 / math.factorial(j) for j in range(30)], rtol=1e-9,
                 atol=1e-15, why="FFT on |t| = 0.875 with 512 points; round-off ε·e/r^j")


@pytest.mark.parametrize("dim", [11, 30])
def test_series_and_quadrature_agree_where_both_are_accurate(dim):
    layers = N.relu_ntk_layer_kernels(3)
    for layer in layers:
        series = N.funk_hecke_eigenvalues(layer, dim, 15, method="series")
        quadrature = N.funk_hecke_eigenvalues(layer, dim, 15, method="quadrature")
        assert_close(series, quadrature, rtol=1e-7, atol=1e-14,
                     why="series tail below 1e-7 relative for k <= 15; quadrature's absolute floor "
                     "~1e-15 (cancellation), reached by μ_14 ≈ 5e-15 at d = 30")


def test_series_has_no_catastrophic_cancellation():
    """κ = exp at d = 300, k = 20: the exact μ_k = Σ_j c(d, k, j)/j! in rationals; the series gets
    it to 1e-12, quadrature (cancellation of terms ~1e-16 against μ ~ 1e-40) gets nothing."""
    dim, degree = 300, 20
    exact = sum(T.monomial_eigenvalue(dim, degree, j) / sp.factorial(j) for j in range(20, 80))
    exact = float(exact)
    kernel = N.AnalyticKernel(np.exp, tuple(1 / math.factorial(j) for j in range(171)))
    series = N.funk_hecke_eigenvalues(kernel, dim, degree)[degree]
    assert_close(series, exact, rtol=1e-10, why="positive terms; float64 log-gamma")
    read_off = N.funk_hecke_eigenvalues(N.AnalyticKernel(np.exp), dim, degree)[degree]
    assert read_off > 10 * exact, "documented: FFT round-off (1e-13) swamps b_j = 1/j! here"
    quadrature = N.funk_hecke_eigenvalues(np.exp, dim, degree, method="quadrature")[degree]
    assert abs(quadrature - exact) > 1e3 * exact


def test_ntk_layer_kernels_match_the_sympy_recursion():
    points = np.linspace(-0.999, 0.999, 11)
    for depth in (2, 4):
        numeric = N.relu_ntk_layer_kernels(depth)
        for kernel, expr in zip(numeric, T.relu_ntk_layer_kernels(depth), strict=True):
            assert_close(kernel(points), sp.lambdify(T.rho, expr, "numpy")(points), rtol=1e-13,
                         why="same closed forms in numpy")
        assert_close(sum(k(np.array([1.0])) for k in numeric), [depth], rtol=1e-14,
                     why="Θ(1) = L with He scaling")


@given(st.integers(2, 6), st.integers(0, 4))
def test_eigenvalues_sum_to_the_kernel_at_one(dim, degree):
    """Σ_k N(d, k)μ_k = κ(1) for κ(t) = t^j (only k <= j contribute)."""
    values = N.funk_hecke_eigenvalues(lambda t: t**degree, dim, degree + 1)
    total = sum(N.harmonic_multiplicity(dim, k) * values[k] for k in range(degree + 2))
    assert_close(total, 1.0, rtol=1e-12, why="Gauss–Jacobi is exact on polynomials")


def test_layer_gradient_shares_sum_to_one_and_validate():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(50, 3))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    shares = N.layer_gradient_shares(N.zonal_harmonic(points, 2), points, 3, 64, steps=2)
    assert shares.shape == (3,) and abs(shares.sum() - 1) < 1e-12 and np.all(shares > 0)
    with pytest.raises(ValueError, match="targets"):
        N.layer_gradient_shares(np.ones(49), points, 3, 64)


def textbook_relu_kernels(points, depth):
    """The per-layer arc-cosine recursion with its diagonals (Cho & Saul; Jacot et al. 2018),
    written without the homogeneity that relu_ntk_gram uses (also make bench's baseline):
    Σ^{m+1} = √(Σ_xx Σ_x'x')·κ₁(c), Σ̇^{m+1} = κ₀(c), c = Σ_xx'/√(Σ_xx Σ_x'x'),
    Θ^{m+1} = Θ^m Σ̇^{m+1} + Σ^{m+1}."""
    sigma = points @ points.T
    theta = sigma.copy()
    for _ in range(depth - 1):
        diagonal = np.sqrt(np.outer(np.diag(sigma), np.diag(sigma)))
        cosine = np.clip(np.divide(sigma, diagonal, out=np.zeros_like(sigma), where=diagonal > 0),
                         -1, 1)
        angle = np.arccos(cosine)
        sigma = diagonal * (np.sin(angle) + (np.pi - angle) * cosine) / np.pi
        theta = theta * (np.pi - angle) / np.pi + sigma
    return sigma, theta


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_relu_ntk_gram_is_the_textbook_recursion_and_the_layer_kernels(depth):
    """Points of different norms and a zero point against the recursion with diagonals; unit
    points against Σ_ℓ Θ_ℓ of the layer kernels (numerics) and of the sympy recursion (theory).
    Blocks of 32 rows: 70 points cross two block boundaries."""
    rng = np.random.default_rng(depth)
    points = rng.normal(size=(70, 6)) * rng.uniform(0.2, 3.0, size=(70, 1))
    points[5] = 0.0
    nngp, ntk = N.relu_ntk_gram(points, depth)
    sigma, theta = textbook_relu_kernels(points, depth)
    assert_close(nngp, sigma, rtol=1e-12, atol=1e-12, why="same recursion, rounding only")
    assert_close(ntk, theta, rtol=1e-12, atol=1e-12, why="same recursion, rounding only")
    assert_close(np.diag(ntk), depth * np.sum(points**2, axis=1), rtol=1e-14, atol=0,
                 why="Θ(x, x) = L‖x‖² with He scaling")
    unit = points[np.arange(70) != 5]
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    off = ~np.eye(len(unit), dtype=bool)  # the diagonal's 1 − 2⁻⁵² is ill-conditioned for arccos
    cosine = (unit @ unit.T)[off]
    _, ntk = N.relu_ntk_gram(unit, depth)
    layers = sum(kernel(cosine) for kernel in N.relu_ntk_layer_kernels(depth))
    symbolic = sum(sp.lambdify(T.rho, e, "numpy")(cosine) for e in T.relu_ntk_layer_kernels(depth))
    assert_close(ntk[off], layers, rtol=1e-12, atol=1e-12, why="sum of the layer kernels")
    assert_close(ntk[off], symbolic, rtol=1e-12, atol=1e-12, why="theory's closed forms")


def test_relu_ntk_gram_refuses_bad_input():
    with pytest.raises(ValueError, match="points"):
        N.relu_ntk_gram(np.array([[np.nan, 1.0]]), 3)
    with pytest.raises(ValueError, match="points"):
        N.relu_ntk_gram(np.ones(3), 3)
    with pytest.raises(ValueError, match="depth"):
        N.relu_ntk_gram(np.ones((3, 2)), 0)

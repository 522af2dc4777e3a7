"""Spectra of activations and of dot-product kernels: what the theory gives in closed form.

Source: Dandi, Jacot, "Understanding layer-wise contributions in deep neural networks through
spectral analysis", arXiv 2111.03972, and the classical facts it builds on:
Hermite expansions of activations, arc-cosine kernels (Cho and Saul 2009), the NTK recursion of a
ReLU network with He scaling, spherical harmonics and the Funk–Hecke formula.

Conventions. h_k = He_k/√(k!) is the orthonormal probabilists' Hermite basis of L²(N(0, 1)); an
activation σ has coefficients a_k = E[σ(Z)h_k(Z)], so σ = Σ a_k h_k and, for a standard Gaussian
pair (u, v) with correlation ρ, E[σ(u)σ(v)] = Σ a_k² ρ^k (Mehler). The NTK uses He scaling: the
per-layer maps are κ₁ = 2·E[σσ] and κ₀ = 2·E[σ'σ'], so that κ₁(1) = κ₀(1) = 1 and Θ^L(1) = L.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import sympy as sp

from rankcheck.validation import positive_int

__all__ = [
    "z", "rho", "t", "alpha", "ACTIVATIONS", "hermite_function", "gaussian_expectation", "relu_hermite",
    "step_hermite", "leaky_relu_hermite", "identity_hermite", "hermite_coefficients",
    "relu_hermite_values", "polynomial_hermite", "relu_dual", "step_dual", "dual_series_gap", "kappa1",
    "kappa0", "relu_nngp_kernels", "relu_ntk_layer_kernels", "harmonic_multiplicity",
    "gegenbauer_normalized", "funk_hecke_eigenvalues", "funk_hecke", "monomial_eigenvalue"
]

z = sp.Symbol("z", real=True)
rho = sp.Symbol("rho", real=True)
t = sp.Symbol("t", real=True)
alpha = sp.Symbol("alpha", real=True)

ACTIVATIONS = ("relu", "leaky_relu", "step", "identity")


def _degree(k: int, name: str = "degree") -> int:
    return positive_int(k, name, minimum=0)


def hermite_function(k: int) -> sp.Expr:
    """h_k(z) = He_k(z)/√(k!): the orthonormal probabilists' Hermite polynomial under N(0, 1).

    Parameters
    ----------
    k : int
        Degree >= 0.

    Returns
    -------
    sympy.Expr
        In the symbol z.
    """
    k = _degree(k)
    return sp.hermite_prob(k, z) / sp.sqrt(sp.factorial(k))


def gaussian_expectation(expr: sp.Expr, lower: sp.Expr = -sp.oo) -> sp.Expr:
    """E[expr(Z)·1{Z > lower}] for Z ~ N(0, 1), by sympy integration.

    Parameters
    ----------
    expr : sympy.Expr
        In the symbol z.
    lower : sympy.Expr, default −∞

    Returns
    -------
    sympy.Expr
    """
    density = sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi)
    return sp.simplify(sp.integrate(expr * density, (z, lower, sp.oo)))


def _double_factorial(n: int) -> sp.Integer:
    return sp.Integer(1) if n <= 0 else sp.factorial2(n)


def relu_hermite(k: int) -> sp.Expr:
    """a_k of ReLU in the orthonormal probabilists' Hermite basis, in closed form.

    a₀ = 1/√(2π), a₁ = 1/2, odd k >= 3: 0, even k >= 2: (−1)^{k/2+1}(k − 3)!!/√(2π·k!). From
    z·He_k = He_{k+1} + k·He_{k−1} and ∫₀^∞ He_m φ = He_{m−1}(0)φ(0) with He_{2m}(0) = (−1)^m (2m − 1)!!.

    Parameters
    ----------
    k : int
        Degree >= 0.

    Returns
    -------
    sympy.Expr
    """
    k = _degree(k)
    if k == 0:
        return 1 / sp.sqrt(2 * sp.pi)
    if k == 1:
        return sp.Rational(1, 2)
    if k % 2:
        return sp.Integer(0)
    return (-1) ** (k // 2 + 1) * _double_factorial(k - 3) / sp.sqrt(2 * sp.pi * sp.factorial(k))


def step_hermite(k: int) -> sp.Expr:
    """a_k of the step 1{z > 0} (ReLU's derivative), in closed form.

    a₀ = 1/2, even k >= 2: 0, odd k: (−1)^{(k−1)/2}(k − 2)!!/√(2π·k!) (∫₀^∞ He_k φ = He_{k−1}(0)φ(0)).

    Parameters
    ----------
    k : int
        Degree >= 0.

    Returns
    -------
    sympy.Expr
    """
    k = _degree(k)
    if k == 0:
        return sp.Rational(1, 2)
    if k % 2 == 0:
        return sp.Integer(0)
    return (-1) ** ((k - 1) // 2) * _double_factorial(k - 2) / sp.sqrt(2 * sp.pi * sp.factorial(k))


def leaky_relu_hermite(k: int, slope: sp.Expr = alpha) -> sp.Expr:
    """a_k of max(z, αz) = αz + (1 − α)·relu(z), 0 <= α <= 1: α·[k = 1] + (1 − α)·relu_k.

    Parameters
    ----------
    k : int
        Degree >= 0.
    slope : sympy.Expr, default the symbol alpha

    Returns
    -------
    sympy.Expr
    """
    return (slope if _degree(k) == 1 else 0) + (1 - slope) * relu_hermite(k)


def identity_hermite(k: int) -> sp.Expr:
    """a_k of the identity: 1 for k = 1, else 0.

    Parameters
    ----------
    k : int
        Degree >= 0.

    Returns
    -------
    sympy.Integer
    """
    return sp.Integer(1 if _degree(k) == 1 else 0)


def hermite_coefficients(activation: str, max_degree: int) -> list[sp.Expr]:
    """Closed-form a_0..a_K of a named activation (leaky ReLU with the symbolic slope α).

    The theory route of ``rankcheck.numerics.spectra.hermite_coefficients``.

    Parameters
    ----------
    activation : str
        One of ``ACTIVATIONS``.
    max_degree : int
        K >= 0.

    Returns
    -------
    list of sympy.Expr, length K + 1

    Raises
    ------
    ValueError
        For another name.
    """
    table = {"relu": relu_hermite, "leaky_relu": leaky_relu_hermite, "step": step_hermite,
             "identity": identity_hermite}
    if activation not in table:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return [table[activation](k) for k in range(_degree(max_degree) + 1)]


@cache
def relu_hermite_values(max_degree: int) -> np.ndarray:
    """The ReLU closed form as floats, a_0..a_K (the prediction of ``spectra.relu_hermite``).

    Parameters
    ----------
    max_degree : int

    Returns
    -------
    ndarray, shape (max_degree + 1,)
    """
    return np.array([float(relu_hermite(k)) for k in range(_degree(max_degree) + 1)])


def polynomial_hermite(polynomial: sp.Expr) -> list[sp.Expr]:
    """Exact a_0..a_n of a polynomial activation p(z) of degree n, by projection E[p·h_k].

    Parameters
    ----------
    polynomial : sympy.Expr
        A polynomial in z.

    Returns
    -------
    list of sympy.Expr, length n + 1
    """
    degree = sp.Poly(polynomial, z).degree()
    return [sp.expand(gaussian_expectation(sp.expand(polynomial * hermite_function(k))))
            for k in range(degree + 1)]


# --- dual activations -------------------------------------------------------------------------

def relu_dual() -> sp.Expr:
    """E[relu(u)relu(v)] = (√(1 − ρ²) + (π − arccos ρ)ρ)/(2π): arc-cosine kernel of degree 1.

    Returns
    -------
    sympy.Expr
    """
    return (sp.sqrt(1 - rho**2) + (sp.pi - sp.acos(rho)) * rho) / (2 * sp.pi)


def step_dual() -> sp.Expr:
    """E[1{u > 0}1{v > 0}] = (π − arccos ρ)/(2π): arc-cosine kernel of degree 0.

    Returns
    -------
    sympy.Expr
    """
    return (sp.pi - sp.acos(rho)) / (2 * sp.pi)


def dual_series_gap(dual: sp.Expr, coefficient, terms: int) -> list[sp.Expr]:
    """Taylor coefficients of ``dual`` at ρ = 0 minus a_n², for n < ``terms``.

    All simplify to 0 when the dual activation is Σ a_n² ρ^n (Mehler's formula).

    Parameters
    ----------
    dual : sympy.Expr
        In the symbol rho (``relu_dual``, ``step_dual``).
    coefficient : callable int -> sympy.Expr
        a_n (``relu_hermite``, ``step_hermite``).
    terms : int

    Returns
    -------
    list of sympy.Expr, length ``terms``
    """
    series = sp.series(dual, rho, 0, terms).removeO()
    return [sp.simplify(series.coeff(rho, n) - coefficient(n) ** 2) for n in range(terms)]


# --- NTK of a ReLU network with He scaling ------------------------------------------------------

def kappa1(x: sp.Expr) -> sp.Expr:
    """κ₁(x) = 2·E[relu relu] at correlation x; κ₁(1) = 1.

    Parameters
    ----------
    x : sympy.Expr

    Returns
    -------
    sympy.Expr
    """
    return 2 * relu_dual().subs(rho, x)


def kappa0(x: sp.Expr) -> sp.Expr:
    """κ₀(x) = 2·E[step step] at correlation x; κ₀(1) = 1.

    Parameters
    ----------
    x : sympy.Expr

    Returns
    -------
    sympy.Expr
    """
    return 2 * step_dual().subs(rho, x)


@cache
def relu_nngp_kernels(depth: int) -> tuple[sp.Expr, ...]:
    """Σ¹..Σ^L: the NNGP (pre-activation covariance) of each layer of a ReLU network with He scaling.

    On the sphere, Σ¹ = ρ and Σ^{ℓ+1} = κ₁(Σ^ℓ) = 2E[relu(u)relu(v)] at correlation Σ^ℓ.

    Parameters
    ----------
    depth : int
        L >= 1.

    Returns
    -------
    tuple of sympy.Expr, length L
        In the symbol rho.
    """
    depth = positive_int(depth, "depth")
    sigma = [rho]
    for _ in range(1, depth):
        sigma.append(kappa1(sigma[-1]))
    return tuple(sigma)


@cache
def relu_ntk_layer_kernels(depth: int) -> tuple[sp.Expr, ...]:
    """Θ_ℓ(ρ) = Σ^ℓ(ρ)·Π_{m=ℓ+1}^{L} Σ̇^m(ρ), ℓ = 1..L: each layer's NTK contribution.

    Σ¹ = ρ, Σ^{ℓ+1} = κ₁(Σ^ℓ), Σ̇^{ℓ+1} = κ₀(Σ^ℓ) (layer 1 reads the input; the output layer L is
    linear, so Θ_L = Σ^L). Their sum is the NTK, with Θ(1) = L.

    Parameters
    ----------
    depth : int
        L >= 1.

    Returns
    -------
    tuple of sympy.Expr, length L
    """
    sigma = relu_nngp_kernels(depth)
    derivative = [None, *(kappa0(s) for s in sigma[:-1])]  # Σ̇^{ℓ+1} = κ₀(Σ^ℓ)
    return tuple(sigma[ell] * sp.Mul(*derivative[ell + 1:]) for ell in range(depth))


# --- spherical harmonics and Funk–Hecke -------------------------------------------------------

def harmonic_multiplicity(dim: int, degree: int) -> int:
    """N(d, k): dimension of the degree-k spherical harmonics on S^{d−1}, exactly.

    N(d, 0) = 1, N(d, k) = (2k + d − 2)/k · C(k + d − 3, d − 2).

    Parameters
    ----------
    dim : int
        d >= 2.
    degree : int
        k >= 0.

    Returns
    -------
    int
    """
    dim, degree = positive_int(dim, "dim", minimum=2), _degree(degree)
    if degree == 0:
        return 1
    return int(sp.Rational(2 * degree + dim - 2, degree) * sp.binomial(degree + dim - 3, dim - 2))


def gegenbauer_normalized(dim: int, degree: int) -> sp.Expr:
    """P_k^{(d)}(t): the Legendre polynomial of S^{d−1}, normalized to P(1) = 1.

    Chebyshev T_k for d = 2, Gegenbauer C_k^{(d−2)/2}/C_k^{(d−2)/2}(1) for d >= 3.

    Parameters
    ----------
    dim : int
        d >= 2.
    degree : int

    Returns
    -------
    sympy.Expr
        In the symbol t.
    """
    dim, degree = positive_int(dim, "dim", minimum=2), _degree(degree)
    if dim == 2:
        return sp.chebyshevt(degree, t)
    poly = sp.gegenbauer(degree, sp.Rational(dim - 2, 2), t)
    return sp.expand(poly / poly.subs(t, 1))


def funk_hecke_eigenvalues(kernel: sp.Expr, dim: int, max_degree: int) -> list[sp.Expr]:
    """Exact μ_0..μ_K of a polynomial kernel (``funk_hecke`` degree by degree).

    Parameters
    ----------
    kernel : sympy.Expr
        A polynomial in t.
    dim : int
    max_degree : int

    Returns
    -------
    list of sympy.Expr, length K + 1
    """
    return [funk_hecke(kernel, dim, k) for k in range(_degree(max_degree) + 1)]


def funk_hecke(kernel: sp.Expr, dim: int, degree: int) -> sp.Expr:
    """μ_k = Γ(d/2)/(√π Γ((d−1)/2)) ∫₋₁¹ κ(t) P_k^{(d)}(t)(1 − t²)^{(d−3)/2} dt, exactly.

    By sympy integration: use for polynomial kernels and small sizes.

    Parameters
    ----------
    kernel : sympy.Expr
        In t.
    dim : int
    degree : int

    Returns
    -------
    sympy.Expr
    """
    dim = positive_int(dim, "dim", minimum=2)
    weight = (1 - t**2) ** sp.Rational(dim - 3, 2)
    constant = sp.gamma(sp.Rational(dim, 2)) / (sp.sqrt(sp.pi) * sp.gamma(sp.Rational(dim - 1, 2)))
    return sp.simplify(constant * sp.integrate(sp.expand(kernel * gegenbauer_normalized(dim, degree))
                                               * weight, (t, -1, 1)))


def monomial_eigenvalue(dim: int, degree: int, power: int) -> sp.Expr:
    """Funk–Hecke eigenvalue of κ(t) = t^j on degree k.

    0 unless j >= k and j − k even, then j!/(j − k)! · Γ(d/2)Γ((j − k + 1)/2) / (2^k √π Γ((j + k + d)/2))
    > 0. So a kernel Σ_j b_j t^j with b_j >= 0 has μ_k = Σ_j b_j·(this), a sum of positive terms.

    Parameters
    ----------
    dim : int
        d >= 2.
    degree : int
        k >= 0.
    power : int
        j >= 0.

    Returns
    -------
    sympy.Expr

    Raises
    ------
    ValueError
        Naming the argument that is out of range.
    """
    dim, degree, power = positive_int(dim, "dim", minimum=2), _degree(degree), _degree(power, "power")
    if power < degree or (power - degree) % 2:
        return sp.Integer(0)
    return (sp.factorial(power) / sp.factorial(power - degree) * sp.gamma(sp.Rational(dim, 2))
            * sp.gamma(sp.Rational(power - degree + 1, 2))
            / (2**degree * sp.sqrt(sp.pi) * sp.gamma(sp.Rational(power + degree + dim, 2))))

"""Representation geodesics of Leaky ResNets: the Lagrangian, its split, the Hamiltonian (sympy).

Source: Jacot, Kaiser, arXiv 2405.17573. A path of representations A_p (w×N, one
column per training point), p ∈ [0, 1], is realized by ∂_pA = −L̃A + W_pσ(A); the least ∫‖W_p‖² for a
given path has the density below (weights W_p = (Ȧ + L̃A)σ(A)⁺, K = σ(A)ᵀσ(A), ‖M‖²_K = Tr[M K⁺ Mᵀ]),
with the loss's normalization 1/(2L̃):

    ℒ(A, Ȧ) = (1/(2L̃))·‖Ȧ + L̃A‖²_K = (1/(2L̃))‖Ȧ‖²_K + ⟨Ȧ, A⟩_K + (L̃/2)·COI(A),

COI(A) = ‖Aσ(A)⁺‖²_F = Tr[AᵀA K⁺] (the Cost of Identity). The cross term has coefficient 1 (expanding
the square; the source prints L̃, which looks like a typo). With momentum P = ∂ℒ/∂Ȧ = (Ȧ + L̃A)K⁺/L̃ the
Legendre transform gives H = (L̃/2)·Tr[P K Pᵀ] − L̃·Tr[P Aᵀ], conserved along geodesics.

Derivations are done on symbolic matrices with K invertible (w >= N and σ(A) of full column rank),
for σ the identity or a generic elementwise function; the scalar reduction (w = N = 1, a > 0, ReLU)
has closed-form geodesics a(p) = a₀^{1−p}a₁^p.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import sympy as sp

from rankcheck.theory._symbolic import symbol_matrix
from rankcheck.validation import positive_int

__all__ = [
    "leak", "p", "symbols", "lagrangian", "split", "cross_term_is_total_derivative", "hamiltonian",
    "euler_lagrange_residual", "scalar_geodesic", "coi_identity_rank", "euler_lagrange_fn",
    "hamilton_field_fn", "lagrangian_fn", "transit_share_exponent"
]

leak = sp.Symbol("Ltilde", positive=True)
p = sp.Symbol("p", real=True)


def _activate(A: sp.Matrix, activation: str) -> sp.Matrix:
    if activation == "identity":
        return A
    if activation == "generic":
        sigma = sp.Function("sigma")
        return A.applyfunc(sigma)
    raise ValueError(f"activation must be 'identity' or 'generic', got {activation!r}")


def symbols(width: int = 2, points: int = 2) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    """Symbolic A, Ȧ and a momentum P, each of shape (width, points).

    Parameters
    ----------
    width : int, default 2
        w, rows of A.
    points : int, default 2
        N, columns of A.

    Returns
    -------
    (A, A_dot, P) : tuple of sympy.Matrix
    """
    width, points = positive_int(width, "width"), positive_int(points, "points")
    return tuple(symbol_matrix(name, width, points) for name in ("A", "Adot", "P"))


def _norm_K(M: sp.Matrix, K_inv: sp.Matrix) -> sp.Expr:
    return (M * K_inv * M.T).trace()


def _along_path(A: sp.Matrix) -> dict[sp.Symbol, sp.Expr]:
    """Each entry A_ij replaced by a function a_ij(p) of depth."""
    return {A[i, j]: sp.Function(f"a_{i}{j}")(p) for i in range(A.rows) for j in range(A.cols)}


def lagrangian(width: int = 2, points: int = 2, activation: str = "identity") -> sp.Expr:
    """ℒ(A, Ȧ) = (1/(2L̃))·Tr[(Ȧ + L̃A) K⁻¹ (Ȧ + L̃A)ᵀ], K = σ(A)ᵀσ(A) (symbolic, K assumed invertible).

    The Lagrangian of Leaky ResNets' representation paths (Jacot et al., arXiv 2405.17573).

    Parameters
    ----------
    width : int, default 2
        w, rows of A.
    points : int, default 2
        N, columns of A.
    activation : {"identity", "relu"}, default "identity"
        ReLU is symbolic through a fixed sign pattern.

    Returns
    -------
    sympy.Expr
    """
    A, Adot, _ = symbols(width, points)
    S = _activate(A, activation)
    K_inv = (S.T * S).inv()
    return _norm_K(Adot + leak * A, K_inv) / (2 * leak)


def split(width: int = 2, points: int = 2, activation: str = "identity") -> dict[str, sp.Expr]:
    """The kinetic (1/(2L̃))‖Ȧ‖²_K, cross ⟨Ȧ, A⟩_K and potential (L̃/2)·COI(A) parts of ℒ.

    Parameters
    ----------
    width : int, default 2
        w, rows of A.
    points : int, default 2
        N, columns of A.
    activation : {"identity", "relu"}, default "identity"
        ReLU is symbolic through a fixed sign pattern.

    Returns
    -------
    dict of str to sympy.Expr
        ``kinetic``, ``cross``, ``potential`` and ``remainder`` = ℒ − their sum, which simplifies
        to 0.
    """
    A, Adot, _ = symbols(width, points)
    S = _activate(A, activation)
    K_inv = (S.T * S).inv()
    parts = {"kinetic": _norm_K(Adot, K_inv) / (2 * leak), "cross": (Adot * K_inv * A.T).trace(),
             "potential": leak / 2 * _norm_K(A, K_inv)}
    total = lagrangian(width, points, activation)
    parts["remainder"] = sp.simplify(sp.expand(total - sum(parts.values())))
    return parts


def cross_term_is_total_derivative(width: int = 2, points: int = 2) -> sp.Expr:
    """⟨Ȧ, A⟩_K − ½ d/dp log det(AᵀA) for σ = identity (and ReLU on A >= 0): simplifies to 0.

    So the cross term integrates to ½[log det K]₀¹, a function of the two ends only: it changes the
    action of every path by the same amount and not the geodesics.

    Parameters
    ----------
    width : int, default 2
        w, rows of A.
    points : int, default 2
        N, columns of A.

    Returns
    -------
    sympy.Expr
    """
    A, Adot, _ = symbols(width, points)
    entries = _along_path(A)
    path = A.subs(entries)
    total = sp.diff(sp.log((path.T * path).det()), p) / 2
    rates = {sp.Derivative(entries[a], p): v for a, v in zip(A, Adot, strict=True)}
    total = total.subs(rates).subs({v: k for k, v in entries.items()})
    cross = (Adot * (A.T * A).inv() * A.T).trace()
    return sp.simplify(sp.together(cross - total))


def hamiltonian(width: int = 2, points: int = 2, activation: str = "identity") -> tuple[sp.Expr, sp.Expr]:
    """The Hamiltonian from the Legendre transform, and its difference from the closed form.

    P = ∂ℒ/∂Ȧ is solved for Ȧ by sympy (linear in Ȧ), then H = ⟨P, Ȧ⟩ − ℒ; the closed form is
    (L̃/2)Tr[P K Pᵀ] − L̃Tr[P Aᵀ].

    Parameters
    ----------
    width : int, default 2
        w, rows of A.
    points : int, default 2
        N, columns of A.
    activation : {"identity", "relu"}, default "identity"
        ReLU is symbolic through a fixed sign pattern.

    Returns
    -------
    (H, difference) : tuple of sympy.Expr
        The difference simplifies to 0.
    """
    A, Adot, P = symbols(width, points)
    S = _activate(A, activation)
    K = S.T * S
    density = lagrangian(width, points, activation)
    momentum = sp.Matrix(width, points, lambda i, j: sp.diff(density, Adot[i, j]))
    solution = sp.solve(list(momentum - P), list(Adot), dict=True)[0]
    H = sp.simplify(((P.T * Adot).trace() - density).subs(solution))
    closed = leak / 2 * (P * K * P.T).trace() - leak * (P * A.T).trace()
    return H, sp.simplify(H - closed)


def euler_lagrange_residual(width: int = 1, points: int = 1, activation: str = "identity"
                            ) -> sp.Matrix:
    """The Euler–Lagrange expressions d/dp ∂ℒ/∂Ȧ − ∂ℒ/∂A along a path A(p), entrywise.

    Symbolic in the path's entries and their first two derivatives.

    Parameters
    ----------
    width : int, default 1
    points : int, default 1
    activation : {"identity", "relu"}, default "identity"
        ReLU is symbolic through a fixed sign pattern.

    Returns
    -------
    sympy.Matrix, shape (width, points)
    """
    A, Adot, _ = symbols(width, points)
    density = lagrangian(width, points, activation)
    entries = _along_path(A)
    along = {**entries, **{v: sp.diff(entries[a], p) for a, v in zip(A, Adot, strict=True)}}
    out = sp.zeros(width, points)
    for i in range(width):
        for j in range(points):
            momentum = sp.diff(density, Adot[i, j]).subs(along)
            out[i, j] = sp.diff(momentum, p) - sp.diff(density, A[i, j]).subs(along)
    return out.applyfunc(sp.simplify)


def scalar_geodesic() -> dict[str, sp.Expr]:
    """The scalar reduction (w = N = 1, a > 0 so ReLU acts as the identity): ℒ = (ȧ + L̃a)²/(2L̃a²).

    The closed-form geodesic is a(p) = a₀^{1−p}a₁^p (u = log a is linear: ℒ = (u̇ + L̃)²/(2L̃)
    depends on u̇ only).

    Returns
    -------
    dict of str to sympy.Expr
        ``lagrangian``, ``geodesic``, ``residual`` (its Euler–Lagrange residual, 0),
        ``hamiltonian`` along p, ((log(a₁/a₀))² − L̃²)/(2L̃) — constant — and ``action``.
    """
    a0, a1 = sp.symbols("a0 a1", positive=True)
    a = sp.Function("a")(p)
    density = (sp.diff(a, p) + leak * a) ** 2 / (2 * leak * a**2)
    velocity = sp.Symbol("v")
    along = density.subs(sp.diff(a, p), velocity)
    residual = sp.diff(sp.diff(along, velocity).subs(velocity, sp.diff(a, p)), p) - \
        sp.diff(along, a).subs(velocity, sp.diff(a, p))
    geodesic = a0 ** (1 - p) * a1**p
    momentum = sp.diff(along, velocity)
    H = (momentum * velocity - along).subs(velocity, sp.diff(a, p))
    on_path = {a: geodesic}
    return {
        "lagrangian": density,
        "geodesic": geodesic,
        "residual": sp.simplify(residual.subs(on_path).doit()),
        "hamiltonian": sp.simplify(H.subs(on_path).doit()),
        "action": sp.simplify(sp.integrate(density.subs(on_path).doit(), (p, 0, 1))),
    }


def coi_identity_rank(width: int = 2, points: int = 2) -> sp.Expr:
    """COI(A) = Tr[AᵀA (AᵀA)⁻¹] for σ = identity and A of full column rank: simplifies to N = rank A.

    The same holds for ReLU on A >= 0, where σ(A) = A.

    Parameters
    ----------
    width : int, default 2
        w, rows of A.
    points : int, default 2
        N, columns of A.

    Returns
    -------
    sympy.Expr
    """
    A, _, _ = symbols(width, points)
    return sp.simplify((A.T * A * (A.T * A).inv()).trace())


def _masked_lagrangian(width: int, points: int) -> tuple[sp.Expr, sp.Matrix, sp.Matrix, sp.Matrix]:
    """ℒ for ReLU inside one region of fixed signs: σ(A) = M ⊙ A with a constant 0/1 mask M (the
    ReLU derivative there). Returns (ℒ, A, Ȧ, M)."""
    A, Adot, _ = symbols(width, points)
    mask = symbol_matrix("m", width, points)
    S = A.multiply_elementwise(mask)
    density = _norm_K(Adot + leak * A, (S.T * S).inv()) / (2 * leak)
    return density, A, Adot, mask


@cache
def euler_lagrange_fn(width: int, points: int):
    """The Euler–Lagrange expressions of ReLU's ℒ inside a region of fixed signs, lambdified.

    E = Σ_kl (∂²ℒ/∂Ȧ∂Ȧ_kl · Ä_kl + ∂²ℒ/∂Ȧ∂A_kl · Ȧ_kl) − ∂ℒ/∂A (the total p-derivative of the
    momentum written out) and the size of the force ∂ℒ/∂A. A path solves the Euler–Lagrange equations
    where E = 0.

    Parameters
    ----------
    width, points : int

    Returns
    -------
    callable (A, Ȧ, Ä, mask, L̃) -> (E, ∂ℒ/∂A)
        Arrays of shape (width, points); common subexpressions shared.
    """
    width, points = positive_int(width, "width"), positive_int(points, "points")
    density, A, Adot, mask = _masked_lagrangian(width, points)
    accel = symbol_matrix("W", width, points)
    force = sp.Matrix(width, points, lambda i, j: sp.diff(density, A[i, j]))
    residual = sp.zeros(width, points)
    for i in range(width):
        for j in range(points):
            momentum = sp.diff(density, Adot[i, j])
            total = sum(sp.diff(momentum, Adot[k, m]) * accel[k, m] + sp.diff(momentum, A[k, m]) * Adot[k, m]
                        for k in range(width) for m in range(points))
            residual[i, j] = total - force[i, j]
    function = sp.lambdify([list(A), list(Adot), list(accel), list(mask), leak],
                           [list(residual), list(force)], "numpy", cse=True)

    def evaluate(A_value, velocity, acceleration, mask_value, leak_value):
        arrays = (np.ravel(x) for x in (A_value, velocity, acceleration, mask_value))
        residual_value, force_value = function(*arrays, leak_value)
        return np.reshape(residual_value, (width, points)), np.reshape(force_value, (width, points))

    return evaluate


@cache
def hamilton_field_fn(width: int, points: int):
    """Hamilton's equations from the closed-form H with ReLU inside a region of fixed signs, lambdified.

    σ(A) = M ⊙ A; Ȧ = ∂H/∂P, Ṗ = −∂H/∂A, derived by sympy. The paper's matrix form
    (``rankcheck.numerics.leaky.hamilton_field``) is tested against it.

    Parameters
    ----------
    width, points : int

    Returns
    -------
    callable (A, P, mask, L̃) -> (Ȧ, Ṗ)
    """
    width, points = positive_int(width, "width"), positive_int(points, "points")
    A, _, P = symbols(width, points)
    mask = symbol_matrix("m", width, points)
    S = A.multiply_elementwise(mask)
    H = leak / 2 * (P * S.T * S * P.T).trace() - leak * (P * A.T).trace()
    velocity = sp.Matrix(width, points, lambda i, j: sp.diff(H, P[i, j]))
    costate = sp.Matrix(width, points, lambda i, j: -sp.diff(H, A[i, j]))
    function = sp.lambdify([list(A), list(P), list(mask), leak], [list(velocity), list(costate)], "numpy")

    def evaluate(A_value, P_value, mask_value, leak_value):
        out = function(*(np.ravel(x) for x in (A_value, P_value, mask_value)), leak_value)
        return tuple(np.reshape(o, (width, points)) for o in out)

    return evaluate


@cache
def lagrangian_fn(width: int, points: int):
    """ℒ(A, Ȧ) for ReLU inside a region of fixed signs (σ(A) = M ⊙ A), lambdified.

    The density whose integral is the action of a path.

    Parameters
    ----------
    width, points : int

    Returns
    -------
    callable (A, Ȧ, mask, L̃) -> float
    """
    density, A, Adot, mask = _masked_lagrangian(positive_int(width, "width"), positive_int(points, "points"))
    function = sp.lambdify([list(A), list(Adot), list(mask), leak], density, "numpy", cse=True)
    return lambda A_value, velocity, mask_value, leak_value: float(
        function(*(np.ravel(x) for x in (A_value, velocity, mask_value)), leak_value))


def transit_share_exponent(width: int = 2, points: int = 2) -> sp.Integer:
    """Exponent e in "the share of the depth spent moving between regions ∝ L̃^e".

    From the form of Hamilton's equations: H = (L̃/2)·Tr[P K Pᵀ] − L̃·Tr[P Aᵀ] is L̃ times an L̃-free
    function, so the field (Ȧ, Ṗ) is homogeneous of some degree d in L̃ (derived: d = 1) and the flow
    at effective depth L̃ over depth p is the flow at L̃ = 1 over time L̃·p. A jump that takes time τ at
    L̃ = 1 takes depth τ/L̃: e = −d. (Heuristic where the jump's trajectory in (A, P) does not itself
    change with L̃; the end conditions do depend on it. Derived with σ = identity: a fixed ReLU mask,
    σ(A) = M ⊙ A, does not involve L̃.)

    Parameters
    ----------
    width : int, default 2
        w, rows of A.
    points : int, default 2
        N, columns of A.

    Returns
    -------
    sympy.Integer

    Raises
    ------
    ArithmeticError
        When the field is not homogeneous in L̃ (a derivation error).
    """
    A, _, P = symbols(positive_int(width, "width"), positive_int(points, "points"))
    H = leak / 2 * (P * A.T * A * P.T).trace() - leak * (P * A.T).trace()
    field = [sp.diff(H, x) for x in P] + [-sp.diff(H, x) for x in A]
    degrees = {sp.Poly(f, leak).degree() for f in field if f != 0}
    (degree,) = degrees
    if any(sp.expand(f - leak**degree * f.subs(leak, 1)) != 0 for f in field):
        raise ArithmeticError("Hamilton's field is not homogeneous in L̃")
    return sp.Integer(-degree)

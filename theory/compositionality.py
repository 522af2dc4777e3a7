"""Compositionality and the F1 norm: the exact facts about shallow ReLU networks.

Source: Jacot, Choi, Wen, "How DNNs break the curse of dimensionality: compositionality and
symmetry learning", ICLR 2025, arXiv 2407.05664.

A shallow network f(x) = Σ_i a_i σ(w_iᵀx + b_i) with σ = ReLU is unchanged when neuron i is
rescaled, (a_i, w_i, b_i) → (a_i/c_i, c_i w_i, c_i b_i), c_i > 0 (σ is positively homogeneous). Its
parameter cost ‖θ‖² = Σ_i a_i² + ‖(w_i, b_i)‖² is not: per neuron, min_c a²/c² + c²r² = 2|a|r
(AM–GM), at c² = |a|/r. So the least cost over rescalings is twice the path cost Σ_i |a_i|·‖(w_i, b_i)‖
of the representation — which is why the F1 norm (the infimum of the path cost over all
representations of f) is half the least ‖θ‖² of a network computing f.
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "neuron_cost", "optimal_rescaling", "least_neuron_cost", "least_cost", "composition_exponent",
    "part_exponents", "shallow_exponent", "kink", "exponent_fn"
]

a, r, c = sp.symbols("a r c", positive=True)


def neuron_cost() -> sp.Expr:
    """The cost of one neuron after rescaling by c: a²/c² + c²r² (r = ‖(w, b)‖, a = |outgoing|).

    Returns
    -------
    sympy.Expr
    """
    return a**2 / c**2 + c**2 * r**2


def optimal_rescaling() -> sp.Expr:
    """The minimizing c: the positive root of d/dc (a²/c² + c²r²) = 0, c = √(a/r).

    Returns
    -------
    sympy.Expr
    """
    (root,) = sp.solve(sp.diff(neuron_cost(), c), c)
    return root


def least_neuron_cost() -> sp.Expr:
    """min_c a²/c² + c²r² = 2ar, with the second derivative 8r² > 0 at the minimizer.

    Returns
    -------
    sympy.Expr
    """
    return sp.simplify(neuron_cost().subs(c, optimal_rescaling()))


def least_cost(path_cost):
    """Least ‖θ‖² over per-neuron rescalings of a network with the given path cost: 2·path cost.

    Parameters
    ----------
    path_cost : float or array_like or sympy.Expr

    Returns
    -------
    The same type as ``path_cost``
        2·path_cost: ``least_neuron_cost`` = 2ar summed over the neurons.
    """
    return 2 * path_cost


# --------------------------------------------------------------------------- predicted rates
nu_g, nu_h, d_in, d_mid = sp.symbols("nu_g nu_h d_in d_mid", positive=True)


def composition_exponent() -> sp.Expr:
    """The predicted decay exponent α of the test error ~ N^{−α} of the L2-regularized deep network
    (an accordion network at its global minimum) on f* = h∘g, g ∈ W^{ν_g}(ℝ^{d_in} → ℝ^{d_mid}),
    h ∈ W^{ν_h}(ℝ^{d_mid}): α = min(½, ν_g/d_in, ν_h/d_mid), the reading used here of arXiv
    2407.05664 (the F1 generalization bound, of order N^{−½}, balanced against the approximation of
    each Sobolev part by F1 functions). It is an upper bound on the error, so a lower bound on the
    measured exponent. A smooth g (a symmetry quotient such as x ↦ ‖x‖) is ν_g = ∞.

    Returns
    -------
    sympy.Expr
    """
    return sp.Min(sp.Rational(1, 2), nu_g / d_in, nu_h / d_mid)


def part_exponents() -> tuple[sp.Expr, sp.Expr]:
    """The terms of ``composition_exponent`` that each part contributes, (ν_g/d_in, ν_h/d_mid): the
    exponent a part would allow alone, uncapped. The part with the smaller term is the harder one;
    the phase boundary is where they are equal.

    Returns
    -------
    (sympy.Expr, sympy.Expr)
        g's term, h's term: the arguments of the Min other than ½.
    """
    terms = composition_exponent().args  # ½ and the two parts' terms
    (g_term,) = [t for t in terms if t.has(nu_g)]
    (h_term,) = [t for t in terms if t.has(nu_h)]
    return g_term, h_term


def shallow_exponent() -> sp.Expr:
    """The same rate for a learner that sees f* only as a function on ℝ^{d_in} (a shallow network, a
    kernel method): α = min(½, ν_f/d_in), with ν_f = min(ν_g, ν_h) the smoothness of h∘g (exact for
    a smooth g, the case checked here).

    Returns
    -------
    sympy.Expr
    """
    return sp.Min(sp.Rational(1, 2), sp.Min(nu_g, nu_h) / d_in)


def kink() -> sp.Expr:
    """The ν_h at which the limiting term of ``composition_exponent`` switches from h (below) to
    min(½, ν_g/d_in) (above): ν_h* = d_mid·min(½, ν_g/d_in).

    Returns
    -------
    sympy.Expr
    """
    plateau = sp.Symbol("plateau", positive=True)  # min(½, ν_g/d_in); sympy does not solve through Min
    (root,) = sp.solve(sp.Eq(nu_h / d_mid, plateau), nu_h)
    return root.subs(plateau, sp.Min(sp.Rational(1, 2), nu_g / d_in))


def exponent_fn(expression: sp.Expr):
    """A numpy function of a rate expression (``composition_exponent``, ``shallow_exponent``, ``kink``).

    Parameters
    ----------
    expression : sympy.Expr
        In the symbols nu_g, d_in, nu_h, d_mid.

    Returns
    -------
    callable (nu_g, d_in, nu_h, d_mid) -> float
        ``np.inf`` is allowed for ν_g (a smooth g).
    """
    return sp.lambdify((nu_g, d_in, nu_h, d_mid), expression, modules="numpy")

"""theory.not_norms and numerics.not_norms against closed forms, numpy and each other."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from rankcheck.numerics import not_norms as N
from rankcheck.testing import assert_close
from rankcheck.theory import not_norms as T


def test_every_completion_has_determinant_minus_one():
    assert sp.simplify(T.completion().det()) == -1


def test_singular_values_are_roots_of_the_characteristic_polynomial():
    polynomial, lam = T.characteristic_polynomial()
    s1, s2 = T.singular_values_in_v()
    assert sp.simplify((polynomial.subs(lam, s1)).rewrite(sp.exp)) == 0
    assert sp.simplify((polynomial.subs(lam, -s2)).rewrite(sp.exp)) == 0


def test_norms_increase_and_effective_rank_decreases_along_the_completions():
    assert sp.simplify(T.schatten_log_derivative() - sp.tanh(T.p * T.v)) == 0
    assert sp.tanh(T.p * T.v).is_positive
    gap = T.effective_rank_log_derivative() + T.v / sp.cosh(T.v) ** 2
    assert sp.simplify(gap.rewrite(sp.exp)) == 0


@given(st.floats(-50.0, 50.0))
def test_completion_singular_values_match_numpy(x):
    expected = np.linalg.svd(np.array([[x, 1.0], [1.0, 0.0]]), compute_uv=False)
    assert_close(T.completion_singular_values(x)[0], expected, rtol=1e-12,
                 why="LAPACK svd of a 2×2 vs e^{±asinh(|x|/2)}")


@given(st.floats(0.01, 0.9), st.floats(-1.0, 1.0), st.floats(-1.0, 1.0), st.floats(-1.0, 1.0))
def test_residual_bound_holds_for_matrices_with_positive_determinant(r, eb, ec, ed):
    """Any [[x, b], [c, d]] with |b − 1|, |c − 1|, |d| <= r and det > 0 has |x| > (1 − r)²/r."""
    b, c, d = 1 + r * eb, 1 + r * ec, r * ed
    if d == 0:
        return
    x = b * c / d * 1.001  # just past det = 0 on the side det > 0
    assert x * d - b * c > 0
    assert abs(x) > float(T.residual_lower_bound(sp.Float(r))) * (1 - 1e-12)


def test_norm_and_rank_measures():
    assert_close(N.schatten_norm([[3.0, 4.0]], 2.0), [5.0], rtol=1e-15, why="exact")
    assert_close(N.schatten_norm([[1.0, 1.0]], 0.5), [4.0], rtol=1e-15, why="(1 + 1)^2")
    assert_close(N.effective_rank([[2.0, 2.0, 2.0], [1.0, 0.0, 0.0]]), [3.0, 1.0], rtol=1e-14,
                 why="uniform spectrum: exp(log 3); rank one: exp(0)")


def test_balanced_start_is_balanced_with_positive_determinant():
    weights = N.balanced_start(4, 0.2, seed=5)
    for lower, upper in zip(weights[:-1], weights[1:], strict=True):
        assert_close(upper.T @ upper, lower @ lower.T, rtol=0, atol=1e-15, why="rotations")
    assert_close(np.linalg.det(np.linalg.multi_dot(weights[::-1])), 0.2**8, rtol=1e-12,
                 why="product of rotations scaled by 0.2 per layer")


def test_training_keeps_det_positive_and_follows_the_flow():
    """Depth 3 from scale 0.3: the free entry grows past 2 by t = 30 with det > 0 throughout."""
    gd = N.train_completion(3, 0.3, 3000, 0.01, record_every=300)
    flow = N.completion_flow(3, 0.3, gd.times)
    assert np.all(gd.determinant > 0) and np.all(flow.determinant > 0)
    assert abs(gd.free_entry[-1]) > 2
    assert_close(gd.free_entry, flow.free_entry, rtol=2e-2, atol=1e-3,
                 why="GD lr 0.01 vs DOP853; lag ≈ lr·r/2 relative with r ≈ 3")
    assert np.all(np.diff(gd.schatten(1.0)[3:]) > 0)


@pytest.mark.parametrize("kwargs, message", [
    ({"depth": 1, "init": 0.1}, "depth"),
    ({"depth": 3, "init": -0.1}, "init"),
    ({"depth": 3, "init": [np.eye(2), np.eye(2)]}, "list of 3"),
    ({"depth": 3, "init": 0.1, "lr": 0.0}, "lr"),
])
def test_bad_input(kwargs, message):
    arguments = {"steps": 10, "lr": 0.01, **kwargs}
    with pytest.raises(ValueError, match=message):
        N.train_completion(**arguments)

"""theory.linear_dynamics and numerics.linear_dynamics against closed forms and each other."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import quad

from numerics import NotConvergedError
from numerics import linear_dynamics as N
from tests.helpers import assert_close
from theory import linear_dynamics as T


def test_mode_velocity_is_the_balanced_flow():
    expected = T.L * T.a ** (2 - 2 / T.L) * (T.y - T.a)
    assert sp.simplify(T.mode_velocity() - expected) == 0


@pytest.mark.parametrize("depth", [2, 3, 4, 6])
def test_escape_time_antiderivative_matches_quadrature(depth):
    """Second route: adaptive quadrature of ∫ db/(L b^{2−2/L}(1 − b)) where it converges."""
    for ratio in (1e-3, 0.05, 0.3):
        reference = quad(lambda b: 1 / (depth * b ** (2 - 2 / depth) * (1 - b)), ratio, 0.5,
                         epsabs=0, epsrel=1e-12, limit=200)[0]
        assert_close(T.escape_time(ratio, 1.0, depth), [reference], rtol=1e-10,
                     why="quad at epsrel 1e-12 on a smooth integrand")


def test_logistic_escape_time_depth_two():
    s0, y = np.array([1e-9, 1e-3, 0.2]), np.array([1.0, 2.5, 0.7])
    assert_close(T.escape_time(s0, y, 2), np.log((y - s0) / s0) / (2 * y), rtol=1e-12,
                 why="closed forms of the same integral")


@pytest.mark.parametrize("depth", [3, 4, 5])
def test_escape_time_approaches_the_leading_order(depth):
    """Relative gap to s₀^{−(L−2)/L}/((L−2)y) shrinks like s₀^{(L−2)/L} as s₀ → 0."""
    gaps = [abs(T.escape_time(s0, 1.3, depth)[0] / T.escape_time_leading(s0, 1.3, depth)[0] - 1)
            for s0 in (1e-6, 1e-12)]
    assert gaps[1] < gaps[0] * 1e-6 ** ((depth - 2) / depth) * 10
    assert gaps[1] < 1e-2


def test_mode_flow_is_logistic_for_depth_two():
    s0, y = 1e-4, 1.7
    times = np.linspace(0, 8, 9)
    expected = y / (1 + (y - s0) / s0 * np.exp(-2 * y * times))
    assert_close(N.balanced_mode_flow(s0, y, 2, times), expected, rtol=1e-9,
                 why="DOP853 at rtol 1e-11")


@given(st.integers(2, 5), st.floats(-12.0, -0.5), st.floats(0.2, 4.0))
def test_ode_crossing_time_matches_the_closed_form(depth, log_ratio, target):
    s0 = 10.0**log_ratio * target
    assert_close(N.mode_crossing_time(s0, target, depth), T.escape_time(s0, target, depth)[0],
                 rtol=1e-8, why="DOP853 at rtol 1e-11 in log a")


def test_aligned_gd_learns_modes_one_at_a_time_at_the_predicted_times():
    targets = np.array([1.5, 1.0, 0.6])
    run = N.train_saddle_to_saddle(targets, 3, 0.4, lr=0.002, max_time=50)
    assert np.all(np.diff(run.crossing_times) > 0)  # decreasing y, increasing time
    assert_close(run.crossing_times, T.escape_time(0.4**3, targets, 3), rtol=5e-3,
                 why="GD step 0.002 shifts times by ≈ η·r/2 ≤ 4e-3 relative")
    middle = np.searchsorted(run.times, (run.crossing_times[0] + run.crossing_times[1]) / 2)
    assert np.sum(run.singular_values[middle] > targets / 2) == 1  # the rank-1 plateau


def test_parameter_flow_from_aligned_start_follows_every_mode_ode():
    """Two routes: the flow of all weights vs the scalar ODE of each singular value."""
    targets, depth, eps = np.array([2.0, 1.2, 0.8]), 3, 0.2
    times = np.linspace(0, 12, 13)
    flow = N.parameter_flow([eps * np.eye(3)] * depth, np.diag(targets), times)
    singular = np.array([np.linalg.svd(p, compute_uv=False) for p in flow.products])
    modes = np.array([N.balanced_mode_flow(eps**depth, y, depth, times) for y in targets]).T
    assert_close(singular, modes, rtol=1e-6, why="both integrators at rtol ≤ 1e-9; observed 1.6e-8")
    assert_close(flow.losses, 0.5 * np.sum((modes - targets) ** 2, axis=1), rtol=1e-6, atol=1e-12,
                 why="same trajectories")


def test_crossing_not_reached_is_not_converged():
    with pytest.raises(NotConvergedError, match="not reached"):
        N.mode_crossing_time(1e-9, 1.0, 4, t_max=10.0)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: T.escape_time(0.0, 1.0, 3), "s0"),
        (lambda: T.escape_time(0.6, 1.0, 3), "s0"),
        (lambda: T.escape_time(0.1, 1.0, 1), "depth"),
        (lambda: N.mode_crossing_time(-1.0, 1.0, 3), "s0"),
        (lambda: N.mode_crossing_time(2.0, 1.0, 3), "s0"),
        (lambda: N.mode_crossing_time(0.1, 1.0, 3, level=1.5), "level"),
        (lambda: N.balanced_mode_flow(0.1, 1.0, 3, [2.0, 1.0]), "t_eval"),
        (lambda: N.train_saddle_to_saddle([1.0], 2, 0.0, lr=0.1, max_time=1), "init_scale"),
        (lambda: N.train_saddle_to_saddle([1.0], 2, 0.1, lr=0.0, max_time=1), "lr"),
        (lambda: N.parameter_flow([np.eye(2), np.eye(3)], np.eye(2), [0, 1]), "columns"),
        (lambda: N.parameter_flow([np.eye(2)], np.eye(3), [0, 1]), "target"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()

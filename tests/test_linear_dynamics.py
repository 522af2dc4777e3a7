"""theory.linear_dynamics and numerics.linear_dynamics against closed forms and each other."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given
from hypothesis import strategies as st
from scipy.integrate import quad

from rankcheck.errors import NotConvergedError
from rankcheck.numerics import linear_dynamics as N
from rankcheck.testing import assert_close
from rankcheck.theory import linear_dynamics as T


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


# --- mixed dynamics (arXiv 2405.17580) -------------------------------------------------------------


def test_mixed_formula_limits():
    """c → ∞: −2c·g (the kernel regime); c = 0: the balanced depth-2 mode velocity."""
    assert sp.simplify(T.lazy_limit() - (-2 * (T.a - T.y))) == 0
    assert sp.simplify(T.balanced_limit() - T.mode_velocity().subs(T.L, 2)) == 0


def test_scalar_imbalance_identity_is_exact():
    assert T.scalar_imbalance_gap() == 0


@given(st.floats(-2.0, 2.0), st.floats(-2.0, 2.0), st.floats(-3.0, 3.0))
def test_scalar_flow_is_the_formula_with_half_the_imbalance(w1, w2, target):
    """Second route, numeric: the d = w = 1 parameter ODE against mixed_flow with c = |δ|/2."""
    if abs(w1 * w2) < 1e-3 and abs(w1**2 - w2**2) < 1e-3:
        return  # the origin is a fixed point of both; nothing moves
    times = np.linspace(0.0, 2.0, 9)
    flow = N.parameter_flow([[[w1]], [[w2]]], [[target]], times)
    formula = N.mixed_flow([[w1 * w2]], [[target]], abs(w1**2 - w2**2) / 2, times)
    assert_close(formula.ravel(), flow.products.ravel(), rtol=0, atol=1e-6,
                 why="two DOP853 integrations at rtol 1e-9 of the same scalar flow")


def test_mixed_kernel_eigenvalues():
    rng = np.random.default_rng(3)
    q = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    gram = q @ np.diag([4.0, 1.0, 0.0]) @ q.T
    kernel = T.mixed_kernel(gram, 0.5)
    assert_close(np.linalg.eigvalsh(kernel), np.sqrt(np.array([0.0, 1.0, 4.0]) + 0.25), rtol=1e-12,
                 why="eigh of a symmetric 3×3, closed form √(s² + c²)")
    assert T.active_modes([4.0, 1.0, 0.25], 0.5) == 2
    assert T.active_modes([4.0, 1.0, 0.25], 5.0) == 0


def test_mixed_flow_on_a_diagonal_mode_matches_the_time_integral():
    """Diagonal A0 and A*: each entry obeys da/dt = 2√(a² + c²)(y − a); the time to go from a₀ to
    a₁ is ∫ da / (2√(a² + c²)(y − a)), computed by quad."""
    c, y, a0 = 0.3, 2.0, 0.01
    a1 = 1.5
    time = quad(lambda v: 1 / (2 * np.sqrt(v**2 + c**2) * (y - v)), a0, a1, epsrel=1e-12)[0]
    path = N.mixed_flow(np.diag([a0, a0]), np.diag([y, 0.5]), c, [0.0, time])
    assert_close(path[-1, 0, 0], a1, rtol=1e-7, why="DOP853 at rtol 1e-9 vs quad at 1e-12")
    assert abs(path[-1, 0, 1]) < 1e-12, "off-diagonal entries must stay 0"


def test_exponential_midpoint_is_second_order_and_agrees_with_dop853():
    """On the diagonal mode (time from quad) the error falls 4× per halved step (order 2); on a
    random non-square problem, fine exponential steps agree with DOP853, through the SVD route
    (default kernel) and through eigh of an explicitly passed kernel alike."""
    c, y, a0, a1 = 0.3, 2.0, 0.01, 1.5
    time = quad(lambda v: 1 / (2 * np.sqrt(v**2 + c**2) * (y - v)), a0, a1, epsrel=1e-12)[0]
    errors = [abs(N.mixed_flow(np.diag([a0, a0]), np.diag([y, 0.5]), c, [0.0, time],
                               method="exponential", max_step=time / steps)[-1, 0, 0] - a1)
              for steps in (40, 80, 160)]
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 3.5) & (ratios < 4.5)), ratios
    rng = np.random.default_rng(3)
    start, goal = 0.1 * rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    times = [0.0, 0.2, 1.0]
    reference = N.mixed_flow(start, goal, 0.7, times, rtol=1e-12, atol=1e-14)
    fine = N.mixed_flow(start, goal, 0.7, times, method="exponential", max_step=1e-3)
    assert_close(fine, reference, rtol=0, atol=1e-5, why="O(h²), h = 1e-3: 3.1e-6 measured")
    explicit = N.mixed_flow(start, goal, 0.7, times, method="exponential", max_step=1e-3,
                            kernel=lambda gram, c: N.psd_sqrt(gram + c**2 * np.eye(len(gram))))
    assert_close(explicit, fine, rtol=0, atol=1e-11, why="same steps, eigh instead of the SVD")
    with pytest.raises(ValueError, match="method"):
        N.mixed_flow(start, goal, 0.7, times, method="euler")
    with pytest.raises(ValueError, match="max_step"):
        N.mixed_flow(start, goal, 0.7, times, method="exponential", max_step=0.0)


def test_gradient_descent_follows_the_flow_and_leaves_inputs_alone():
    rng = np.random.default_rng(0)
    first, second = rng.normal(size=(6, 2)) * 0.3, rng.normal(size=(2, 6)) * 0.3
    kept = first.copy()
    times = np.linspace(0.0, 3.0, 7)
    flow = N.parameter_flow([first, second], np.diag([1.5, 0.5]), times)
    gd = N.gradient_descent([first, second], np.diag([1.5, 0.5]), 1e-4, times)
    assert np.array_equal(first, kept)
    assert_close(gd.products, flow.products, rtol=0, atol=1e-3,
                 why="GD with lr·rate ≈ 4e-4 lags the flow by ≈ 2e-4 of the elapsed time")


@pytest.mark.parametrize("mask, message", [
    (np.zeros((2, 2)), "empty mask"),
    (np.ones((3, 2)), "shape"),
    (np.full((2, 2), 0.5), "only 0 and 1"),
])
def test_masks_are_validated(mask, message):
    with pytest.raises(ValueError, match=message):
        N.parameter_flow([np.eye(2), np.eye(2)], np.eye(2), [0.0, 1.0], mask=mask)


def test_mixed_flow_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        N.mixed_flow(np.zeros((2, 3)), np.zeros((3, 2)), 1.0, [0.0, 1.0])
    with pytest.raises(ValueError, match="sigma2_w"):
        N.mixed_flow(np.zeros((2, 2)), np.eye(2), -1.0, [0.0, 1.0])


# --- one-way jumps of SGD (arXiv 2305.16038) -------------------------------------------------------


def _projection(rng, size, rank):
    basis = np.linalg.qr(rng.normal(size=(size, rank)))[0]
    return basis @ basis.T


@given(st.integers(3, 6), st.integers(1, 2), st.integers(0, 10**6), st.floats(0.0, 0.5),
       st.floats(0.0, 0.05))
@example(3, 2, 19747, 0.0, 0.0)  # diverged (non-finite SVD) before the start was scaled down
def test_sgd_keeps_weights_in_a_chain_of_rank_r_subspaces(width, rank, seed, noise, lam):
    """The invariant behind arXiv 2305.16038's absorbing sets: if W₁ maps into V₁, W₂ maps V₁ into
    V₂ and kills V₁^⊥, and W₃ kills V₂^⊥, every SGD step with weight decay keeps this,
    so rank W₃W₂W₁ stays <= r."""
    rng = np.random.default_rng(seed)
    first, second = _projection(rng, width, rank), _projection(rng, width, rank)
    scale = 0.5 / np.sqrt(width)  # products of size O(1): SGD at lr 0.01 is stable
    start = [first @ rng.normal(size=(width, 4)) * scale,
             second @ rng.normal(size=(width, width)) @ first * scale,
             rng.normal(size=(4, width)) @ second * scale]
    target = rng.normal(size=(4, 4)) / 2
    runs = N.sgd_runs(target, start, lam, 0.01, 25, batch=2, label_noise=noise, runs=3, seed=seed,
                      record_every=5)
    w1, w2, w3 = runs.weights
    identity = np.eye(width)
    for leak in ((identity - first) @ w1, w2 @ (identity - first), (identity - second) @ w2,
                 w3 @ (identity - second)):
        assert np.max(np.abs(leak)) < 1e-10, "a step left the chain of subspaces"
    assert np.max(runs.singular_values[..., rank:]) < 1e-9


def test_unconfined_weights_do_gain_rank():
    """The property test above can fail: without the chain the same SGD raises the rank."""
    rng = np.random.default_rng(1)
    start = [0.1 * rng.normal(size=(4, 4)) for _ in range(3)]
    start[0][:, 1:] = 0.0  # rank 1 product, but nothing confines the other layers
    runs = N.sgd_runs(np.eye(4), start, 0.0, 0.1, 2000, batch=4, runs=1, record_every=2000)
    assert runs.singular_values[0, 0, 1] < 1e-12 < 1e-3 < runs.singular_values[0, -1, 1]


def test_rank_transitions_counts_pairs():
    counts = N.rank_transitions([[3, 3, 2, 2], [2, 3, 3, 3]], 3)
    assert counts[3, 3] == 3 and counts[3, 2] == 1 and counts[2, 2] == 1 and counts[2, 3] == 1
    assert counts.sum() == 6
    with pytest.raises(ValueError, match="ranks"):
        N.rank_transitions([[0, 4]], 3)


@pytest.mark.parametrize("target", [1.0, 0.5, 0.1, 0.097])
def test_local_minima_against_a_scalar_minimizer(target):
    """Second route: bounded Brent search on f(s) = ½(s − y)² + 3λs^{2/3} above the barrier."""
    from scipy.optimize import minimize_scalar

    from rankcheck.theory import dln

    lam = 0.01
    barrier, minimum = dln.regularized_stationary_points(target, 3, lam)
    found = minimize_scalar(lambda s: 0.5 * (s - target) ** 2 + 3 * lam * s ** (2 / 3),
                            bounds=(barrier, target), method="bounded",
                            options={"xatol": 1e-12}).x
    assert_close(minimum, found, rtol=1e-6, why="Brent to xatol 1e-12 on a flat-bottomed minimum")
    assert_close(dln.regularized_local_minima([target], 3, lam), [minimum], rtol=1e-15,
                 why="same roots")


def test_no_local_minimum_below_the_local_threshold():
    from rankcheck.theory import dln

    assert dln.regularized_local_minima([0.09], 3, 0.01)[0] == 0.0  # y_c = 0.0933


def test_absorbing_radius():
    assert_close(T.absorbing_radius(0.01, 2.0, 3), 1e-6, rtol=1e-12, why="(0.02/2)^3")
    assert_close(T.absorbing_radius(0.01, 0.5, 4), 0.04**2, rtol=1e-12, why="(0.02/0.5)^2")
    with pytest.raises(ValueError, match="depth"):
        T.absorbing_radius(0.01, 1.0, 2)

"""theory.compositionality and numerics.compositionality: AM–GM rebalancing by two routes."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from rankcheck.numerics import compositionality as N
from rankcheck.testing import assert_close
from rankcheck.theory import compositionality as T


def test_amgm_minimum_is_twice_the_path_cost():
    assert T.least_neuron_cost() == 2 * T.a * T.r
    second = sp.diff(T.neuron_cost(), T.c, 2).subs(T.c, T.optimal_rescaling())
    assert sp.simplify(second - 8 * T.r**2) == 0


def test_one_neuron_by_hand():
    a, W, b = np.array([-3.0]), np.array([[3.0, 0.0]]), np.array([4.0])  # ‖(w, b)‖ = 5
    assert N.path_cost(a, W, b) == 15.0
    a2, W2, b2 = N.rebalance(a, W, b)
    assert_close(np.abs(a2), [np.sqrt(15)], rtol=1e-15, why="|a| = ‖(w, b)‖ = √15")
    assert_close(N.parameter_cost(a2, W2, b2), 30.0, rtol=1e-15, why="2·15")
    assert_close(N.least_rescaled_cost(a, W, b), 30.0, rtol=1e-10, why="L-BFGS to gtol 1e-13")
    assert T.least_cost(N.path_cost(a, W, b)) == 30.0  # the prediction: twice the path cost
    assert T.least_cost(T.a * T.r) == T.least_neuron_cost()  # summed over one neuron: AM–GM's 2ar


@given(st.integers(1, 12), st.integers(1, 5), st.integers(0, 1000))
def test_rebalancing_keeps_the_function(width, dim, seed):
    rng = np.random.default_rng(seed)
    a, W, b = rng.normal(size=width), rng.normal(size=(width, dim)), rng.normal(size=width)
    x = rng.normal(size=(10, dim))
    assert_close(N.shallow_relu(*N.rebalance(a, W, b), x), N.shallow_relu(a, W, b, x), rtol=1e-12,
                 atol=1e-12, why="positive homogeneity; round-off")


def test_dead_neurons_are_zeroed():
    a, W, b = np.array([0.0, 2.0]), np.array([[1.0], [0.0]]), np.array([1.0, 0.0])
    a2, W2, b2 = N.rebalance(a, W, b)
    assert np.all(a2 == 0) and np.all(W2 == 0) and np.all(b2 == 0)


def test_mismatched_networks_are_rejected():
    with pytest.raises(ValueError, match="same neurons"):
        N.path_cost(np.ones(2), np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match="columns"):
        N.shallow_relu(np.ones(2), np.ones((2, 2)), np.ones(2), np.ones((4, 3)))


# --------------------------------------------------------------------------- predicted rates
def test_composition_exponent_by_hand():
    alpha = T.exponent_fn(T.composition_exponent())
    # (ν_g, d_in, ν_h, d_mid) ↦ min(½, ν_g/d_in, ν_h/d_mid), each branch limiting once
    assert alpha(np.inf, 4, 0.25, 1) == 0.25
    assert alpha(np.inf, 4, 2.0, 1) == 0.5
    assert alpha(1.0, 4, 2.0, 1) == 0.25
    assert alpha(8.0, 4, 3.0, 2) == 0.5
    shallow = T.exponent_fn(T.shallow_exponent())
    assert shallow(np.inf, 4, 0.5, 1) == 0.125  # a smooth g: ν_f = ν_h, seen on ℝ^4
    assert shallow(1.0, 4, 3.0, 1) == 0.25
    assert shallow(8.0, 4, 9.0, 1) == 0.5  # capped at ½: a smooth enough f on ℝ^4


def test_part_exponents_are_the_min_s_terms():
    g_term, h_term = T.part_exponents()
    assert g_term == T.nu_g / T.d_in and h_term == T.nu_h / T.d_mid
    assert T.composition_exponent() == sp.Min(sp.Rational(1, 2), g_term, h_term)


@given(st.floats(0.1, 20), st.integers(1, 16), st.integers(1, 8))
def test_kink_is_where_the_limiting_term_switches(nu_g, d_in, d_mid):
    kink = float(T.kink().subs({T.nu_g: nu_g, T.d_in: d_in, T.d_mid: d_mid}))
    alpha = T.exponent_fn(T.composition_exponent())
    plateau = min(0.5, nu_g / d_in)
    assert_close(alpha(nu_g, d_in, kink, d_mid), plateau, rtol=1e-12, why="continuous at the kink")
    assert alpha(nu_g, d_in, 0.9 * kink, d_mid) < plateau  # h limits below
    assert_close(alpha(nu_g, d_in, 1.1 * kink, d_mid), plateau, rtol=1e-12, why="flat above")


# --------------------------------------------------------------------------- targets
def test_matern_against_scikit_learn():
    from sklearn.gaussian_process.kernels import Matern

    r = np.linspace(0.0, 6.0, 61)
    why = "our Bessel recurrences against scikit-learn's closed forms and its kv: round-off only"
    for nu in (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 0.7):
        reference = Matern(length_scale=1.0, nu=nu)(np.zeros((1, 1)), r[:, None])[0]
        assert_close(N.matern_kernel(r, nu), reference, rtol=1e-12, atol=1e-15, why=why)
    s3 = np.sqrt(3) * r
    assert_close(N.matern_kernel(r, 1.5), (1 + s3) * np.exp(-s3), rtol=1e-12, why="by hand")
    assert_close(N.matern_kernel(r, 0.5, lengthscale=2.0), np.exp(-r / 2), rtol=1e-12, why="by hand")
    assert N.matern_kernel(np.array([800.0]), 3.0)[0] == 0.0  # K_ν underflows: 0, not NaN
    with pytest.raises(ValueError, match="nu"):
        N.matern_kernel(r, 0.0)
    with pytest.raises(ValueError, match="distances"):
        N.matern_kernel(-r, 0.5)


def test_gaussian_process_covariance_by_monte_carlo():
    points = np.array([[0.0, 0.0], [0.3, 0.3], [1.0, 1.0]])  # RMS distances 0.3 and 1.0 from the first
    samples = N.gaussian_process_sample(points, 1.5, np.random.default_rng(0), outputs=20000)
    expected = N.matern_kernel(np.abs(points[:, :1] - points[:, 0]), 1.5) + 1e-6 * np.eye(3)
    # entries of a sample covariance of 20000 draws with |cov| <= 1: standard error <= √2/√20000 = 0.01
    assert_close(samples @ samples.T / 20000, expected, rtol=0.0, atol=0.04, why="4 standard errors")
    with pytest.raises(ValueError, match="jitter"):
        N.gaussian_process_sample(np.zeros((3, 1)), 2.5, np.random.default_rng(0), jitter=1e-300)


def test_composition_task_is_the_same_draw_at_every_pool_size():
    small = N.composition_task(4, 2, 3, 1.5, 0.5, 40, validation=10, test=20, seed=3)
    large = N.composition_task(4, 2, 3, 1.5, 0.5, 200, validation=10, test=20, seed=3)
    rows = small.inputs.shape[0]
    assert np.array_equal(small.inputs, large.inputs[:rows])
    why = "the leading block of a Cholesky factor is the factor of the leading block: round-off only"
    assert_close(small.hidden, large.hidden[:rows], rtol=0.0, atol=1e-10, why=why)
    assert_close(small.outputs, large.outputs[:rows], rtol=0.0, atol=1e-10, why=why)
    for which in ("test", "validation"):
        assert np.array_equal(small.block(which)[0], large.block(which)[0])
    assert np.array_equal(small.train(40)[0], large.train(40)[0])  # nested training sets
    assert large.train(200)[1].shape == (200, 3) and large.hidden.shape == (230, 2)
    other = N.composition_task(4, 2, 3, 1.5, 2.5, 40, validation=10, test=20, seed=3)
    assert np.array_equal(other.hidden, small.hidden)  # ν_h changes h only: g's draw is shared
    assert not np.allclose(other.outputs, small.outputs)
    with pytest.raises(ValueError, match="n must be"):
        small.train(41)
    with pytest.raises(ValueError, match="nu_g"):
        N.composition_task(4, 2, 3, 0.0, 0.5, 10)


def test_composition_task_outputs_are_h_of_the_hidden_layer():
    # Y = h(Z): the same Z (same seed and ν_g) with the same h-stream gives the sample at Z directly
    task = N.composition_task(3, 2, 4, 2.5, 1.5, 60, validation=5, test=5, seed=1)
    streams = np.random.SeedSequence(1).spawn(3)
    direct = N.gaussian_process_sample(task.hidden, 1.5, np.random.default_rng(streams[2]), outputs=4)
    assert_close(task.outputs, direct, rtol=0.0, atol=1e-12, why="the same factorization: round-off")
    assert 0.3 < np.var(task.outputs) < 3.0  # unit-variance process samples


# --------------------------------------------------------------------------- learners
def test_kernel_ridge_matches_scikit_learn():
    from sklearn.kernel_ridge import KernelRidge

    rng = np.random.default_rng(1)
    X, Y, new = rng.normal(size=(30, 3)), rng.normal(size=(30, 2)), rng.normal(size=(7, 3))
    gram = lambda A, B: np.exp(-np.linalg.norm(A[:, None] - B[None], axis=-1))  # noqa: E731
    reference = KernelRidge(alpha=1e-2 * 30, kernel="precomputed").fit(gram(X, X), Y)
    assert_close(N.laplace_kernel_ridge(X, Y, 1e-2)(new), reference.predict(gram(new, X)), rtol=1e-9,
                 atol=1e-12, why="the same linear system solved by Cholesky vs scikit-learn's solver")
    interpolant = N.laplace_kernel_ridge(X, Y, 1e-12)
    assert_close(interpolant(X), Y, rtol=0.0, atol=1e-8, why="λ → 0 interpolates (K is positive definite)")
    with pytest.raises(ValueError, match="lam"):
        N.laplace_kernel_ridge(X, Y, 0.0)


def test_architectures_and_staged_training():
    from rankcheck.numerics import networks

    accordion = networks.accordion([4, 8, 8, 1], 16, seed=0)
    kinds = [type(m).__name__ for m in accordion]
    # shallow parts: Linear, ReLU, Linear — the narrow layers (ℝ^8) are linear
    assert kinds == ["Linear", "ReLU", "Linear"] * 3
    assert [m.out_features for m in accordion if hasattr(m, "out_features")] == [16, 8, 16, 8, 16, 1]
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(64, 2))
    Y = np.column_stack([np.abs(X[:, 0]), X[:, 1]])  # |x| = relu(x) + relu(−x); a linear output
    stages = ((1e-2, 0.0), (3e-3, 1e-5))
    predict = N.train_network("deep", X, Y, width=16, epochs=100, stages=stages, batches=2, seed=0)
    assert predict(X).shape == (64, 2)
    assert N.mean_squared_error(predict, X, Y) < 0.01 * np.var(Y)
    again = N.train_network("deep", X, Y, width=16, epochs=100, stages=stages, batches=2, seed=0)
    assert np.array_equal(predict(X), again(X))  # seeded initialization and minibatches
    with pytest.raises(ValueError, match="architecture"):
        N.train_network("wide", X, Y)
    net = networks.mlp([2, 4, 2], seed=0)
    with pytest.raises(ValueError, match="batches"):
        networks.fit_stages(net, X, Y, [(1, 1e-3, 0.0)], batches=65)
    with pytest.raises(ValueError, match=r"stages\[i\]\[1\]"):
        networks.fit_stages(net, X, Y, [(1, 0.0, 0.0)])
    with pytest.raises(ValueError, match="stages"):
        networks.fit_stages(net, X, Y, [])


def test_staged_training_weight_decay_is_half_a_squared_norm():
    # one full-batch step of Adam(weight_decay=w) from θ: the first step moves every coordinate by
    # lr·sign(g + w·θ) (Adam's first step is the sign), so at Y = f(X) (zero data gradient) it is
    # −lr·sign(θ): the decay pulls every weight towards 0 by exactly lr
    import torch

    from rankcheck.numerics import networks

    net = networks.mlp([2, 3, 1], seed=1)
    X = np.random.default_rng(0).normal(size=(5, 2))
    with torch.no_grad():
        Y = net(torch.as_tensor(X)).numpy()
    before = [p.detach().clone() for p in net.parameters()]
    networks.fit_stages(net, X, Y, [(1, 1e-3, 0.5)], batches=1)
    for old, new in zip(before, net.parameters(), strict=True):
        assert_close((new - old).detach().numpy(), -1e-3 * np.sign(old.numpy()), rtol=1e-6, atol=1e-12,
                     why="Adam's first step is lr·g/(|g| + ε), ε = 1e-8 against |g| ~ 0.5·|θ|")


# --------------------------------------------------------------------------- scaling fit
def test_scaling_fit_recovers_an_exact_power_law():
    n = np.tile([100.0, 200.0, 400.0, 800.0], 3)
    groups = np.repeat([0, 1, 2], 4)
    errors = np.array([1.0, 3.0, 0.2])[groups] * n**-0.7
    fit = N.scaling_fit(n, errors, groups)
    assert_close(fit.alpha, 0.7, rtol=1e-12, why="an exact law: round-off only")
    assert fit.dof == 12 - 4 and fit.stderr < 1e-12


def test_scaling_fit_single_group_is_the_log_log_slope():
    rng = np.random.default_rng(2)
    n = np.array([64.0, 128.0, 256.0, 512.0, 1024.0])
    errors = 2.0 * n**-0.4 * np.exp(0.1 * rng.normal(size=5))
    slope, _ = np.polyfit(np.log(n), np.log(errors), 1)
    fit = N.scaling_fit(n, errors, np.zeros(5))
    assert_close(fit.alpha, -slope, rtol=1e-10, why="the same least squares, two codes")
    assert fit.band[0] < fit.alpha < fit.band[1]


def test_scaling_band_covers_at_its_level():
    # 400 noisy laws of exponent 0.5: the 90 % band must contain 0.5 about 90 % of the time;
    # binomial(400, 0.9) has standard deviation 6, so 330–390 is ±5 standard deviations.
    rng = np.random.default_rng(3)
    n = np.tile([100.0, 200.0, 400.0, 800.0], 2)
    groups = np.repeat([0, 1], 4)
    hits = sum(fit.band[0] <= 0.5 <= fit.band[1] for fit in (
        N.scaling_fit(n, n**-0.5 * np.exp(0.2 * rng.normal(size=8)), groups) for _ in range(400)))
    assert 330 <= hits <= 390


def test_scaling_fit_rejects_bad_input():
    with pytest.raises(ValueError, match="more points than parameters"):
        N.scaling_fit([1.0, 2.0], [1.0, 0.5], [0, 0])
    with pytest.raises(ValueError, match="> 0"):
        N.scaling_fit([1.0, 2.0, 4.0], [1.0, 0.0, 0.5], [0, 0, 0])


def test_exponent_difference_band():
    a = N.ScalingFit(alpha=0.6, stderr=0.03, dof=10, band=(0.0, 0.0))
    b = N.ScalingFit(alpha=0.2, stderr=0.04, dof=6, band=(0.0, 0.0))
    gap, lo, hi = N.exponent_difference(a, b)
    half = 1.943 * 0.05  # t_{0.95, 6} = 1.943 (printed t table) · √(0.03² + 0.04²)
    assert_close([gap, lo, hi], [0.4, 0.4 - half, 0.4 + half], rtol=0.0, atol=3e-5,
                 why="the table gives t to 3 decimals: 0.0005·0.05 = 2.5e-5")


# --------------------------------------------------------------------------- the claims' logic
def _synthetic_case(exponents):
    """A stand-in for the sweep's training case: exact power laws with the given exponents per
    (learner, ν_g, ν_h), times a per-draw constant, starting below the ``REGIME`` threshold."""

    def case(params: dict) -> dict:
        alpha = exponents(params["learner"], params["nu_g"], params["nu_h"])
        scale = 0.2 * (1.0 + (params["seed"] % 7) / 10)  # draws differ in difficulty, not in rate
        return {"variance": 1.0, "test": scale * (params["n"] / 64) ** -alpha}

    return case


def _verdict(claim_id: str, monkeypatch, exponents):
    import rankcheck.proofs_checks as proofs_checks
    from rankcheck.proofs_checks import compositionality as checks

    monkeypatch.setattr(checks, "scaling_case", _synthetic_case(exponents))
    (verdict,) = proofs_checks.run([claim_id], profile="quick", seed=0)
    return verdict.status, verdict.control


def _predicted(nu_g, nu_h):
    return min(0.5, nu_g / 6, nu_h / 3)  # d_in = 6, d_mid = 3, by hand


def test_composition_rate_decides_from_the_fits(monkeypatch):
    rate = "compositionality.composition_rate"
    faster = lambda learner, g, h: _predicted(g, h) + 0.1 if learner == "deep" else 0.05  # noqa: E731
    # 0.27 >= 1/6 (bound) on both pairs, > both baselines where h is harder; the control's ½ is refuted
    assert _verdict(rate, monkeypatch, faster) == ("pass", "caught")
    slower = lambda learner, g, h: 0.05  # noqa: E731
    assert _verdict(rate, monkeypatch, slower)[0] == "fail"
    # an exact law has zero residual: the band of deep − shallow is {0}, unresolved
    tied = lambda learner, g, h: 0.05 if learner == "kernel" else _predicted(g, h) + 0.1  # noqa: E731
    assert _verdict(rate, monkeypatch, tied)[0] == "inconclusive"


def test_phase_transition_decides_from_the_steps(monkeypatch):
    tracking = lambda learner, g, h: 2 * _predicted(g, h)  # noqa: E731  (twice the bound's rate: still tracks)
    assert _verdict("compositionality.phase_transition", monkeypatch, tracking) == ("pass", "caught")
    additive = lambda learner, g, h: 0.1 * (g + h)  # noqa: E731  (no min: every step moves)
    assert _verdict("compositionality.phase_transition", monkeypatch, additive)[0] == "fail"


def test_plateau_makes_the_scaling_claims_inconclusive(monkeypatch):
    import rankcheck.proofs_checks as proofs_checks
    from rankcheck.proofs_checks import compositionality as checks

    def plateau(params: dict) -> dict:
        return {"variance": 1.0, "test": 0.9}  # nothing learned

    monkeypatch.setattr(checks, "scaling_case", plateau)
    for claim_id in ("compositionality.composition_rate", "compositionality.phase_transition"):
        (verdict,) = proofs_checks.run([claim_id], profile="quick", seed=0)
        assert (verdict.status, verdict.control) == ("inconclusive", "missed")
        assert "power-law part" in verdict.details["reason"]

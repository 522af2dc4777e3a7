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


@given(st.floats(0.1, 20), st.integers(1, 16), st.integers(1, 8))
def test_kink_is_where_the_limiting_term_switches(nu_g, d_in, d_mid):
    kink = float(T.kink().subs({T.nu_g: nu_g, T.d_in: d_in, T.d_mid: d_mid}))
    alpha = T.exponent_fn(T.composition_exponent())
    plateau = min(0.5, nu_g / d_in)
    assert_close(alpha(nu_g, d_in, kink, d_mid), plateau, rtol=1e-12, why="continuous at the kink")
    assert alpha(nu_g, d_in, 0.9 * kink, d_mid) < plateau  # h limits below
    assert_close(alpha(nu_g, d_in, 1.1 * kink, d_mid), plateau, rtol=1e-12, why="flat above")


# --------------------------------------------------------------------------- targets
def test_matern_closed_forms():
    r = np.linspace(0.0, 3.0, 31)
    s3, s5 = np.sqrt(3) * r, np.sqrt(5) * r
    why = "scipy's Bessel K_ν against the half-integer closed forms: round-off only"
    assert_close(N.matern_kernel(r, 0.5), np.exp(-r), rtol=1e-12, why=why)
    assert_close(N.matern_kernel(r, 1.5), (1 + s3) * np.exp(-s3), rtol=1e-12, why=why)
    assert_close(N.matern_kernel(r, 2.5), (1 + s5 + s5**2 / 3) * np.exp(-s5), rtol=1e-12, why=why)
    assert_close(N.matern_kernel(r, 0.5, lengthscale=2.0), np.exp(-r / 2), rtol=1e-12, why=why)
    with pytest.raises(ValueError, match="nu"):
        N.matern_kernel(r, 0.0)
    with pytest.raises(ValueError, match="distances"):
        N.matern_kernel(-r, 0.5)


def test_gaussian_process_covariance_by_monte_carlo():
    points = np.array([[0.0], [0.3], [1.0]])
    rng = np.random.default_rng(0)
    samples = np.array([N.gaussian_process_sample(points, 1.5, rng) for _ in range(20000)])
    expected = N.matern_kernel(np.abs(points - points.T), 1.5)
    # entries of a sample covariance of 20000 draws with |cov| <= 1: standard error <= √2/√20000 = 0.01
    assert_close(samples.T @ samples / len(samples), expected, rtol=0.0, atol=0.04, why="4 standard errors")


def test_block_norms_by_hand():
    X = np.array([[3.0, 4.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0]])
    assert_close(N.block_norms(X, 2), [[5.0, 1.0], [1.0, 0.0]], rtol=1e-15, why="exact")
    assert_close(N.block_norms(X, 1), [[np.sqrt(26)], [1.0]], rtol=1e-15, why="exact")
    with pytest.raises(ValueError, match="blocks must divide"):
        N.block_norms(X, 3)


def test_composition_task_is_a_function_of_the_norm_and_nested():
    task = N.composition_task(4, 1, 0.5, 100, validation=20, test=30, seed=3)
    again = N.composition_task(4, 1, 0.5, 100, validation=20, test=30, seed=3)
    assert np.array_equal(task.outputs, again.outputs)
    norms = np.linalg.norm(task.inputs, axis=1)
    assert_close(task.hidden[:, 0], (norms - norms.mean()) / norms.std(), rtol=1e-12, atol=1e-12,
                 why="g(x) = ‖x‖, standardized")
    X, y = task.train(40)
    assert X.shape == (40, 4) and np.array_equal(y, task.outputs[:40])
    assert task.block("test")[0].shape == (30, 4) and task.block("validation")[1].shape == (20,)
    with pytest.raises(ValueError, match="n must be in"):
        task.train(101)
    rough = N.composition_task(2, 2, 1.0, 50, nu_g=0.5, validation=5, test=5, seed=0)
    assert rough.hidden.shape == (60, 2)
    assert_close(rough.hidden.std(axis=0), [1.0, 1.0], rtol=1e-12, why="standardized")
    with pytest.raises(ValueError, match="blocks must divide"):
        N.composition_task(4, 3, 0.5, 10)


# --------------------------------------------------------------------------- learners
def test_kernel_ridge_matches_scikit_learn():
    from sklearn.kernel_ridge import KernelRidge

    rng = np.random.default_rng(1)
    X, y, new = rng.normal(size=(30, 3)), rng.normal(size=30), rng.normal(size=(7, 3))
    gram = lambda A, B: np.exp(-np.linalg.norm(A[:, None] - B[None], axis=-1))  # noqa: E731
    reference = KernelRidge(alpha=1e-2 * 30, kernel="precomputed").fit(gram(X, X), y)
    assert_close(N.laplace_kernel_ridge(X, y, 1e-2)(new), reference.predict(gram(new, X)), rtol=1e-9,
                 atol=1e-12, why="the same linear system solved by Cholesky vs scikit-learn's solver")
    interpolant = N.laplace_kernel_ridge(X, y, 1e-12)
    assert_close(interpolant(X), y, rtol=0.0, atol=1e-8, why="λ → 0 interpolates (K is positive definite)")


def test_architectures_and_training():
    from rankcheck.numerics import networks

    accordion = networks.accordion([4, 8, 8, 1], 16, seed=0)
    kinds = [type(m).__name__ for m in accordion]
    # shallow parts: Linear, ReLU, Linear — the narrow layers (ℝ^8) are linear
    assert kinds == ["Linear", "ReLU", "Linear"] * 3
    assert [m.out_features for m in accordion if hasattr(m, "out_features")] == [16, 8, 16, 8, 16, 1]
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(64, 2))
    y = np.abs(X[:, 0])  # one ReLU pair: |x| = relu(x) + relu(−x)
    predict = N.train_network("deep", X, y, 1e-5, width=16, steps=400, lr=1e-2, seed=0)
    assert N.mean_squared_error(predict, X, y) < 0.01 * np.var(y)
    again = N.train_network("deep", X, y, 1e-5, width=16, steps=400, lr=1e-2, seed=0)
    assert np.array_equal(predict(X), again(X))  # seeded initialization, deterministic steps
    with pytest.raises(ValueError, match="architecture"):
        N.train_network("wide", X, y, 1e-3)


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
    (learner, ν_h), times a per-draw constant, starting below the ``REGIME`` threshold."""

    def case(params: dict) -> dict:
        alpha = exponents(params["learner"], params["nu_h"])
        scale = 0.4 * (1.0 + (params["seed"] % 7) / 10)  # draws differ in difficulty, not in rate
        return {"lam": 1e-3, "validation": 0.0, "variance": 1.0,
                "test": scale * (params["n"] / 64) ** -alpha}

    return case


def _verdict(claim_id: str, monkeypatch, exponents):
    import rankcheck.proofs_checks as proofs_checks
    from rankcheck.proofs_checks import compositionality as checks

    monkeypatch.setattr(checks, "scaling_case", _synthetic_case(exponents))
    (verdict,) = proofs_checks.run([claim_id], profile="quick", seed=0)
    return verdict.status, verdict.control


def test_composition_rate_decides_from_the_fits(monkeypatch):
    faster = {"deep": 0.6, "accordion": 0.6, "shallow": 0.15, "kernel": 0.2}
    rate = "compositionality.composition_rate"
    assert _verdict(rate, monkeypatch, lambda learner, nu: faster[learner]) == (
        "pass", "caught")  # 0.6 >= ½ (bound), > both baselines; the doubled exponent 1 is refuted
    slower = {"deep": 0.3, "accordion": 0.3, "shallow": 0.15, "kernel": 0.2}
    assert _verdict(rate, monkeypatch, lambda learner, nu: slower[learner])[0] == "fail"
    tied = {"deep": 0.6, "accordion": 0.6, "shallow": 0.6, "kernel": 0.2}
    # an exact law has zero residual: the band of deep − shallow is {0}, unresolved
    status, _ = _verdict("compositionality.composition_rate", monkeypatch, lambda learner, nu: tied[learner])
    assert status == "inconclusive"


def test_phase_transition_decides_from_the_shape(monkeypatch):
    def kinked(learner, nu):
        return min(0.5, nu) + 0.1 if learner == "deep" else 0.1

    assert _verdict("compositionality.phase_transition", monkeypatch, kinked) == ("pass", "caught")

    def growing(learner, nu):
        return 0.2 * nu + 0.4 if learner == "deep" else 0.1  # keeps rising past ν_h = ½ (quick: 2 → 4)

    assert _verdict("compositionality.phase_transition", monkeypatch, growing)[0] == "fail"


def test_plateau_makes_the_scaling_claims_inconclusive(monkeypatch):
    import rankcheck.proofs_checks as proofs_checks
    from rankcheck.proofs_checks import compositionality as checks

    def plateau(params: dict) -> dict:
        return {"lam": 1e-3, "validation": 0.0, "variance": 1.0, "test": 0.9}  # nothing learned

    monkeypatch.setattr(checks, "scaling_case", plateau)
    (verdict,) = proofs_checks.run(["compositionality.composition_rate"], profile="quick", seed=0)
    assert (verdict.status, verdict.control) == ("inconclusive", "missed")
    assert "power-law part" in verdict.details["reason"]


def test_fourier_series_spectrum_by_fft():
    # on one period the FFT of h recovers every amplitude c_k (two cosines ±k share |c|/2 each)
    rng = np.random.default_rng(5)
    K, period, nu, knee = 20, 10.0, 0.75, 1.0
    z = np.arange(128)[:, None] * period / 128
    h = N.random_fourier_series(z, nu, rng, period=period, knee=knee, terms=2 * K + 1)
    omega = 2 * np.pi * np.arange(1, K + 1) / period
    c = (1 + omega**2 / knee**2) ** (-(nu + 0.5) / 2)
    c *= np.sqrt(2 / np.sum(c**2))  # Σ c_k²/2 = 1
    spectrum = 2 * np.abs(np.fft.rfft(h)) / 128  # c_k cos(ω_k z + φ_k) ↦ |coefficient| c_k/2 at k
    assert_close(spectrum[1:K + 1], c, rtol=1e-10, why="exact period grid: round-off only")
    assert np.all(spectrum[K + 1:] < 1e-12)
    assert_close(np.mean(h**2), 1.0, rtol=1e-12, why="Parseval on an exact period grid: round-off")
    assert abs(np.mean(h)) < 1e-12  # no constant term


def test_fourier_series_draws_share_their_spectrum():
    z = np.arange(256)[:, None] * 10.0 / 256
    powers = [np.mean(N.random_fourier_series(z, 0.5, np.random.default_rng(s), terms=201) ** 2)
              for s in range(5)]
    assert_close(powers, np.ones(5), rtol=1e-12, why="fixed amplitudes: every draw has mean square 1")

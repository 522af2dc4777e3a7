"""theory.cbn and numerics.cbn against sympy identities, direct loops and closed forms."""

import numpy as np
import pytest
import sympy as sp
import torch

from rankcheck.numerics import cbn as N
from rankcheck.testing import assert_close
from rankcheck.theory import cbn as T


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_dft_diagonalizes_circulants_and_parseval_holds_exactly(n):
    product, diagonal = T.circulant_diagonalization(n)
    assert sp.simplify(product - diagonal) == sp.zeros(n, n)
    assert T.parseval_identity(n) == 0


def test_circular_conv_matches_the_defining_sum():
    rng = np.random.default_rng(0)
    filters, signals = rng.normal(size=(2, 3, 5)), rng.normal(size=(4, 3, 5))
    direct = np.zeros((4, 2, 5))
    for t in range(5):
        for s in range(5):
            direct[:, :, t] += np.einsum("oi,ni->no", filters[:, :, s], signals[:, :, (t - s) % 5])
    got = N.circular_conv(torch.from_numpy(filters), torch.from_numpy(signals)).numpy()
    assert_close(got, direct, rtol=0.0, atol=1e-12, why="FFT vs direct sum, float64 rounding")


def test_end_to_end_filters_multiply_frequency_matrices():
    rng = np.random.default_rng(1)
    layers = [rng.normal(size=(3, 2, 6)), rng.normal(size=(4, 3, 6))]
    filters = N.end_to_end([torch.from_numpy(w) for w in layers]).numpy()
    assert filters.shape == (4, 2, 6)
    first, second = (T.frequency_matrices(w) for w in layers)
    got, expected = T.frequency_matrices(filters), second @ first
    assert_close([got.real, got.imag], [expected.real, expected.imag], rtol=0.0, atol=1e-11, why="rounding")


def test_linear_cnn_cost_by_parseval_and_nuclear_norm():
    rng = np.random.default_rng(2)
    filters = rng.normal(size=(3, 3, 8))
    # L = 1: (1/n)·Σ_ω ‖Â(ω)‖_F² = ‖A‖² (Parseval)
    assert_close(T.linear_cnn_cost(filters, 1), float((filters**2).sum()), rtol=1e-12, why="rounding")
    # L = 2: (2/n)·Σ_ω nuclear norm of Â(ω)
    nuclear = sum(np.linalg.norm(m, "nuc") for m in T.frequency_matrices(filters))
    assert_close(T.linear_cnn_cost(filters, 2), 2 * nuclear / 8, rtol=1e-12, why="rounding")


def test_few_frequency_filters_keep_the_asked_ranks():
    filters = N.few_frequency_filters(3, 8, {0: 1, 2: 3, 4: 2}, seed=1)
    ranks = np.linalg.matrix_rank(T.frequency_matrices(filters), tol=1e-9)
    assert ranks.tolist() == [1, 0, 3, 0, 2, 0, 3, 0]
    assert T.cbn_rank(filters) == (1 + 3 + 2 + 3) / 8
    with pytest.raises(ValueError, match="frequencies"):
        N.few_frequency_filters(3, 8, {5: 1})
    with pytest.raises(ValueError, match="rank"):
        N.few_frequency_filters(2, 8, {1: 3})


def test_depth_one_training_is_per_tap_shrinkage_and_depth_two_soft_thresholding():
    target = N.few_frequency_filters(2, 6, {1: 2, 0: 1}, seed=3)
    fit = N.train_linear_cnn(target, depth=1, channels=2, lam=0.1, seed=0)
    # min ½(a − a*)² + λa² per tap: a = a*/(1 + 2λ)
    assert_close(fit.outputs, target / 1.2, rtol=0.0, atol=1e-6, why="convex, gradient <= 1e-6")
    fit = N.train_linear_cnn(target, depth=2, channels=2, lam=0.1, seed=0)
    learned = np.linalg.svd(T.frequency_matrices(fit.outputs), compute_uv=False)
    # L = 2 per frequency: ½(s − s*)² + 2λs, so s = (s* − 2λ)₊ (nuclear-norm shrinkage)
    assert_close(learned, T.regularized_spectra(target, 2, 0.1), rtol=0.0, atol=1e-5,
                 why="non-convex in the weights but no spurious minima at depth 2; gradient <= 1e-6")
    expected = np.maximum(np.linalg.svd(T.frequency_matrices(target), compute_uv=False) - 0.2, 0.0)
    assert_close(T.regularized_spectra(target, 2, 0.1), expected, rtol=0.0, atol=1e-9, why="closed form")


def test_bad_input():
    with pytest.raises(ValueError, match="target_filters"):
        N.train_linear_cnn(np.ones((2, 2)), 2, 2, 0.1)
    with pytest.raises(ValueError, match="filters"):
        T.frequency_matrices(np.ones((2, 2)))
    with pytest.raises(ValueError, match="minimum"):
        T.regularized_spectra(np.ones((2, 2, 4)), 2, 0.1, minimum="best")
    with pytest.raises(ValueError, match="same N and n"):
        N.train_relu_cnn(np.ones((3, 1, 4)), np.ones((2, 1, 4)), 2, 2, 0.1)
    with pytest.raises(ValueError, match="signals"):
        N.mean_target(np.ones((3, 4)), 1, 2)


def test_relu_cnn_is_the_linear_network_on_nonnegative_signals_and_filters():
    # σ acts as the identity when every intermediate signal is >= 0, so the ReLU CNN's output on a
    # unit impulse is then the linear network's end-to-end filter
    rng = np.random.default_rng(1)
    layers = [torch.from_numpy(rng.uniform(size=shape)) for shape in ((3, 2, 6), (3, 3, 6), (1, 3, 6))]
    impulses = torch.zeros(2, 2, 6, dtype=torch.float64)
    impulses[[0, 1], [0, 1], 0] = 1.0
    assert_close(N.relu_cnn(layers, impulses).numpy(), N.end_to_end(layers).transpose(0, 1).numpy(),
                 rtol=1e-12, atol=1e-12, why="the same convolutions, FFT rounding")
    # a negative first filter is cut by σ: one tap −1 on one channel gives 0 after the hidden layer
    f64 = torch.float64
    single = [torch.tensor([[[-1.0, 0.0]]], dtype=f64), torch.tensor([[[1.0, 0.0]]], dtype=f64)]
    out = N.relu_cnn(single, torch.tensor([[[1.0, 2.0]]], dtype=f64)).numpy()
    assert_close(out, [[[0.0, 0.0]]], rtol=0.0, atol=1e-15, why="relu(−x) = 0 for x > 0")


def test_frequency_ranks_by_hand():
    constant = np.ones((2, 3, 8))  # every tap 1: ŵ(0) = 8·ones (rank 1), ŵ(ω ≠ 0) = 0
    assert N.frequency_ranks(constant, 1e-6).tolist() == [1] + [0] * 7
    identity = np.zeros((3, 3, 8))
    identity[:, :, 0] = np.eye(3)  # the identity map: ŵ(ω) = I at every frequency
    assert N.frequency_ranks(identity, 1e-6).tolist() == [3] * 8
    cosine = np.cos(2 * np.pi * np.arange(8) / 8)[None, None, :]  # frequencies 1 and 7 only
    assert N.frequency_ranks(cosine, 1e-6).tolist() == [0, 1, 0, 0, 0, 0, 0, 1]


def test_mean_target_sees_only_the_channel_means():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 3, 8))
    Y = N.mean_target(X, 2, 4, seed=5)
    assert Y.shape == (30, 4, 8) and np.all(Y == Y[:, :, :1])  # constant signals
    shifted = X + np.cos(2 * np.pi * 3 * np.arange(8) / 8) * rng.normal(size=(30, 3, 1))  # ω = 3 content
    assert_close(N.mean_target(shifted, 2, 4, seed=5), Y, rtol=1e-12, atol=1e-12,
                 why="a cosine sums to 0 over a period: the means do not move")
    assert np.linalg.matrix_rank(Y[:, :, 0]) == 2  # A (4, 2)·relu(B x̄): rank 2 over 30 points


def test_relu_cnn_training_reaches_a_stationary_point_of_the_objective():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(12, 2, 4))
    Y = N.mean_target(X, 1, 1, seed=0)
    fit = N.train_relu_cnn(X, Y, 3, 3, 0.01, seed=0, rounds=30)
    layers = [torch.from_numpy(w).requires_grad_(True) for w in fit.layers]
    objective = 0.5 * ((N.relu_cnn(layers, torch.from_numpy(X)) - torch.from_numpy(Y)) ** 2).sum() \
        + 0.01 * sum((w**2).sum() for w in layers)
    objective.backward()
    # the fit's own account, recomputed independently: outputs, ‖θ‖², and the gradient it reports
    assert_close(fit.outputs, N.relu_cnn(layers, torch.from_numpy(X)).detach().numpy(), rtol=0.0, atol=1e-14,
                 why="the same forward pass")
    assert_close(fit.norm_sq, sum(float((w.detach()**2).sum()) for w in layers), rtol=1e-14, why="rounding")
    assert max(float(w.grad.abs().max()) for w in layers) == pytest.approx(fit.gradient, rel=1e-6, abs=1e-12)


def test_hidden_spectra_obey_parseval_and_see_constants_at_frequency_zero():
    rng = np.random.default_rng(4)
    layers = [rng.normal(size=(3, 2, 8)), rng.normal(size=(3, 3, 8)), rng.normal(size=(1, 3, 8))]
    X = rng.normal(size=(5, 2, 8))
    spectra = N.hidden_spectra(layers, X)
    hidden, z = [], torch.from_numpy(X)
    for w in layers[:-1]:
        z = torch.relu(N.circular_conv(torch.from_numpy(w), z))
        hidden.append(float((z**2).sum()))
    assert spectra.shape == (2, 8)
    assert_close(spectra.sum(axis=1), hidden, rtol=1e-12, why="Parseval, FFT rounding")
    constant = [np.ones((2, 2, 8)), np.ones((1, 2, 8))]  # constant filters: constant, >= 0 signals
    energy = N.hidden_spectra(constant, np.abs(X))[0]
    assert_close(energy[1:], np.zeros(7), rtol=0.0, atol=1e-20 * energy[0], why="no energy off ω = 0")


@pytest.mark.parametrize("relu, depth, channels, n", [(True, 1, 2, 5), (True, 3, 3, 4), (True, 5, 2, 8),
                                                      (False, 1, 3, 6), (False, 4, 2, 7)])
def test_hand_gradient_matches_autograd_through_the_fft(relu, depth, channels, n):
    from rankcheck.numerics.cbn import _cnn_objective
    rng = np.random.default_rng(depth * 10 + n)
    dims = [2] + [channels] * (depth - 1) + [3]
    layers = [rng.normal(size=(dims[k + 1], dims[k], n)) for k in range(depth)]
    X = rng.normal(size=(7, 2, n)) if relu else np.eye(2)[:, :, None] * (np.arange(n) == 0)
    Y = rng.normal(size=(len(X), 3, n))
    value, gradients = _cnn_objective(layers, X, Y, 0.03, relu)
    weights = [torch.from_numpy(w).requires_grad_(True) for w in layers]
    outputs = N.relu_cnn(weights, torch.from_numpy(X)) if relu else N.end_to_end(weights).transpose(0, 1)
    expected = 0.5 * ((outputs - torch.from_numpy(Y)) ** 2).sum() + 0.03 * sum((w**2).sum() for w in weights)
    expected.backward()
    assert_close(value, float(expected.detach()), rtol=1e-12, why="circulant products vs FFT, rounding")
    for got, w in zip(gradients, weights, strict=True):
        assert_close(got, w.grad.numpy(), rtol=0.0, atol=1e-10 * (1 + float(w.grad.abs().max())),
                     why="hand backward pass vs autograd through the FFT, rounding")

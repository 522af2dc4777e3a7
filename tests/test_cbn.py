"""theory.cbn and numerics.cnn against sympy identities, direct loops and closed forms."""

import numpy as np
import pytest
import sympy as sp
import torch

from numerics import cnn as N
from tests.helpers import assert_close
from theory import cbn as T


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
    assert_close(fit.filters, target / 1.2, rtol=0.0, atol=1e-6, why="convex, gradient <= 1e-6")
    fit = N.train_linear_cnn(target, depth=2, channels=2, lam=0.1, seed=0)
    learned = np.linalg.svd(T.frequency_matrices(fit.filters), compute_uv=False)
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

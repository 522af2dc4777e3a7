"""Bad input gets a ValueError naming the argument, never a foreign exception or a silent answer.

A start on issue 32's property module: the calls that an audit found to fail with IndexError,
LAPACK errors, a silently used vertex 1 for ``target=1.5`` or an untrained result, and
Hypothesis-drawn non-finite entries in the array arguments of solvers that take them.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rankcheck.errors import NotConvergedError
from rankcheck.numerics import bottleneck, cone, dln, gnn, leaky, linear_dynamics, spectra, tensor
from rankcheck.theory import spectra as spectra_theory

EDGES = np.array([[0, 1, 1, 2], [1, 0, 2, 1]])
PATH = np.abs(np.random.default_rng(0).normal(size=(3, 2, 2)))  # L = 2 layers, w = N = 2
INDICES = np.array([[0, 0, 0], [1, 1, 1], [2, 0, 1]])

BAD_CALLS = {
    "walk_index(target=1.5)": (lambda: gnn.walk_index(EDGES, [0], 3, target=1.5), "target"),
    "walk_index(target=-1)": (lambda: gnn.walk_index(EDGES, [0], 3, target=-1), "target"),
    "discrete_action(leak=0)": (lambda: leaky.discrete_action(PATH, [0.5, 0.5], 0.0), "leak"),
    "discrete_action(leak<0)": (lambda: leaky.discrete_action(PATH, [0.5, 0.5], -1.0), "leak"),
    "discrete_action(rho=[0])": (lambda: leaky.discrete_action(PATH[:2], [0.0], 1.0), "rho"),
    "discrete_action(rho length)": (lambda: leaky.discrete_action(PATH, [1.0], 1.0), "rho"),
    "adaptive_steps(rho<0)": (lambda: leaky.adaptive_steps(PATH, [1.5, -0.5], 0.5), "rho"),
    "train_dln(max_steps=-5)": (lambda: dln.train_dln(np.eye(2), 2, 0.1, max_steps=-5), "max_steps"),
    "numerical_ranks(nan)": (lambda: bottleneck.numerical_ranks(np.full((1, 2, 2), np.nan), 1e-3),
                             "matrices"),
    "log_pseudo_determinants(inf)": (
        lambda: bottleneck.log_pseudo_determinants(np.full((1, 2, 2), np.inf), 1e-3), "matrices"),
    "jacobians([])": (lambda: bottleneck.jacobians([], np.ones((2, 3))), "weights"),
    "parameter_flow([])": (lambda: linear_dynamics.parameter_flow([], np.eye(2), [0.0, 1.0]),
                           "weights0"),
    "gradient_descent([])": (lambda: linear_dynamics.gradient_descent([], np.eye(2), 0.1, [0.0]),
                             "weights0"),
    "rank_transitions(float)": (lambda: linear_dynamics.rank_transitions([[1.5, 2.0]], 3), "ranks"),
    "monomial_eigenvalue(power=-1)": (lambda: spectra_theory.monomial_eigenvalue(3, 1, -1), "power"),
    "cp_completion(nan values)": (
        lambda: tensor.cp_completion([1.0, np.nan, 0.0], INDICES, (3, 3, 3), 2, 0.1, 5, 0.01),
        "observed_values"),
    "htf_completion(inf values)": (
        lambda: tensor.htf_completion([1.0, np.inf, 0.0, 1.0], np.zeros((4, 4), dtype=int),
                                      (2, 2, 2, 2), 2, 0.1, 5, 0.01), "observed_values"),
    "rank_mod(composite)": (lambda: gnn.rank_mod([[2, 1], [4, 2]], 8), "modulus"),
    "cp_fit_error(zero values)": (lambda: tensor.cp_fit_error([0.0, 0.0], INDICES[:2, :2], (3, 3), 1),
                                  "observed_values"),
    "shallow_target(dead units)": (lambda: bottleneck.shallow_target(np.zeros((3, 5)), 2, 2), "X"),
    "depth_fit(one depth)": (lambda: bottleneck.depth_fit([4, 4, 4], [1.0, 2.0, 3.0]), "depths"),
    "depth_fit(depth 0)": (lambda: bottleneck.depth_fit([0, 4, 8], [1.0, 2.0, 3.0]), "depths"),
    "layer_gradient_shares(zero target)": (
        lambda: spectra.layer_gradient_shares(np.zeros(20), np.ones((20, 3)), 3, 10, steps=2), "targets"),
    "layer_gradient_shares(nan points)": (
        lambda: spectra.layer_gradient_shares(np.ones(2), [[np.nan, 0.0], [1.0, 1.0]], 3, 4), "points"),
    "train_dln(seed=1.5)": (lambda: dln.train_dln(np.eye(2), 2, 0.1, seed=1.5), "seed"),
    "train_dln(seed=-1)": (lambda: dln.train_dln(np.eye(2), 2, 0.1, seed=-1), "seed"),
    "gradient_descent(lr=1e-9)": (lambda: linear_dynamics.gradient_descent(
        [np.eye(2), np.eye(2)], np.eye(2), 1e-9, [0.0, 10.0]), "lr"),
    "shallow_convex_optimum(40 × 6)": (lambda: cone.shallow_convex_optimum(
        np.random.default_rng(0).normal(size=(40, 6)), np.ones(40), 0.1), "samples=n"),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_bad_call_raises_a_value_error_naming_the_argument(name):
    call, argument = BAD_CALLS[name]
    with pytest.raises(ValueError, match=argument):
        call()


@given(st.sampled_from([np.nan, np.inf, -np.inf]), st.integers(0, 5))
def test_non_finite_entries_are_refused_by_name(bad, position):
    matrix = np.arange(6.0).reshape(2, 3) + 1
    matrix.flat[position] = bad
    for call, argument in (
        (lambda: dln.representation_cost(matrix, 2), "A"),
        (lambda: bottleneck.numerical_ranks(matrix[None], 1e-3), "matrices"),
        (lambda: leaky.cost_of_identity(matrix), "A"),
        (lambda: leaky.discrete_action(np.stack([matrix, np.abs(np.nan_to_num(matrix))]), [1.0], 1.0),
         "path"),
    ):
        with pytest.raises(ValueError, match=argument):
            call()


def test_a_diverging_training_raises_not_converged_at_the_step_it_happens():
    with pytest.raises(NotConvergedError, match="train_dln diverged at step"):
        dln.train_dln(np.diag([3.0, 1.0]), 3, 0.01, lr=50.0)
    start = [0.5 * np.eye(2), 0.5 * np.eye(2)]
    with pytest.raises(NotConvergedError, match="gradient_descent diverged at step"):
        linear_dynamics.gradient_descent(start, np.diag([3.0, 1.0]), 5.0, [0.0, 50.0])
    # a stable step size on the same problem still trains (no false alarm)
    flow = linear_dynamics.gradient_descent(start, np.diag([3.0, 1.0]), 0.01, [0.0, 5.0])
    assert np.isfinite(flow.losses).all() and flow.losses[-1] < flow.losses[0]


def test_runaway_costs_are_bounded():
    """A step too small for the horizon stops at the step budget (by name), never runs for hours;
    the zero tensor has CP rank 0 exactly (no LAPACK error)."""
    with pytest.raises(NotConvergedError, match="1000 steps"):
        linear_dynamics.train_saddle_to_saddle((1.0, 0.5), 3, 0.1, lr=1e-7, max_time=10, max_steps=1000)
    assert tensor.lowest_cp_rank(np.zeros((3, 3, 3)), 1e-3) == (0, 0.0)
    # the budget is what decides, not the size of the points alone
    sampled, mode = cone.activation_patterns(np.random.default_rng(0).normal(size=(40, 7)), samples=50)
    assert mode == "sampled" and sampled.shape[1] == 40


@given(st.one_of(st.floats(allow_nan=True), st.integers(max_value=-1), st.booleans(), st.text(max_size=3),
                 st.integers(min_value=2**63, max_value=2**70)))
def test_bad_seeds_are_refused_by_name(seed):
    for call in (lambda: dln.train_dln(np.eye(2), 2, 0.1, seed=seed, max_steps=1),
                 lambda: gnn.random_product_gnn(2, 2, 2, seed),
                 lambda: bottleneck.shallow_target(np.ones((2, 3)), 1, 1, seed=seed)):
        with pytest.raises(ValueError, match="seed"):
            call()


def test_non_finite_losses_stop_the_trainers_by_name():
    """A loss that turns NaN ends a training with NotConvergedError naming the solver and the step,
    in Adam loops (``finite_loss``) and in L-BFGS (whose line search would overflow)."""
    import torch

    from rankcheck.numerics.optim import finite_loss, minimize_to_stationarity

    with pytest.raises(NotConvergedError, match="demo: the loss became nan at step 7"):
        finite_loss(torch.tensor(float("nan")), "demo", 7)
    assert finite_loss(torch.tensor(2.0), "demo", 0).item() == 2.0
    weight = torch.tensor([1.0], requires_grad=True)
    with pytest.raises(NotConvergedError, match="lbfgs-demo"):
        minimize_to_stationarity(lambda: (weight * np.nan).sum(), [weight], 2, 1e-6, "lbfgs-demo")
    with pytest.raises(NotConvergedError, match="lbfgs-demo"):  # an objective that overflows
        minimize_to_stationarity(lambda: torch.exp(torch.exp(weight * 20)).sum(), [weight], 2, 1e-6,
                                 "lbfgs-demo")

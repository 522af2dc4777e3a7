"""End to end: every registered claim passes on quick with its negative control caught, except the
claims whose honest verdict is documented as unresolved or refuted (the reason is in their note)."""

import rankcheck.proofs_checks as proofs_checks
from rankcheck.proofs_checks.registry import all_claims
from rankcheck.proofs_checks.sweep import ExecutorConfig

# Claim id -> (control outcome on quick, why the verdict is `inconclusive`): measured, not a defect;
# the reasons are in the claims' notes (notes/tensor.md, notes/compositionality.md, notes/leaky.md).
UNRESOLVED = {
    "tensor.counter_locality": ("missed", "quick trains 2 seeds for 150 steps, a pipeline check that "
                                "reports its bands and judges nothing (their side of 0 changes with the "
                                "machine's rounding), so the control decides nothing either; the full run "
                                "(16 fresh seeds) resolves the coupling, not the accuracy gain"),
    "tensor.hierarchical_rank": ("missed", "quick flows 2 fresh draws, a pipeline check: the exact "
                                 "binomial interval of 2 of 2 is [0.22, 1], of 0 of 2 [0, 0.78], so "
                                 "neither the rate nor its control can leave ½; full judges 32 draws"),
    "leaky.adaptive_steps": ("missed", "quick trains the Fig. 2a task for 400 steps at N = 200, width "
                             "40: a pipeline check that computes the paired test-error band and judges "
                             "nothing; full trains the paper's sizes (4 tasks × 4 depths × 3 schedules)"),
}

# Claim id -> why its verdict is `fail` on quick: the claim as stated does not hold, or quick's scale
# is too small for it (notes/gnn.md, notes/compositionality.md).
FAILS_ON_QUICK = {
    "gnn.wis_preserves_interactions": "on the task 'an active vertex within 2 hops' a GCN keeps less "
                                      "accuracy under WIS than under spectral removal: fewer labels stay "
                                      "determined by the kept graph (WIS does cut off fewer vertices: "
                                      "gnn.wis_preserves_walk_index passes)",
    "compositionality.composition_rate": "quick's network (width 32, 600 steps) is undertrained: its "
                                         "exponent clears the bound but lies below the Laplace kernel's "
                                         "where h is harder; full (width 64, 2 250 steps) passes",
    "compositionality.phase_transition": "the exponent rises with both smoothnesses by small steps, "
                                         "not by the min's switch: the predicted move of ν_g 1 → 3 at "
                                         "ν_h = 3/2 is not reached (full fails the same way)",
}


def expected_outcome(claim_id: str) -> tuple[str, str]:
    """(status, control) that ``claim_id`` gives on quick at seed 0 (also the claim-level mutation
    mode's reference, ``tests/mutate.py``)."""
    if claim_id in UNRESOLVED:
        return "inconclusive", UNRESOLVED[claim_id][0]
    return ("fail" if claim_id in FAILS_ON_QUICK else "pass"), "caught"


def test_every_claim_passes_with_its_control_caught(tmp_path):
    # the sweeps on CI's two cores (rows are bit-identical across executors: test_sweep)
    verdicts = proofs_checks.run(None, profile="quick", seed=0, out=tmp_path,
                                 executor=ExecutorConfig(kind="processes", jobs=2))
    summary = {v.claim_id: (v.status, v.control) for v in verdicts}
    assert set(summary) == {c.id for c in all_claims()}
    expected = {i: expected_outcome(i) for i in summary}
    assert summary == expected, {
        v.claim_id: v.details.get("reason") for v in verdicts if summary[v.claim_id] != expected[v.claim_id]}
    for name in ("dln.rank_limit.rank_gap", "linear_dynamics.mixed_regime.phase_diagram",
                 "not_norms.norms_grow.trajectories", "spectra.layerwise_bias.layers"):
        assert (tmp_path / "figures" / f"{name}.png").exists(), name

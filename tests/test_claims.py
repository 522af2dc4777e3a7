"""End to end: every registered claim passes on quick with its negative control caught."""

import proofs_checks
from proofs_checks.registry import all_claims


def test_every_claim_passes_with_its_control_caught(tmp_path):
    verdicts = proofs_checks.run(None, profile="quick", seed=0, out=tmp_path)
    summary = {v.claim_id: (v.status, v.control) for v in verdicts}
    assert set(summary) == {c.id for c in all_claims()}
    assert set(summary.values()) == {("pass", "caught")}, {
        v.claim_id: v.details.get("reason") for v in verdicts if v.status != "pass"}
    for name in ("dln.rank_limit.rank_gap", "linear.mixed_regime.phase_diagram",
                 "norms.not_norms.trajectories", "spectra.layerwise_bias.layers"):
        assert (tmp_path / "figures" / f"{name}.png").exists(), name

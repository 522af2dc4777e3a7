"""End to end: the DLN claims (costs and dynamics) pass on quick with their controls caught."""

import proofs_checks


def test_dln_claims_pass_with_controls_caught(tmp_path):
    verdicts = proofs_checks.run(["dln"], profile="quick", seed=0, out=tmp_path)
    summary = {v.claim_id: (v.status, v.control) for v in verdicts}
    assert summary == {
        "dln.depth_expansion": ("pass", "caught"),
        "dln.rank_limit": ("pass", "caught"),
        "dln.representation_cost": ("pass", "caught"),
        "dln.saddle_to_saddle": ("pass", "caught"),
    }, {v.claim_id: v.details.get("reason") for v in verdicts}
    assert (tmp_path / "figures" / "dln.rank_limit.rank_gap.png").exists()

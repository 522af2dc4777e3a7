"""proofs_checks.audit: tolerances against the worst errors they bound, on hand-made verdicts."""

import pytest

from rankcheck.proofs_checks.audit import format_audit, tolerance_audit
from rankcheck.proofs_checks.cli import main
from rankcheck.proofs_checks.report import write_reports
from rankcheck.proofs_checks.verdict import Verdict


def _stored(comparison):
    """A comparison as report.json stores it (the audit reads name, rtol, atol and ratio)."""
    return {"passed": True, "why": "w", "max_abs_error": 0.0, "max_rel_error": 0.0, "worst_index": 0,
            "worst_case": "", "note": "", "worst_predicted": 0.0, "worst_measured": 0.0, "cases": 1,
            **comparison}


def _verdict(claim_id, comparisons):
    comparisons = [_stored(c) for c in comparisons]
    return Verdict(claim_id=claim_id, statement="s", source="src", profile="quick", status="pass",
                   control="caught", predicted=0.0, measured=0.0, tolerance={}, seed=0, seconds=1.0,
                   details={"comparisons": comparisons})


COMPARISONS = [
    {"name": "tight", "rtol": 0.1, "atol": 0.0, "ratio": 0.4, "max_abs_error": 0.04},
    {"name": "loose", "rtol": 0.0, "atol": 0.1, "ratio": 0.01, "max_abs_error": 0.001},  # 100× the error
    {"name": "one-sided band", "rtol": 0.0, "atol": 1e-9, "ratio": 0.0},  # a margin, not a tolerance
    {"name": "per-case bound", "rtol": 0.0, "atol": [0.1, 0.2], "ratio": 0.3, "max_abs_error": 0.03},
    {"name": "count", "rtol": 0.0, "atol": 0.5, "ratio": 0.0, "max_abs_error": 0.0},
    {"name": "same number", "rtol": 1e-9, "atol": 1e-12, "ratio": 1e-4, "max_abs_error": 1e-15},
]


def test_loose_tolerances_are_flagged_and_margins_set_apart():
    rows = tolerance_audit([_verdict("a.b", COMPARISONS)])
    kinds = {r["comparison"]: (r["kind"], r["loose"]) for r in rows}
    assert kinds == {"tight": ("tolerance", False), "loose": ("tolerance", True),
                     "one-sided band": ("margin", False), "per-case bound": ("tolerance", False),
                     "count": ("exact", False), "same number": ("round-off", False)}
    # at factor 3 a ratio below 1/3 is flagged: 0.01 and 0.3, not 0.4
    assert [r["comparison"] for r in tolerance_audit([_verdict("a.b", COMPARISONS)], factor=3)
            if r["loose"]] == ["loose", "per-case bound"]
    text = format_audit(rows)
    assert text.splitlines()[0].split()[:2] == ["0.01", "LOOSE"]  # loosest first
    assert text.endswith("3 tolerances audited, 1 more than 5× the worst error seen; not audited: "
                         "1 margins against 0, 1 exact comparisons, 1 round-off checks")
    with pytest.raises(ValueError, match="factor"):
        tolerance_audit([], factor=1)


def test_the_cli_audits_a_report(tmp_path, capsys):
    write_reports([_verdict("a.b", COMPARISONS)], tmp_path, meta={})
    assert main(["audit", str(tmp_path), "--markdown"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("| claim | comparison |") and "| `a.b` | loose | 0.01 | yes (> 5×) |" in table
    assert main(["audit", str(tmp_path / "absent")]) == 2

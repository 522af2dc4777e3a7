"""The registry, runner, verdicts, reports and CLI, on toy claims whose outcome is known."""

import json
import os

import pytest
from hypothesis import strategies as st

import rankcheck.proofs_checks as proofs_checks
from rankcheck.errors import NotConvergedError
from rankcheck.proofs_checks import cli
from rankcheck.proofs_checks.context import Context, draw
from rankcheck.proofs_checks.registry import (
    REGISTRY,
    UnknownClaimError,
    all_claims,
    claim,
    load_families,
    select,
)
from rankcheck.proofs_checks.report import load_report
from rankcheck.proofs_checks.runner import run_claim
from rankcheck.proofs_checks.verdict import Verdict, compare


def square(value: float) -> float:
    return value * value


@pytest.fixture
def toy_claims():
    """Register toy claims in the ``toy`` family for one test, then remove them."""
    load_families()  # before the snapshot, so that teardown removes the toy claims only
    before = set(REGISTRY)

    def honest(ctx: Context, predict):
        cases = ctx.draw(st.floats(-3, 3), 5)
        return ctx.compare("square", [predict(x) for x in cases], [x * x for x in cases],
                           rtol=1e-12, atol=1e-12, why="exact arithmetic", cases=cases)

    claim("toy.honest", statement="x² is x·x", source="arithmetic", predict=square,
          broken=lambda x: x * x + 1, broken_how="adds 1")(honest)
    claim("toy.blind", statement="cannot fail", source="-", predict=square, broken=abs,
          broken_how="abs")(lambda ctx, predict: ctx.compare("always", [1.0], [1.0], rtol=1e-9,
                                                             why="constant"))

    def stuck(ctx, predict):
        raise NotConvergedError("solver gave up after 3 steps")

    claim("toy.stuck", statement="-", source="-", predict=square, broken=abs,
          broken_how="abs")(stuck)
    claim("toy.crash", statement="-", source="-", predict=square, broken=abs,
          broken_how="abs")(lambda ctx, predict: 1 / 0)
    yield
    for key in set(REGISTRY) - before:
        del REGISTRY[key]


def verdict_of(claim_id: str, **kwargs) -> Verdict:
    return run_claim(REGISTRY[claim_id], **kwargs)


def test_honest_claim_passes_and_its_control_is_caught(toy_claims):
    verdict = verdict_of("toy.honest")
    assert (verdict.status, verdict.control) == ("pass", "caught")
    assert verdict.tolerance["rtol"] == 1e-12 and verdict.seed == 0
    assert verdict.details["control"]["status"] == "fail"


def test_a_check_that_cannot_fail_is_a_failure(toy_claims):
    verdict = verdict_of("toy.blind")
    assert (verdict.status, verdict.control) == ("fail", "missed")
    assert "negative control missed" in verdict.details["reason"]


def test_non_convergence_is_inconclusive_and_crash_is_fail(toy_claims):
    stuck = verdict_of("toy.stuck")
    assert (stuck.status, stuck.control) == ("inconclusive", "missed")
    assert "solver gave up" in stuck.details["reason"]
    crash = verdict_of("toy.crash")
    assert crash.status == "fail" and "ZeroDivisionError" in crash.details["traceback"]


def test_verdict_json_round_trip(toy_claims, tmp_path):
    verdicts = proofs_checks.run(["toy.honest"], out=tmp_path)
    meta, loaded = load_report(tmp_path)
    assert meta["profile"] == "quick" and loaded[0].to_dict() == verdicts[0].to_dict()
    keys = set(json.loads((tmp_path / "report.json").read_text())["verdicts"][0])
    assert {"claim_id", "status", "control", "predicted", "measured", "tolerance", "seed",
            "seconds", "details"} <= keys
    assert "| toy.honest | pass | caught |" in (tmp_path / "report.md").read_text()


def test_same_seed_same_cases_different_seed_different_cases():
    strategy = st.lists(st.integers(0, 10**6), min_size=3, max_size=3)
    assert draw(strategy, 6, seed=1) == draw(strategy, 6, seed=1)
    assert draw(strategy, 6, seed=1) != draw(strategy, 6, seed=2)
    assert len(draw(strategy, 6, seed=1)) == 6
    small = draw(st.integers(0, 3), 10, seed=0)  # only 4 values exist: each once
    assert sorted(small) == [0, 1, 2, 3]


def test_compare_judges_by_tolerance_ratio():
    ok = compare("c", [1.0, [2.0, 3.0]], [1.0 + 1e-7, [2.0, 3.0]], rtol=1e-6, why="w")
    assert ok.passed and ok.ratio == pytest.approx(0.1)
    bad = compare("c", [1.0, 2.0], [1.0, 2.1], rtol=1e-3, why="w", cases=["a", "b"])
    assert not bad.passed and bad.worst_case == "'b'" and bad.max_abs_error == pytest.approx(0.1)
    assert not compare("c", [[1.0, 2.0]], [[1.0]], rtol=1.0, why="w").passed  # shape mismatch
    zero = compare("c", [[0.0, 2.0]], [[1e-12, 2.0]], rtol=1e-6, atol=1e-9, why="w")
    assert zero.passed and zero.max_rel_error == 0.0 and zero.max_abs_error == 1e-12
    with pytest.raises(ValueError, match="why"):
        compare("c", [1.0], [1.0], rtol=1e-3, why="")
    with pytest.raises(ValueError, match="equal length"):
        compare("c", [1.0], [], rtol=1e-3, why="w")


def test_select_by_prefix_and_unknown_ids():
    assert {c.id for c in select(["dln"])} == {
        "dln.representation_cost", "dln.depth_expansion", "dln.rank_limit"}
    assert {c.id for c in select(["linear_dynamics"])} == {
        "linear_dynamics.saddle_to_saddle", "linear_dynamics.mixed_regime",
        "linear_dynamics.sgd_one_way_jumps"}
    assert [c.id for c in select(["dln.rank_limit"])] == ["dln.rank_limit"]
    with pytest.raises(UnknownClaimError, match="no claim matches 'dln.nope'"):
        select(["dln.nope"])


def test_registration_rejects_bad_ids_duplicates_and_profiles():
    with pytest.raises(ValueError, match="claim_id"):
        claim("NoDots", statement="", source="", predict=abs, broken=abs, broken_how="")
    with pytest.raises(ValueError, match="profiles"):
        claim("toy.x", statement="", source="", predict=abs, broken=abs, broken_how="",
              profiles=("slow",))
    with pytest.raises(ValueError, match="registered twice"):
        claim("dln.rank_limit", statement="", source="", predict=abs, broken=abs,
              broken_how="")(lambda ctx, p: None)


def test_cli_list_run_show(toy_claims, tmp_path, capsys):
    assert cli.main(["list"]) == 0
    assert "dln.representation_cost" in capsys.readouterr().out
    assert cli.main(["run", "toy.honest", "--out", str(tmp_path), "--quiet"]) == 0
    assert "1/1 claims pass" in capsys.readouterr().out
    assert cli.main(["run", "toy.blind", "--out", str(tmp_path), "--quiet"]) == 1
    assert cli.main(["run", "toy.blind", "--out", str(tmp_path), "--quiet", "--exit-zero"]) == 0
    assert cli.main(["show", "toy.blind", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "fail, control missed" in out and "cannot fail" in out
    assert cli.main(["run", "nope.nothing", "--quiet"]) == 2
    assert "no claim matches" in capsys.readouterr().err


def test_cli_device_sets_the_trainings_device(toy_claims, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RANKCHECK_DEVICE", raising=False)
    assert cli.main(["run", "toy.honest", "--out", str(tmp_path), "--quiet", "--device", "nowhere"]) == 2
    assert "--device must name a torch device" in capsys.readouterr().err
    assert "RANKCHECK_DEVICE" not in os.environ
    assert cli.main(["run", "toy.honest", "--out", str(tmp_path), "--quiet", "--device", "cpu"]) == 0
    assert os.environ["RANKCHECK_DEVICE"] == "cpu"


def test_every_claim_has_statement_source_and_a_distinct_control():
    for item in proofs_checks.all_claims():
        assert item.statement and item.source and item.broken_how
        assert item.broken is not item.predict


def test_brief_cuts_long_records():
    from rankcheck.proofs_checks.verdict import brief

    assert brief([1.0, 2.0]) == "[1.0, 2.0]"
    long = brief([[0.5] * 100] * 10)
    assert len(long) < 300 and "≈1000 values" in long


def test_table_survives_infinite_ratios():
    from rankcheck.proofs_checks.report import format_table
    from rankcheck.proofs_checks.verdict import Verdict

    verdict = Verdict("x.y", "s", "src", "quick", "fail", "caught", None, None, {}, 0, 0.1,
                      {"comparisons": [{"ratio": "inf"}, {"ratio": 0.5}]})
    assert "inf" in format_table([verdict])


def test_per_case_and_per_entry_tolerances():
    ok = compare("c", [1.0, [1.0, 2.0]], [1.5, [1.1, 2.9]], rtol=0.0, atol=[0.6, [0.2, 1.0]], why="w")
    assert ok.passed and abs(ok.ratio - 0.9) < 1e-12 and ok.worst_index == 1 and ok.worst_atol == 1.0
    bad = compare("c", [1.0, 1.0], [1.5, 1.5], rtol=0.0, atol=[0.6, 0.4], why="w")
    assert not bad.passed and bad.worst_index == 1
    with pytest.raises(ValueError, match="one per case"):
        compare("c", [1.0, 1.0], [1.0, 1.0], rtol=0.0, atol=[0.1], why="w")


def test_renamed_claims_keep_the_seeds_of_their_old_ids():
    """Renaming a claim changes no drawn case: its seeds derive from its old id (values computed
    by the code before the rename), so recorded and pre-registered runs stay reproducible."""
    claims = {c.id: c for c in all_claims()}
    phase = claims["compositionality.phase_transition"]
    assert phase.seed_key == "f1.phase_transition"
    context = Context(phase.id, seed_key=phase.seed_key)
    assert context.seeds(3, label="draws") == [147157137, 2143436807, 1724584381]
    one_point = claims["bottleneck.one_point"]
    assert Context(one_point.id, seed_key=one_point.seed_key).seeds(2) == [2075340156, 213130730]
    assert claims["dln.rank_limit"].seed_key == "dln.rank_limit"  # never renamed: its own id
    renamed = {c.seed_label for c in claims.values() if c.seed_label and c.seed_label not in claims}
    assert len(renamed) == 11  # old ids that are no claim's id now
    # a claim split off another (stop 35) shares its sibling's label, so both draw the same graphs
    shared = {c.id: c.seed_label for c in claims.values() if c.seed_label in claims}
    assert shared == {"gnn.wis_preserves_walk_index": "gnn.wis_preserves_interactions"}
    walk, accuracy = claims["gnn.wis_preserves_walk_index"], claims["gnn.wis_preserves_interactions"]
    assert (Context(walk.id, seed_key=walk.seed_key).seeds(3)
            == Context(accuracy.id, seed_key=accuracy.seed_key).seeds(3))

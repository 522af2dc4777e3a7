"""Faults of the machinery are not theorem failures, and interruptions leave nothing behind.

An unreachable scheduler is refused in seconds before any claim runs; a worker that dies makes the
claim ``error`` and stops the run, with the finished claims in the report; a killed parent leaves
no live pool worker; Ctrl-C ends with one line and the report of what finished; a bad ``--out`` is
refused before any claim runs.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rankcheck.proofs_checks import cli
from rankcheck.proofs_checks.registry import REGISTRY, claim, load_families

ROOT = Path(__file__).resolve().parents[1]


def exiting_case(case: dict) -> dict:
    """A case whose worker process dies (as under the OOM killer): no exception to record."""
    os._exit(17)


def sleeping_case(case: dict) -> dict:
    """A case that leaves its pid in ``folder`` and sleeps (a worker busy when its parent dies)."""
    (Path(case["folder"]) / f"pid-{os.getpid()}").write_text("")
    time.sleep(120)
    return {}


def quick_case(case: dict) -> dict:
    return {"value": case["x"] * 2}


@pytest.fixture
def fault_claims():
    """toyfault.a (honest), toyfault.b (its sweep's worker dies), toyfault.c (honest)."""
    load_families()
    before = set(REGISTRY)

    def honest(ctx, predict):
        rows = ctx.sweep("double", quick_case, [{"x": 1}, {"x": 2}]).rows
        return ctx.compare("double", [predict(r["x"]) for r in rows], [r["value"] for r in rows],
                           rtol=0.0, atol=1e-12, why="exact")

    def dying(ctx, predict):
        ctx.sweep("dies", exiting_case, [{"x": 1}, {"x": 2}])
        return ctx.compare("never", [1.0], [1.0], rtol=0.0, atol=1e-9, why="-")

    for name, check in (("a", honest), ("b", dying), ("c", honest)):
        claim(f"toyfault.{name}", statement="-", source="-", predict=lambda x: 2 * x,
              broken=lambda x: 3 * x, broken_how="3x")(check)
    yield
    for key in set(REGISTRY) - before:
        del REGISTRY[key]


def test_a_dead_worker_is_an_error_that_stops_the_run(fault_claims, tmp_path, capsys):
    status = cli.main(["run", "toyfault", "--out", str(tmp_path), "--quiet", "--jobs", "2"])
    assert status == 3
    report = json.loads((tmp_path / "report.json").read_text())
    assert [(v["claim_id"], v["status"]) for v in report["verdicts"]] == [
        ("toyfault.a", "pass"), ("toyfault.b", "error")]
    assert report["meta"]["not_run"] == ["toyfault.c"]
    assert "BrokenProcessPool" in report["verdicts"][1]["details"]["reason"]
    err = capsys.readouterr().err
    assert "fault of the machinery, not of the theorem" in err and "not run: toyfault.c" in err
    page = (tmp_path / "report.html").read_text()
    assert "Not run</strong>" in page and "toyfault.c" in page


def test_an_unreachable_scheduler_is_refused_in_seconds(fault_claims, tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    start = time.perf_counter()
    status = cli.main(["run", "toyfault.a", "--out", str(tmp_path), "--quiet",
                       "--dask-scheduler", "tcp://127.0.0.1:9"])
    assert status == 3 and time.perf_counter() - start < 30
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err
    assert not (tmp_path / "report.json").exists()


def test_a_bad_out_is_refused_before_any_claim_runs(fault_claims, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    folder = tmp_path / "out"
    (folder / "report.json").mkdir(parents=True)
    for out, message in ((afile, "is a file"), (folder, "is a folder"), (afile / "sub", "cannot be written")):
        assert cli.main(["run", "toyfault.a", "--out", str(out), "--quiet"]) == 2
        assert message in capsys.readouterr().err
    assert not (folder / "sweeps.sqlite").exists()


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a reaper that a container's init may never be."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to read the workers' states")
def test_a_killed_parent_leaves_no_live_worker(tmp_path):
    script = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from rankcheck.proofs_checks.sweep import ExecutorConfig, Sweep, run_sweep
        import test_faults
        sweep = Sweep("sleepy", test_faults.sleeping_case, [{{"folder": {str(tmp_path)!r}, "k": k}}
                                                             for k in range(4)])
        run_sweep(sweep, {str(tmp_path / "s.sqlite")!r}, ExecutorConfig("processes", 2), False)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 60
        while len(list(tmp_path.glob("pid-*"))) < 2 and time.time() < deadline:
            time.sleep(0.2)
        workers = [int(p.name.split("-")[1]) for p in tmp_path.glob("pid-*")]
        assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.time() + 10
    while any(_alive(pid) for pid in workers) and time.time() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if _alive(pid)], "workers outlived their parent"


def test_ctrl_c_ends_with_one_line_and_the_report_of_what_finished(tmp_path):
    script = textwrap.dedent(f"""
        import signal, sys, time
        # a shell starts background jobs with SIGINT ignored (and Python then keeps it ignored):
        # restore what a terminal's Ctrl-C meets
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from rankcheck.proofs_checks import cli
        from rankcheck.proofs_checks.registry import claim, load_families
        load_families()
        def fast(ctx, predict):
            return ctx.compare("one", [predict()], [1.0], rtol=0.0, atol=1e-9, why="exact")
        def slow(ctx, predict):
            time.sleep(120)
        for name, check in (("a_fast", fast), ("b_slow", slow)):
            claim(f"toyint.{{name}}", statement="-", source="-", predict=lambda: 1.0,
                  broken=lambda: 2.0, broken_how="2")(check)
        sys.exit(cli.main(["run", "toyint", "--out", {str(tmp_path)!r}]))
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (tmp_path / "report.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("interrupted:")
    report = json.loads((tmp_path / "report.json").read_text())
    assert [v["claim_id"] for v in report["verdicts"]] == ["toyint.a_fast"]
    assert report["meta"]["not_run"] == ["toyint.b_slow"]

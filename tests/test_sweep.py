"""The sweep mechanism: resume after interruption, executor equivalence, failures, bad grids."""

import math
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from rankcheck.errors import NotConvergedError
from rankcheck.proofs_checks import cli
from rankcheck.proofs_checks.dln import cost_case, training_case
from rankcheck.proofs_checks.figures import heatmap, loglog_slope, mean_sem
from rankcheck.proofs_checks.sweep import ExecutorConfig, Sweep, SweepStore, grid, run_sweep
from rankcheck.strategies import MatrixCase

ROOT = Path(__file__).resolve().parents[1]
CALLS: list[int] = []
STOP_AT: int | None = None


def counting_case(case: dict) -> dict:
    """Serial-only test function: records its calls, raises SystemExit at ``STOP_AT``."""
    if case["x"] == STOP_AT:
        raise SystemExit("interrupted")
    CALLS.append(case["x"])
    return {"square": case["x"] ** 2, "noise": float(np.random.default_rng(case["x"]).normal())}


def fragile_case(case: dict) -> dict:
    if case["x"] == 2:
        raise ValueError("bad luck at x = 2")
    return {"x2": 2 * case["x"]}


class SlowToConverge(NotConvergedError):
    """A solver's own subclass: still a failure to converge."""


def diverging_case(case: dict) -> dict:
    """Fails to converge (by type), or fails with a message that merely names that type."""
    if case["kind"] == "subclass":
        raise SlowToConverge("gave up after 10 steps")
    if case["kind"] == "imposter":
        raise RuntimeError("rankcheck.errors.NotConvergedError: a message is not a type")
    return {"ok": 1}


def cost_cases(count: int) -> list[dict]:
    return [{**MatrixCase(2, 2, (1.5, 0.5), seed).params(), "depth": 2, "restarts": 1}
            for seed in range(count)]


def test_resume_after_system_exit_gives_the_uninterrupted_rows(tmp_path):
    global STOP_AT
    sweep = Sweep("count", counting_case, grid(x=range(8)))
    reference = run_sweep(sweep, tmp_path / "reference.sqlite", show_progress=False).rows
    CALLS.clear()
    STOP_AT = 5
    try:
        with pytest.raises(SystemExit):
            run_sweep(sweep, tmp_path / "resumed.sqlite", show_progress=False)
    finally:
        STOP_AT = None
    assert CALLS == [0, 1, 2, 3, 4]
    CALLS.clear()
    resumed = run_sweep(sweep, tmp_path / "resumed.sqlite", show_progress=False)
    assert CALLS == [5, 6, 7] and (resumed.ran, resumed.skipped) == (3, 5)
    assert resumed.rows == reference


def test_resume_after_the_process_is_killed(tmp_path):
    database = tmp_path / "killed.sqlite"
    script = textwrap.dedent(f"""
        from rankcheck.proofs_checks.dln import cost_case
        from rankcheck.proofs_checks.sweep import Sweep, run_sweep
        from tests.test_sweep import cost_cases
        run_sweep(Sweep("kill", cost_case, cost_cases(12)), {str(database)!r}, show_progress=False)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        done = 0
        while done < 3 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
            if database.exists():
                with sqlite3.connect(database) as connection:
                    try:
                        done = connection.execute("SELECT COUNT(*) FROM cases").fetchone()[0]
                    except sqlite3.OperationalError:  # table not created yet
                        done = 0
        assert process.poll() is None, "the sweep finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
    sweep = Sweep("kill", cost_case, cost_cases(12))
    resumed = run_sweep(sweep, database, show_progress=False)
    assert resumed.skipped >= 3 and resumed.ran + resumed.skipped == 12
    reference = run_sweep(sweep, tmp_path / "reference.sqlite", show_progress=False)
    assert resumed.rows == reference.rows


def test_executors_give_bit_identical_rows(tmp_path):
    costs = Sweep("costs", cost_case, cost_cases(6))
    trainings = Sweep("train", training_case, [
        {**MatrixCase(3, 3, (2.0, 1.0, 0.01), seed).params(), "depth": 1, "lam": 0.05}
        for seed in range(4)])
    configs = [ExecutorConfig("serial"), ExecutorConfig("processes", 2), ExecutorConfig("dask", 2)]
    for sweep in (costs, trainings):
        rows = [run_sweep(sweep, tmp_path / f"{sweep.name}-{c.kind}.sqlite", c,
                          show_progress=False).rows for c in configs]
        assert rows[0] == rows[1] == rows[2]


def test_failed_case_is_recorded_and_retried(tmp_path):
    sweep = Sweep("fragile", fragile_case, grid(x=[0, 1, 2, 3]))
    result = run_sweep(sweep, tmp_path / "db.sqlite", show_progress=False)
    assert [row.get("x2") for row in result.rows] == [0, 2, None, 6]
    assert len(result.errors) == 1 and "bad luck at x = 2" in result.errors[0]["error"]
    with SweepStore(tmp_path / "db.sqlite") as store:
        assert store.summary()[0]["ok"] == 3 and store.summary()[0]["errors"] == 1
        assert "ValueError" in store.errors()[0][2]
    again = run_sweep(sweep, tmp_path / "db.sqlite", show_progress=False)
    assert (again.ran, again.skipped) == (1, 3)


def test_changed_code_version_reruns(tmp_path):
    first = Sweep("v", fragile_case, grid(x=[0, 1]), version="a")
    run_sweep(first, tmp_path / "db.sqlite", show_progress=False)
    second = Sweep("v", fragile_case, grid(x=[0, 1]), version="b")
    assert run_sweep(second, tmp_path / "db.sqlite", show_progress=False).ran == 2


def test_code_version_follows_the_code_a_case_function_reaches():
    import inspect

    import rankcheck.errors
    import rankcheck.numerics.optim
    import rankcheck.numerics.tensor as solvers
    import rankcheck.numerics.threads
    import rankcheck.validation
    from rankcheck.numerics.tensor import _common, cp, data, hierarchical, locality
    from rankcheck.proofs_checks import device, gnn, tensor
    from rankcheck.proofs_checks.sweep import code_dependencies, code_version

    sources = code_dependencies(tensor.locality_case)
    modules = (solvers, cp, data, hierarchical, locality, _common, rankcheck.validation, rankcheck.errors,
               rankcheck.numerics.optim, rankcheck.numerics.threads, device)  # optim: finite_loss;
    # threads: the solvers' torch_threads; device: RANKCHECK_DEVICE
    expected = {inspect.getsource(module) for module in modules}
    assert set(sources) == expected | {inspect.getsource(tensor.locality_case)}  # the solver's package,
    # and what it imports from the distribution; not the check's plotting code, so a figure can change
    # without rerunning a sweep
    reached = code_dependencies(gnn.cut_off_case)
    assert inspect.getsource(gnn._kept_graph) in reached  # a helper of the same module
    assert inspect.getsource(gnn._removal_order.__wrapped__) in reached  # behind an lru_cache
    assert inspect.getsource(gnn._plot_sparsification) not in reached
    assert code_version(tensor.locality_case) != code_version(tensor.natural_case)
    assert code_dependencies(fragile_case) == [inspect.getsource(fragile_case)]  # outside the distribution


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Sweep("s", fragile_case, []), "empty"),
        (lambda: Sweep("s", fragile_case, [{"x": object()}]), "JSON-serializable"),
        (lambda: Sweep("s", fragile_case, [{"x": math.nan}]), "JSON-serializable"),
        (lambda: Sweep("s", fragile_case, [{"x": 1}, {"x": 1}]), "duplicates"),
        (lambda: Sweep("s", fragile_case, [3]), "must be a dict"),
        (lambda: grid(), "at least one"),
        (lambda: grid(x="abc"), "list of values"),
        (lambda: ExecutorConfig("threads"), "executor"),
        (lambda: ExecutorConfig("processes", 0), "jobs"),
    ],
)
def test_bad_grids_and_executors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_sweeps_cli_summarizes(tmp_path, capsys):
    run_sweep(Sweep("fragile", fragile_case, grid(x=[1, 2])), tmp_path / "sweeps.sqlite",
              show_progress=False)
    assert cli.main(["sweeps", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "fragile" in out and "bad luck" in out
    assert cli.main(["sweeps", str(tmp_path / "missing")]) == 2
    assert cli.main(["run", "dln", "--jobs", "0", "--quiet"]) == 2


def test_loglog_slope_recovers_a_power_law_with_its_interval():
    x = np.array([10.0, 20, 40, 80, 160])
    exact = loglog_slope(x, 3 * x**-1.5)
    assert exact.slope == pytest.approx(-1.5, abs=1e-12)
    noisy = loglog_slope(x, 3 * x**-1.5 * np.exp(np.random.default_rng(0).normal(0, 0.05, 5)))
    assert noisy.low < -1.5 < noisy.high and noisy.high - noisy.low < 0.5
    with pytest.raises(ValueError, match="positive"):
        loglog_slope([1, 2, 3], [1, -1, 2])


def test_mean_sem_and_heatmap(tmp_path):
    rows = [{"n": n, "seed": s, "err": n + s} for n in (1, 2) for s in (0, 1, 2)]
    xs, means, sems, counts = mean_sem(rows, "n", "err")
    assert list(xs) == [1, 2] and list(means) == [2, 3] and list(counts) == [3, 3]
    assert sems[0] == pytest.approx(1 / np.sqrt(3))
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    heatmap(ax, [0, 1, 2], [0, 1], np.arange(6).reshape(2, 3), [([0, 2], [0, 1], "boundary")])
    fig.savefig(tmp_path / "h.png")
    assert (tmp_path / "h.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="shape"):
        heatmap(ax, [0, 1], [0, 1], np.zeros((3, 3)))


def test_control_run_gets_its_own_rows_when_it_asks_for_other_cases(tmp_path):
    # The verdict and control contexts share a memo; a sweep whose cases depend on the prediction
    # (e.g. the method's name) must not hand the verdict's rows to the control run.
    from rankcheck.proofs_checks.context import Context

    memo: dict = {}
    verdict = Context("demo", out_dir=tmp_path, memo=memo)
    control = Context("demo", out_dir=tmp_path, control=True, memo=memo)
    first = verdict.sweep("grid", fragile_case, [{"x": 1}, {"x": 3}]).rows
    second = control.sweep("grid", fragile_case, [{"x": 4}]).rows
    again = control.sweep("grid", fragile_case, [{"x": 1}, {"x": 3}]).rows
    assert [r["x2"] for r in first] == [2, 6]
    assert [r["x2"] for r in second] == [8]
    assert again is first


def test_inconclusive_is_decided_by_the_exception_type_not_its_text(tmp_path):
    from rankcheck.proofs_checks.context import Context, Inconclusive

    ctx = Context("demo", out_dir=tmp_path)
    result = run_sweep(Sweep("types", diverging_case, grid(kind=["subclass", "imposter"])),
                       tmp_path / "types.sqlite", show_progress=False)
    assert [e["error_type"] for e in result.errors] == [
        "tests.test_sweep.SlowToConverge", "builtins.RuntimeError"]
    with pytest.raises(Inconclusive, match="gave up after 10 steps"):
        ctx.sweep("subclass", diverging_case, [{"kind": "subclass"}, {"kind": "fine"}])
    with pytest.raises(RuntimeError, match="a message is not a type"):
        ctx.sweep("imposter", diverging_case, [{"kind": "imposter"}])


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path, capsys):
    run_sweep(Sweep("quiet", fragile_case, grid(x=[0, 1])), tmp_path / "q.sqlite", show_progress=True)
    assert "\r" not in capsys.readouterr().err  # pytest's captured stderr is no terminal

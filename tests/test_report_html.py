"""report.html: rendered by Jinja2 from report.json alone, self-contained, and working in a browser.

The browser test opens the page in headless Chromium (Debian's ``chromium``; ``.ci/run`` installs it
where it can) and reads the DOM after the page's script ran: the table, a figure, a claim section,
and the filter and sort that a link can carry.
"""

import base64
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import rankcheck.proofs_checks as proofs_checks
from rankcheck.proofs_checks import cli
from rankcheck.proofs_checks.figures import subplots
from rankcheck.proofs_checks.html import paper_links, render_html, reproduce_command
from rankcheck.proofs_checks.registry import REGISTRY, claim, load_families
from rankcheck.proofs_checks.report import load_report

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """A report of two toy claims, one passing with a figure and a note, one failing with markup in
    its statement, written by the runner."""
    load_families()
    before = set(REGISTRY)

    def drawn(ctx, predict):
        fig, ax = subplots(figsize=(3, 2))
        ax.plot([0, 1], [0, 1])
        ctx.savefig(fig, "line", judged="the line against the diagonal (atol 1e-9)")
        return ctx.compare("identity", [predict(1.0)], [1.0], rtol=0.0, atol=1e-9, why="exact",
                           note="attained by construction")

    claim("toyhtml.drawn", statement="one is one", source="Someone 2024, arXiv 2106.15933, Fig. 1",
          predict=lambda x: x, broken=lambda x: x + 1, broken_how="adds 1")(drawn)
    claim("toyhtml.wrong", statement="<b>bold</b> & wrong", source="arXiv 2209.15055; arXiv 2209.15055",
          predict=lambda x: x + 1, broken=lambda x: x + 2, broken_how="adds 2")(
        lambda ctx, predict: ctx.compare("off by one", [predict(1.0)], [1.0], rtol=0.0, atol=1e-9,
                                         why="exact"))
    out = tmp_path_factory.mktemp("report")
    try:
        proofs_checks.run(["toyhtml"], out=out)
    finally:
        for key in set(REGISTRY) - before:
            del REGISTRY[key]
    return out


def test_the_page_is_self_contained_and_escaped(report):
    page = (report / "report.html").read_text()
    assert not re.search(r"<(script|img|link|iframe)[^>]+(src|href)=\"(https?:)?//", page), \
        "nothing is fetched from the network"
    assert "<link" not in page
    png = (report / "figures" / "toyhtml.drawn.line.png").read_bytes()
    assert f"data:image/png;base64,{base64.b64encode(png).decode()}" in page
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; wrong" in page and "<b>bold</b>" not in page
    assert "rankcheck run toyhtml.drawn --profile quick --seed 0" in page
    assert "Judged:</strong> the line against the diagonal (atol 1e-9)" in page
    assert "attained by construction" in page
    assert page.count('href="https://arxiv.org/abs/2209.15055"') == 1  # one link per paper
    assert 'id="claim-toyhtml-drawn"' in page and 'id="claim-toyhtml-wrong"' in page


def test_markdown_and_terminal_tables_flag_a_noted_ratio(report):
    markdown = (report / "report.md").read_text()
    assert "| toyhtml.drawn | pass | caught | 0 † |" in markdown
    assert "† toyhtml.drawn: attained by construction" in markdown


def test_the_page_is_rebuilt_from_report_json_alone(report, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(report, copy)
    original = (copy / "report.html").read_text()
    (copy / "report.html").unlink()
    (copy / "report.md").unlink()
    assert cli.main(["report", str(copy)]) == 0
    assert (copy / "report.html").read_text() == original
    assert (copy / "report.md").exists()
    shutil.rmtree(copy / "figures")  # a missing figure is named, not an error
    cli.main(["report", str(copy)])
    assert "is not in the report folder" in (copy / "report.html").read_text()
    assert cli.main(["report", str(tmp_path / "nowhere")]) == 2
    assert "no report.json" in capsys.readouterr().err


def test_render_without_figures_and_helpers():
    meta, verdicts = {"profile": "quick", "seed": 3}, []
    text = " ".join(render_html(meta, verdicts, Path(".")).split())
    assert "0 pass, 0 fail, 0 inconclusive of 0 claims" in text and "seed 3" in text
    assert paper_links("Jacot 2022, arXiv 2209.15055; arXiv:2106.15933") == [
        {"label": "arXiv 2209.15055", "url": "https://arxiv.org/abs/2209.15055"},
        {"label": "arXiv 2106.15933", "url": "https://arxiv.org/abs/2106.15933"}]


def test_reproduce_command_reruns_the_same_verdict(report):
    _, verdicts = load_report(report)
    command = reproduce_command(verdicts[0]).split()
    args = cli.build_parser().parse_args(command[1:])
    assert (args.ids, args.profile, args.seed) == (["toyhtml.drawn"], "quick", 0)


def _browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def _chromium(*args: str) -> subprocess.CompletedProcess:
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium on PATH (Debian: apt-get install chromium; .ci/run installs it "
                    "when it runs as root with apt-get)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--hide-scrollbars"]
    return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=120)


def test_the_page_renders_in_headless_chromium(report):
    url = (report / "report.html").as_uri()
    shot = report / "screenshot.png"
    _chromium("--window-size=1200,1600", f"--screenshot={shot}", url)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    dom = _chromium("--dump-dom", url).stdout
    assert "2 of 2 claims shown" in dom, "the page's script ran"
    assert dom.count('class="claim-row"') == 2
    assert re.search(r'<img alt="figures/toyhtml\.drawn\.line\.png" src="data:image/png;base64,', dom)
    assert '<section class="claim" id="claim-toyhtml-wrong">' in dom


def test_a_link_carries_a_filter_and_a_sort(report):
    url = (report / "report.html").as_uri()
    dom = _chromium("--dump-dom", url + "?status=fail").stdout
    assert "1 of 2 claims shown" in dom
    rows = re.findall(r'<tr class="claim-row"[^>]*data-claim="([^"]+)"[^>]*?(hidden="")?>', dom)
    assert dict(rows) == {"toyhtml.drawn": "hidden=\"\"", "toyhtml.wrong": ""}
    dom = _chromium("--dump-dom", url + "?sort=claim&order=descending").stdout
    order = re.findall(r'<tr class="claim-row"[^>]*data-claim="([^"]+)"', dom)
    assert order == ["toyhtml.wrong", "toyhtml.drawn"]
    assert 'data-key="claim" data-type="text" aria-sort="descending"' in dom

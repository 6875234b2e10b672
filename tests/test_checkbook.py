"""The browser check on a tiny book built with the project's own configuration: one
clean page, which must pass, and one page with every defect the check knows, each of
which it must name."""

import base64
import contextlib
import io
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from geosurvey import display, plots
from tools import checkbook

ROOT = Path(__file__).resolve().parents[1]
needs_chromium = pytest.mark.skipif(
    checkbook.find_chromium() is None,
    reason="no Chromium installed (Debian: apt-get install -y chromium), so no page "
    "can be loaded; the check itself then says it was skipped",
)
CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def _figure(width) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    fig, ax = plots.figure(width, 2.5)
    ax.plot([1, 2, 3], [3, 1, 2], label="a method")
    ax.set_xlabel("distance (km)")
    ax.legend()
    return nbformat.v4.new_output(
        "display_data", data={"image/png": _png(fig), "text/plain": "<Figure>"}
    )


def _repr() -> dict:
    """What a cell ending in a plotting call displays."""
    text = "[<matplotlib.lines.Line2D at 0x7f53485f1c90>]"
    return nbformat.v4.new_output(
        "execute_result", data={"text/plain": text}, execution_count=1
    )


def _markdown(text: str) -> dict:
    return nbformat.v4.new_output("display_data", data={"text/markdown": text})


def _html(df: pd.DataFrame) -> dict:
    return nbformat.v4.new_output(
        "display_data", data={"text/html": df.to_html(), "text/plain": df.to_string()}
    )


def _clean() -> nbformat.NotebookNode:
    """A chapter's widest kind of table: 7 metrics of 4 methods (one metric missing),
    formatted by :func:`geosurvey.display.table`, which the stylesheet must fit in the
    column."""
    columns = ["acc@1km", "acc@25km", "acc@200km", "acc@750km", "acc@2500km"]
    methods = [
        "prior (densest cell)",
        "random training location",
        "raw-pixel k-NN (16x16)",
    ]
    methods.append("frozen tf_efficientnet_lite0 k-NN")
    values = np.random.default_rng(0).uniform(0, 100, (4, 5))
    metrics = pd.DataFrame(values, columns=columns, index=methods).assign(
        median_km=[6076.2, 7163.9, 6385.1, 938.5],
        geoscore=[1351.2, 727.0, 1101.9, np.nan],
    )
    glued = nbformat.v4.new_output(
        "display_data",
        data={"application/papermill.record/text/plain": "'41.3'"},
        metadata={
            "scrapbook": {"name": "acc", "mime_prefix": "application/papermill.record/"}
        },
    )
    cells = [
        nbformat.v4.new_markdown_cell(
            "# Clean\n\nA hit when $d \\le t$, as in {cite}`haas2024pigeon`; "
            "accuracy {glue:text}`acc` %, drawn in {numref}`fig-clean`."
            "\n\n$$\nd = 2R \\arcsin \\sqrt{h}\n$$\n\n```{bibliography}\n```"
        ),
        nbformat.v4.new_code_cell("x = 1", outputs=[glued]),
        nbformat.v4.new_code_cell("table", outputs=[_html(display.table(metrics))]),
        nbformat.v4.new_code_cell(  # p-values keep two significant digits
            "p-values",
            outputs=[
                _html(
                    pd.DataFrame(
                        {"p": ["0.058"], "verdict": ["Holm p 0.0016"]},
                        index=pd.Index([1], name="i"),  # a second header row
                    )
                )
            ],
        ),
        nbformat.v4.new_code_cell(
            "fig",
            outputs=[_figure("column")],
            metadata={
                "mystnb": {"figure": {"name": "fig-clean", "caption": "A line."}}
            },
        ),
    ]
    return nbformat.v4.new_notebook(cells=cells)


def _defects() -> nbformat.NotebookNode:
    wide = pd.DataFrame(
        np.arange(60.0).reshape(2, 30) + 0.123456,
        columns=[f"a long column name {i}" for i in range(30)],
    )
    wide.iloc[0, 0] = np.nan
    stderr = nbformat.v4.new_output(
        "stream", name="stderr", text="UserWarning: something went wrong\n"
    )
    error = nbformat.v4.new_output(
        "error",
        ename="ValueError",
        evalue="bad",
        traceback=["Traceback (most recent call last)", "ValueError: bad"],
    )
    cells = [
        nbformat.v4.new_markdown_cell(
            "# Defects\n\nTypeset math $x^2$, raw TeX \\$\\alpha + \\beta\\$, "
            "a key as text haas2024pigeon, a citation of a missing key "
            "{cite}`nosuchkey2099`, glue never glued {glue:text}`missing`, a "
            "figure that does not exist {numref}`fig-none`."
            '\n\n<img src="missing.png" alt="gone">\n'
        ),
        nbformat.v4.new_code_cell("wide", outputs=[_html(wide)]),
        nbformat.v4.new_code_cell(
            "x = " + " + ".join(["value"] * 30), outputs=[stderr]
        ),
        nbformat.v4.new_code_cell("raise ValueError('bad')", outputs=[error]),
        nbformat.v4.new_code_cell("ax.plot(x)", outputs=[_repr()]),
        nbformat.v4.new_code_cell("fig", outputs=[_figure(11.0)]),
        nbformat.v4.new_code_cell(  # generated text cannot hold a role
            "say(text)",
            outputs=[_markdown("drawn in {numref}`fig-clean` as it is")],
        ),
        nbformat.v4.new_code_cell(
            "say(verdict)", outputs=[_markdown("a verdict: {term}`seed-dependent`")]
        ),
    ]
    return nbformat.v4.new_notebook(cells=cells)


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    """The tiny book, rendered; its defects page loads MathJax from a CDN, as the book
    did."""
    src = tmp_path_factory.mktemp("book")
    for name in ("_config.yml", "references.bib"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "book" / "_static", src / "book" / "_static")
    (src / "_toc.yml").write_text(
        "format: jb-book\nroot: book/clean\nchapters:\n  - file: book/defects\n"
    )
    nbformat.write(_clean(), src / "book" / "clean.ipynb")
    nbformat.write(_defects(), src / "book" / "defects.ipynb")
    jb = Path(sys.executable).with_name("jupyter-book")
    subprocess.run(
        [str(jb), "build", str(src), "--path-output", str(src), "--keep-going"],
        check=True,
        capture_output=True,
    )
    html = src / "_build" / "html"
    page = html / "book" / "defects.html"
    local = 'src="../_static/mathjax/tex-chtml.js"'
    assert local in page.read_text(), "MathJax is not served from the built site"
    page.write_text(page.read_text().replace(local, f'src="{CDN}"'))
    return html


@pytest.fixture(scope="module")
def checked(book, tmp_path_factory) -> tuple:
    """``(exit status, what the check printed, screenshot folder)`` on the tiny book."""
    screens = tmp_path_factory.mktemp("screens")
    with contextlib.redirect_stdout(io.StringIO()) as out:
        status = checkbook.run(book, screens, bib=ROOT / "references.bib")
    return status, out.getvalue(), screens


def _found(out: str, page: str, kind: str) -> str:
    prefix = f"FAIL book/{page}.html [{kind}] "
    return "\n".join(line for line in out.splitlines() if line.startswith(prefix))


@needs_chromium
def test_a_clean_page_passes(checked):
    status, out, _ = checked
    assert status == 1  # the defects page fails the book
    assert "FAIL book/clean.html" not in out
    assert "2 of 3 equations typeset" in out  # clean's two, not the defects page's one
    assert "content column 676 px" in out


@needs_chromium
def test_every_defect_is_named(checked):
    out = checked[1]
    assert _found(out, "defects", "network").endswith(f"page: {CDN}")
    math = _found(out, "defects", "math")
    assert "not typeset: \\(x^2\\)" in math and "raw TeX: " in math
    assert "did not load: missing.png" in _found(out, "defects", "image")
    shown = _found(out, "defects", "reference")
    assert "role shown as text: drawn in {numref}" in shown
    assert "role shown as text: a verdict: {term}" in shown
    width = _found(out, "defects", "width")
    assert "table 1 in " in width and "it has 676 px" in width
    assert "code block 2 in " in width and "longest line: 241 characters" in width
    assert "1111 px wide, shown at 676 px (scaled to 61 %" in width
    number = _found(out, "defects", "number")
    assert "show NaN" in number and 'more than 2 decimals, e.g. "1.123456"' in number
    output = _found(out, "defects", "output")
    assert "UserWarning: something went wrong" in output and "Traceback" in output
    assert "a Python repr: [<matplotlib.lines.Line2D at 0x7f53485f1c90>]" in output
    assert "nothing was glued as 'missing'" in _found(out, "defects", "glue")
    citation = _found(out, "defects", "citation")
    assert "citation key haas2024pigeon shown as text" in citation
    assert (
        "cites 'nosuchkey2099'" in citation
        and 'links to no reference: "[]"' in citation
    )
    figure = _found(out, "defects", "figure")
    assert "image 2 in " in figure and "without a number and a caption" in figure
    assert "resolves to nothing: fig-none" in figure
    assert "failures by kind: 20 (" in out


@needs_chromium
def test_every_page_has_a_full_page_screenshot(checked):
    screens = checked[2]
    shots = sorted(p.relative_to(screens).as_posix() for p in screens.rglob("*.png"))
    assert shots == ["book/clean.png", "book/defects.png", "genindex.png", "search.png"]
    with Image.open(screens / "book" / "clean.png") as shot:
        assert shot.size[0] == 1280 and shot.size[1] > checkbook.WINDOW[1]


@needs_chromium
def test_the_full_page_screenshot_shows_the_page_where_the_window_does(book, tmp_path):
    """The page title is where the browser lays it out in a 1280-px window, not in a
    shifted or cropped layout."""
    page = book / "book" / "clean.html"
    with checkbook.Browser(checkbook.find_chromium()) as browser:
        checkbook.check_page(
            browser, book, page, keys=[], screenshot=tmp_path / "a.png"
        )
        box = browser.send(
            "Runtime.evaluate",
            expression="(() => { const r = document.querySelector('article h1')"
            ".getBoundingClientRect(); return [r.left, r.top, r.bottom]; })()",
            returnByValue=True,
        )["result"]["value"]
    with Image.open(tmp_path / "a.png") as full:
        band = np.asarray(full.convert("L"))[int(box[1]) : int(box[2])]
    near = band[:, int(box[0]) - 60 : int(box[0]) + 300]  # from the sidebar's edge on
    first_ink = np.flatnonzero((near < 128).any(axis=0))
    assert len(first_ink) and abs(first_ink[0] - 60) < 25, (first_ink[:1], box)


def test_without_chromium_the_check_says_it_was_skipped(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert checkbook.run(tmp_path, tmp_path) == 0
    assert "check-book: SKIPPED, no Chromium found" in capsys.readouterr().out

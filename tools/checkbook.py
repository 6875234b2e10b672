"""The rendered book as a reader sees it: every page in headless Chromium, offline.

    python -m tools.checkbook [--html _build/html] [--screens build/screens]
                         [--bib references.bib]

Each page is loaded at a 1280-px window with every request off the machine refused, as
on a machine without internet; once MathJax has typeset it, ``checkbook.js`` lists what
is wrong on it, by kind:

* ``math``: an equation MathJax did not typeset, or TeX left as text;
* ``image``: an image that did not load;
* ``width``: a table, code block, figure or image wider than the content column (inside
  a scrolling wrapper too), or a figure shown scaled down (its text shrinks with it);
* ``number``: a table cell showing NaN or a number with more than 2 decimals (a p-value,
  in a column headed p or after "p", keeps two significant digits: 0.058);
* ``output``: a traceback, a warning, stderr or a bare Python repr in a cell's output;
* ``figure``: a cell's figure without a number and a caption, or a figure reference
  that resolves to nothing;
* ``glue``, ``citation``: a glue role nothing was glued for, a citation that links
  nowhere or cites a key the bibliography lacks, a bibliography key shown as text;
* ``reference``: a cross-reference role shown as text (generated text cannot hold
  one: a glued sentence's ``{numref}`` is never resolved);
* ``build``: any other build problem shown on the page;
* ``network``: a request for anything not in the built site.

A full-page screenshot of each page goes to ``--screens`` (PNG, same relative path).
Exit status 1 when anything was found; 0, and a line saying the check was skipped, when
no Chromium is installed (Debian: ``apt-get install -y chromium``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

from geosurvey.files import atomic_path

WINDOW = (1280, 900)
MAX_SHOT = 40000  # taller pages are cut there
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
LOCAL = ("file:", "data:", "blob:", "about:")
_START_S = 30  # for the browser to open its debugging port
_PAGE_S = 60  # for one page to load and be checked


def find_chromium() -> str | None:
    """The first Chromium-like browser on the PATH, or None."""
    return next(filter(None, map(shutil.which, BROWSERS)), None)


def pages(html: Path) -> list[Path]:
    """Every rendered page under ``html``, but the theme's own folders and redirects."""
    found = [
        p
        for p in sorted(html.rglob("*.html"))
        if not p.relative_to(html).parts[0].startswith("_") and not _is_redirect(p)
    ]
    if not found:
        raise FileNotFoundError(
            f"no HTML pages under {html}: build the book first (make book)"
        )
    return found


def _is_redirect(page: Path) -> bool:
    """A page that only sends the browser on (the book's index.html)."""
    return bool(
        re.search(r'<meta http-equiv="refresh"', page.read_text()[:2000], re.IGNORECASE)
    )


def bib_keys(bib: Path | None) -> list[str]:
    """The citation keys of a BibTeX file (none without one)."""
    if bib is None or not bib.exists():
        return []
    return re.findall(
        r"^\s*@\w+\s*\{\s*([^,\s]+)\s*,", bib.read_text(), flags=re.MULTILINE
    )


class Browser:
    """Headless Chromium driven over its DevTools protocol: one tab, and requests off
    the machine refused."""

    def __init__(self, executable: str):
        import websocket

        # the browser's helper processes may still write there a moment after it quit
        self._profile = tempfile.TemporaryDirectory(
            prefix="geosurvey-chromium-", ignore_cleanup_errors=True
        )
        self._process = subprocess.Popen(
            [
                executable,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-port=0",
                f"--user-data-dir={self._profile.name}",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = self._page_socket(Path(self._profile.name) / "DevToolsActivePort")
            self._socket = websocket.create_connection(
                url, timeout=_PAGE_S, suppress_origin=True
            )
        except BaseException:
            self.close()
            raise
        self._id = 0
        self.events: list[dict] = []
        for domain in ("Page", "Network", "Runtime"):
            self.send(f"{domain}.enable")

    def _page_socket(self, port_file: Path) -> str:
        """The websocket address of the browser's first tab, once it listens."""
        deadline = time.monotonic() + _START_S
        while not port_file.exists() or not port_file.read_text().strip():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"Chromium did not start (exit status {self._process.poll()})"
                )
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as response:
            tabs = json.load(response)
        return next(t["webSocketDebuggerUrl"] for t in tabs if t["type"] == "page")

    def send(self, method: str, **params) -> dict:
        """Call one protocol method and return its result; events meanwhile are kept."""
        self._id += 1
        self._socket.send(
            json.dumps({"id": self._id, "method": method, "params": params})
        )
        while True:
            message = json.loads(self._socket.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error'].get('message')}")
                return message["result"]
            self.events.append(message)

    def wait_for(self, event: str) -> None:
        """Read messages until ``event`` arrives (it may have already)."""
        while not any(m.get("method") == event for m in self.events):
            self.events.append(json.loads(self._socket.recv()))

    def close(self) -> None:
        """Ask the browser to quit (it flushes its profile), stop it if it does not."""
        if getattr(self, "_socket", None) is not None:
            import websocket

            with contextlib.suppress(
                OSError, RuntimeError, websocket.WebSocketException
            ):
                self.send("Browser.close")  # it may quit before it answers
            self._socket.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._profile.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def check_page(
    browser: Browser, html: Path, page: Path, *, keys: list[str], screenshot: Path
) -> dict:
    """Load ``page`` of the book under ``html``, run ``checkbook.js`` on it and save a
    full-page screenshot; returns the script's report, with a ``network`` finding for
    each request off the machine and the findings of :func:`unresolved_references`."""
    browser.events.clear()
    browser.send("Page.navigate", url=page.resolve().as_uri())
    browser.wait_for("Page.loadEventFired")
    result = browser.send(
        "Runtime.evaluate",
        expression=f"({_script()})({json.dumps(keys)})",
        awaitPromise=True,
        returnByValue=True,
    )
    if "exceptionDetails" in result:
        raise RuntimeError(
            f"{page}: the check script failed: {result['exceptionDetails']}"
        )
    report = result["result"]["value"]
    report["findings"] += unresolved_references(html, page, keys)
    for url in _requests_off_the_machine(browser.events):
        report["findings"].append({"kind": "network", "where": "page", "message": url})
    shot = _full_page(browser, report["height"])
    with atomic_path(screenshot) as tmp:
        tmp.write_bytes(base64.b64decode(shot["data"]))
    return report


def _full_page(browser: Browser, height: int) -> dict:
    """A screenshot of the whole page: the window is made as tall as the page (the
    theme lays the page out for the window it has; a clip beyond the window shows a
    shifted layout), captured, then given back its size."""
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        width=WINDOW[0],
        height=min(max(height, WINDOW[1]), MAX_SHOT),
        deviceScaleFactor=1,
        mobile=False,
    )
    try:
        return browser.send("Page.captureScreenshot", format="png")
    finally:
        browser.send("Emulation.clearDeviceMetricsOverride")


def unresolved_references(html: Path, page: Path, keys: list[str]) -> list[dict]:
    """What the HTML cannot show, read from ``page``'s notebook (the copy the build
    keeps under ``_sources``; none for a markdown page): a ``glue`` finding for each
    glue role or directive whose key no output of the notebook it names glued (the page
    shows nothing there), a ``citation`` finding for each cited key missing from the
    bibliography ``keys``, when there are any (the page shows empty brackets)."""
    source = (html / "_sources" / page.relative_to(html)).with_suffix(".ipynb")
    where = f"source {source.relative_to(html / '_sources')}"
    cells = _cells(source)
    markdown = "\n".join(
        "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
    )
    findings = []
    for ref in _glue_references(markdown):
        doc, _, key = ref.rpartition("::")
        glued = _glued_keys(_cells(source.parent / f"{doc}.ipynb") if doc else cells)
        if key not in glued:
            message = f"nothing was glued as {ref!r}: the page shows nothing there"
            findings.append({"kind": "glue", "where": where, "message": message})
    for key in _cited_keys(markdown) if keys else []:
        if key not in keys:
            message = f"cites {key!r}, which the bibliography does not hold"
            findings.append({"kind": "citation", "where": where, "message": message})
    return findings


_CITE_ROLE = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")


def _cited_keys(markdown: str) -> list[str]:
    return [k.strip() for keys in _CITE_ROLE.findall(markdown) for k in keys.split(",")]


_GLUE_ROLE = re.compile(r"\{glue(?::(\w+))?\}`([^`]+)`")
_GLUE_DIRECTIVE = re.compile(r"^[`:]{3,}\{glue(?::\w+)?\}[ \t]+(\S+)", re.MULTILINE)


def _glue_references(markdown: str) -> list[str]:
    """``[doc::]key`` of every glue role and directive in ``markdown``."""
    refs = []
    for role, text in _GLUE_ROLE.findall(markdown):
        doc, sep, key = text.rpartition("::")
        if role == "text":
            key = key.split(":")[0]  # {glue:text}`key:.1f`: a format follows the key
        refs.append(doc + sep + key)
    return refs + _GLUE_DIRECTIVE.findall(markdown)


def _cells(notebook: Path) -> list[dict]:
    """The cells of a notebook of the built site, none when it is not there."""
    return json.loads(notebook.read_text())["cells"] if notebook.exists() else []


def _glued_keys(cells: list[dict]) -> set[str]:
    """The names the outputs of ``cells`` glued."""
    return {
        o.get("metadata", {}).get("scrapbook", {}).get("name")
        for c in cells
        for o in c.get("outputs", [])
    }


@functools.cache
def _script() -> str:
    return (Path(__file__).parent / "checkbook.js").read_text()


def _requests_off_the_machine(events: list[dict]) -> list[str]:
    """The addresses a page asked for that are not files of the built site."""
    urls = (
        m["params"]["request"]["url"]
        for m in events
        if m.get("method") == "Network.requestWillBeSent"
    )
    return sorted({u for u in urls if not u.startswith(LOCAL)})


def run(html: Path, screens: Path, *, bib: Path | None = None) -> int:
    """Check every page of the book under ``html``, print each finding and a summary;
    returns the exit status (0: nothing found, or no browser; 1: findings)."""
    executable = find_chromium()
    if executable is None:
        print(
            "check-book: SKIPPED, no Chromium found (looked for "
            f"{', '.join(BROWSERS)}; on Debian: apt-get install -y chromium); "
            "the rendered pages were not checked"
        )
        return 0
    t0 = time.perf_counter()
    keys, reports = bib_keys(bib), {}
    with Browser(executable) as browser:
        for page in pages(html):
            name = page.relative_to(html)
            shot = screens / name.with_suffix(".png")
            reports[name] = check_page(browser, html, page, keys=keys, screenshot=shot)
            for f in reports[name]["findings"]:
                print(f"FAIL {name} [{f['kind']}] {f['where']}: {f['message']}")
    print(summary(reports, seconds=time.perf_counter() - t0, screens=screens))
    return 1 if any(r["findings"] for r in reports.values()) else 0


def summary(reports: dict, *, seconds: float, screens: Path) -> str:
    """What was checked, and the findings per kind and per page (most first)."""
    counts = Counter()
    for r in reports.values():
        counts.update(r["counts"])
    column = Counter(r["column"] for r in reports.values()).most_common(1)[0][0]
    checked = (
        f"check-book: {len(reports)} pages at {WINDOW[0]} px in {seconds:.1f} s; "
        f"{counts['typeset']} of {counts['equations']} equations typeset, "
        f"{counts['tables']} tables, {counts['images']} images, "
        f"{counts['code']} code blocks; content column {column} px; "
        f"screenshots in {screens}"
    )
    by_page = {p: Counter(f["kind"] for f in r["findings"]) for p, r in reports.items()}
    kinds = sum(by_page.values(), Counter())
    if not kinds:
        return f"{checked}\nfailures: none"
    lines = [checked, "failures by kind: " + _counts(kinds) + "; by page:"]
    for page, c in sorted(by_page.items(), key=lambda item: -item[1].total()):
        if c:
            lines.append(f"  {page}: {_counts(c)}")
    return "\n".join(lines)


def _counts(kinds: Counter) -> str:
    return (
        f"{kinds.total()} ("
        + ", ".join(f"{k} {n}" for k, n in kinds.most_common())
        + ")"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tools.checkbook",
        description="check every rendered page in headless Chromium at 1280 px",
    )
    parser.add_argument("--html", default="_build/html", help="the rendered book")
    parser.add_argument(
        "--screens",
        default="build/screens",
        help="folder for a screenshot of each page",
    )
    parser.add_argument(
        "--bib", default="references.bib", help="its keys must not show as plain text"
    )
    args = parser.parse_args(argv)
    raise SystemExit(run(Path(args.html), Path(args.screens), bib=Path(args.bib)))


if __name__ == "__main__":
    main()

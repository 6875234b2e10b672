"""Write the appendix that quotes where each claim comes from (``book/sources.md``)::

    python -m tools.sources [--seeds ../shared/seeds] [-o book/sources.md]

A claim's source names a survey and the lines of its text that state it ("Wu 2025,
line 226"). This reads those lines from the surveys' plain-text copies and writes
them, with the section they stand in and the claims that cite them, so a reader can
find each one in any copy of the survey. ``tests/test_book_pages.py`` checks that the
page is current and quotes every source a claim names.
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from pathlib import Path

import nbformat

from geosurvey.chapters.registry import CHAPTERS

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
PAGE = ROOT / "book" / "sources.md"
SURVEYS = {"Falde": "001", "Wu": "002", "Lo": "003"}  # author: their text's prefix
CITED = re.compile(  # also across a line break of a chapter's text
    rf"(?P<author>{'|'.join(SURVEYS)}) (?P<year>\d{{4}}),\s+lines?\s+(?P<a>\d+)"
    r"(?:-(?P<b>\d+))?"
)
HEADING = re.compile(
    r"^(#+ .+|Table \d+\..+|\d+(\.\d+)*\.? [A-Z][^.]{2,90}|[A-Z][\w ,'&-]{2,60}:?)$"
)
INTRO = """\
# Appendix: sources of the claims

Every claim a chapter judges names where it comes from: one of the three surveys this
book reproduces, {cite}`falde2025survey`, {cite}`wu2025twostage` and
{cite}`lo2025scene`, and the lines of its text that state it, or "this book" for a
question the book asks itself (a floor, a control, an ingredient no survey isolates);
the chapters' text cites further lines. Line numbers count the lines of each survey's
plain text; each passage is quoted below with the section or table it stands in, so
that it can be found in any copy.
"""


def cited() -> dict:
    """``{(author, year, first, last): [(chapter spec, claim text or None), ...]}`` of
    every claim whose source names survey lines, and of every chapter whose text cites
    survey lines (``None``: the chapter's text)."""
    out = defaultdict(list)
    for spec in CHAPTERS.values():
        for claim in spec.claims:
            if m := CITED.match(claim.source):
                out[_key(m)].append((spec, claim.text))
        cells = nbformat.read(ROOT / "book" / f"{spec.notebook}.ipynb", as_version=4)
        text = "\n".join(c.source for c in cells.cells if c.cell_type == "markdown")
        for key in dict.fromkeys(map(_key, CITED.finditer(text))):
            out[key].append((spec, None))
    return dict(sorted(out.items()))


def _key(m) -> tuple:
    first = int(m["a"])
    return m["author"], m["year"], first, int(m["b"] or first)


def _text(author: str, seeds: Path) -> list[str]:
    (path,) = seeds.glob(f"{SURVEYS[author]}_*.txt")
    return path.read_text(encoding="utf-8").splitlines()


def section(lines: list[str], first: int) -> str:
    """The heading or table caption nearest above line ``first`` (1-based)."""
    for line in reversed(lines[: first - 1]):
        if HEADING.match(line.strip()) and not line.startswith("    "):
            return line.strip().lstrip("#").strip().rstrip(":")
    return "the opening"


def passage(lines: list[str], first: int, last: int) -> str:
    """Lines ``first`` to ``last`` as a quotation: table rows with their cells apart,
    under their table's header row."""
    quoted = lines[first - 1 : last]
    if "\t" in quoted[0] and not quoted[0].startswith("Model\t"):
        above = lines[: first - 1]
        quoted = [next(x for x in reversed(above) if x.startswith("Model\t")), *quoted]
    kept = [re.sub(r"</?b>", "", line).strip().replace("\t", " · ") for line in quoted]
    return "\n>\n".join(f"> {line}" for line in kept if line)


def _link(spec) -> str:
    """A link to a chapter: ``chapter 2, PlaNet``."""
    return f"{{doc}}`chapter {spec.label.replace(' ', ', ', 1)} <{spec.notebook}>`"


def page(seeds: Path) -> str:
    parts = [INTRO]
    for (author, year, first, last), claims in cited().items():
        lines = _text(author, seeds)
        where = f"line {first}" if first == last else f"lines {first}-{last}"
        parts.append(f"## {author} {year}, {where}\n")
        parts.append(
            f"In *{section(lines, first)}*:\n\n{passage(lines, first, last)}\n"
        )
        said = "\n".join(
            f"- {text} ({_link(spec)})" if text else f"- the text of {_link(spec)}"
            for spec, text in claims
        )
        parts.append(f"Cited by:\n\n{said}\n")
    return "\n".join(parts)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=Path, default=SEEDS)
    parser.add_argument("-o", "--output", type=Path, default=PAGE)
    args = parser.parse_args(argv)
    args.output.write_text(page(args.seeds), encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

"""What the book tools write into the rendered pages: the appendix quoting each claim's
source (``tools.sources``) and a chapter's run parameters (``tools.book``)."""

import pytest

from tools import sources


def test_every_survey_line_a_claim_cites_is_quoted_in_the_appendix():
    page = sources.PAGE.read_text()
    cited = sources.cited()
    assert len(cited) >= 12  # the three surveys' claims
    # a line the text of a chapter cites, across a line break, is quoted too
    assert cited["Lo", "2025", 219, 219][0][1] is None
    for author, year, first, last in cited:
        where = f"line {first}" if first == last else f"lines {first}-{last}"
        assert f"## {author} {year}, {where}\n" in page, (author, first)


@pytest.mark.skipif(not sources.SEEDS.is_dir(), reason="the surveys' texts are absent")
def test_the_appendix_is_current_with_the_claims_and_the_surveys():
    assert sources.PAGE.read_text() == sources.page(sources.SEEDS), (
        "run python -m tools.sources"
    )


def test_a_passage_is_quoted_with_its_section_and_a_table_row_with_its_header():
    lines = [
        "## 2. Methods",
        "Some text.",
        "Table 2. Errors",
        "Model\tBest k\tMedian",
        "ResNet\t10\t<b>120.5</b>",
        "ViT\t1\t99.1",
    ]
    assert sources.section(lines, 2) == "2. Methods"
    assert sources.section(lines, 5) == "Table 2. Errors"
    quoted = sources.passage(lines, 5, 5)
    assert quoted == "> Model · Best k · Median\n>\n> ResNet · 10 · 120.5"


def test_a_rendered_chapter_shows_its_run_parameters_folded_and_not_its_defaults(
    tmp_path,
):
    import nbformat

    from tools import book

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell('profile = "ci"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            'profile = "full"', metadata={"tags": ["injected-parameters"]}
        ),
        nbformat.v4.new_code_cell("x = 1"),
    ]
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nb, path)
    book.show_run_parameters_only(path)
    tags = [c.metadata.get("tags", []) for c in nbformat.read(path, as_version=4).cells]
    assert tags == [
        ["parameters", "remove-cell"],
        ["injected-parameters", "hide-input"],
        [],
    ]

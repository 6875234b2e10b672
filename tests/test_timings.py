"""Spans of wall time count each second once: a span's own time excludes the spans
opened inside it, and totals reach a file only where ``$GEOSURVEY_TIMINGS`` says."""

import json
import os
import time

from geosurvey import timings


def test_a_span_counts_its_own_time_and_nested_spans_under_their_path(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(timings, "SECONDS", type(timings.SECONDS)(float))
    monkeypatch.setenv(timings.ENV, str(tmp_path))
    with timings.span("job a"):
        time.sleep(0.05)
        with timings.span("validation"):
            time.sleep(0.1)
        with timings.span("validation"):
            time.sleep(0.1)
    own, inner = timings.SECONDS["job a"], timings.SECONDS["job a/validation"]
    assert 0.2 <= inner < 0.3 and 0.05 <= own < 0.1
    written = json.loads((tmp_path / f"{os.getpid()}.json").read_text())
    assert written == {k: round(v, 3) for k, v in timings.SECONDS.items()}


def test_nothing_is_written_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(timings.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    with timings.span("data"):
        pass
    assert list(tmp_path.iterdir()) == []

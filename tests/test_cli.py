import json

import numpy as np
import pandas as pd
import pytest

from geosurvey import cli


def test_partition_writes_cells_that_cover_the_points(tmp_path, capsys):
    rng = np.random.default_rng(0)
    pts = pd.DataFrame(
        {"y": rng.normal(48.85, 0.5, 400), "x": rng.normal(2.35, 0.5, 400)}
    )
    pts.to_csv(tmp_path / "p.csv", index=False)
    cli.main(
        [
            "partition",
            str(tmp_path / "p.csv"),
            "--lat",
            "y",
            "--lon",
            "x",
            "--tau-max",
            "100",
            "--tau-min",
            "1",
            "-o",
            str(tmp_path / "cells.csv"),
        ]
    )
    cells = pd.read_csv(tmp_path / "cells.csv", dtype={"token": str})
    summary = json.loads(capsys.readouterr().out.split("wrote")[0])
    assert summary["cells"] == len(cells) and (cells["count"] <= 100).all()
    assert (cells["count"] > 1).all()  # cells with at most tau_min photos are dropped
    assert cells["count"].sum() + summary["dropped photos"] == 400
    from geosurvey import cells as cells_mod
    from geosurvey import s2

    part = cells_mod.adaptive(pts["y"].to_numpy(), pts["x"].to_numpy(), 100, 1)
    assert (
        list(cells["token"]) == s2.to_token(part.cell_ids)
        and list(cells["count"]) == part.counts.tolist()
    )


def test_evaluate_prints_metrics_and_names_bad_input(tmp_path, capsys):
    pd.DataFrame(
        {
            "pred_lat": [48.85, 0.0],
            "pred_lon": [2.35, 0.0],
            "lat": [48.85, 0.0],
            "lon": [2.35, 90.0],
        }
    ).to_csv(tmp_path / "pred.csv", index=False)
    cli.main(["evaluate", str(tmp_path / "pred.csv")])
    assert json.loads(capsys.readouterr().out)["acc@1km"] == 50
    pd.DataFrame({"pred_lat": [1.0], "lat": [1.0], "lon": [2.0]}).to_csv(
        tmp_path / "bad.csv", index=False
    )
    with pytest.raises(SystemExit, match="2"):
        cli.main(["evaluate", str(tmp_path / "bad.csv")])
    err = capsys.readouterr().err
    assert "bad.csv" in err and "pred_lon" in err and "Traceback" not in err


def test_run_finds_one_chapter_by_name_and_lists_them_otherwise():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    assert cli.chapter_notebook(root, "planet").name == "02_planet.ipynb"
    with pytest.raises(ValueError, match="no chapter matches 'pigeonx'.*02_planet"):
        cli.chapter_notebook(root, "pigeonx")
    with pytest.raises(ValueError, match="more than one"):
        cli.chapter_notebook(root, "_")


def test_partition_warns_in_one_line_when_it_leaves_points_out(tmp_path, capsys):
    rng = np.random.default_rng(0)
    pd.DataFrame(  # 60 points about Paris, 86 over the world: a small photo set
        {
            "lat": np.r_[rng.normal(48.85, 0.5, 60), rng.uniform(-60, 70, 86)],
            "lon": np.r_[rng.normal(2.35, 0.5, 60), rng.uniform(-180, 180, 86)],
        }
    ).to_csv(tmp_path / "p.csv", index=False)
    cli.main(["partition", str(tmp_path / "p.csv")])  # defaults: 1000 / 50
    out = capsys.readouterr()
    dropped = json.loads(out.out)["dropped photos"]
    assert dropped > 0 and out.err.count("\n") == 1
    assert (
        f"warning: {dropped} of 146 points" in out.err and "1 cell(s) kept" in out.err
    )
    assert "--tau-min 50" in out.err and "lower --tau-min and --tau-max" in out.err
    pd.DataFrame({"lat": rng.normal(48.85, 0.5, 100), "lon": 2.35}).to_csv(
        tmp_path / "paris.csv", index=False
    )
    cli.main(["partition", str(tmp_path / "paris.csv")])
    assert capsys.readouterr().err == ""  # nothing left out, nothing said


def test_evaluate_refuses_a_predict_output_whose_country_is_the_predicted_one(
    tmp_path, capsys
):
    rows = {
        "path": ["a.jpg", "b.jpg"],
        "pred_lat": [48.85, 40.71],
        "pred_lon": [2.35, -74.0],
        "top_cells": ["48.8,2.3:0.9", "40.7,-74.0:0.8"],
        "lat": [48.85, 51.5],
        "lon": [2.35, -0.12],
    }
    pd.DataFrame({**rows, "country": ["FR", "US"]}).to_csv(
        tmp_path / "old.csv", index=False
    )
    with pytest.raises(SystemExit, match="2"):
        cli.main(["evaluate", str(tmp_path / "old.csv")])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'country' is ambiguous" in err
    assert "pred_country" in err
    # predict's columns as it writes them now, the truth added: one meaning each
    pd.DataFrame(
        {**rows, "pred_country": ["FR", "US"], "country": ["FR", "UK"]}
    ).to_csv(tmp_path / "new.csv", index=False)
    cli.main(["evaluate", str(tmp_path / "new.csv")])
    assert json.loads(capsys.readouterr().out)["country_acc"] == 50


def test_a_failed_run_ends_in_one_line_and_keeps_the_last_good_notebook(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("GEOSURVEY_RESULTS", str(tmp_path / "results"))
    monkeypatch.delenv("GEOSURVEY_RUNS", raising=False)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text(
        "id,latitude,longitude,country\n1,48.85,2.35,Atlantis\n"
    )
    (tmp_path / "data" / "test.csv").write_text("id,latitude,longitude\n2,1,2\n")
    good = tmp_path / "results" / "runs" / "01_data_and_metrics-photos-seed0.ipynb"
    good.parent.mkdir(parents=True)
    good.write_text("the last good run")
    run = ["run", "data", "--profile", "photos", "--device", "cpu"]
    with pytest.raises(SystemExit, match="2"):
        cli.main([*run, "--data-root", str(tmp_path / "data")])
    out = capsys.readouterr().err  # papermill's progress bar, then the error
    err = out.rstrip("\n").rsplit("\n", 1)[-1] + "\n"
    log = good.with_suffix(".failed.log")
    assert "Traceback" not in out and "\r" not in err
    assert err.startswith("geosurvey run: error: 01_data_and_metrics.ipynb: ")
    assert "'Atlantis' (1 row)" in err and str(log) in err
    assert good.read_text() == "the last good run"  # not overwritten
    assert "TableError" in log.read_text() and "Traceback" not in err
    failed = good.with_suffix(".failed.ipynb")  # as far as it ran, beside the good one
    assert "TableError" in failed.read_text()
    assert sorted(p.name for p in good.parent.iterdir()) == sorted(
        [good.name, log.name, failed.name]
    )


def test_doctor_recognises_the_data_roots_given_or_named_by_the_environment(
    tmp_path, monkeypatch
):
    from geosurvey.doctor import _roots

    (tmp_path / "osv").mkdir()
    (tmp_path / "osv" / "train.csv").write_text("id,latitude,longitude\n")
    monkeypatch.setenv("EVAL_ROOT", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    lines = _roots(str(tmp_path / "osv"), None)
    assert lines[0] == f"data_root {tmp_path / 'osv'}: layout osv5m"
    assert "holds no test set layout known here" in lines[1]
    monkeypatch.setenv("DATA_ROOT", str(tmp_path / "nowhere"))
    assert "does not exist" in _roots(None, None)[0]

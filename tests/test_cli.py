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

"""The path a GPU user takes, run on a CPU on tiny real files: photo folders decoded by DataLoader
workers with the trunk streamed (every chapter, end to end), an im2gps-style eval set, multi-process
training with torchrun, and `geosurvey predict` on a user's photos."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import photo

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ["01_data_and_metrics", "02_planet", "03_pigeon", "04_two_stage_vit", "05_scene_networks", "06_comparison"]


@pytest.fixture(scope="module")
def photo_run(osv5m_folder, im2gps_folder, tmp_path_factory):
    """Every chapter executed with the ``photos`` profile on the photo folders (results in a temp dir)."""
    import papermill

    out = tmp_path_factory.mktemp("photo-run")
    env = {"GEOSURVEY_RESULTS": str(out / "results"), "GEOSURVEY_CHECKPOINTS": str(out / "checkpoints"),
           "GEOSURVEY_CACHE": str(out / "cache"), "TQDM_DISABLE": "1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        for chapter in CHAPTERS:
            papermill.execute_notebook(str(ROOT / "book" / f"{chapter}.ipynb"), str(out / f"{chapter}.ipynb"),
                                       parameters={"profile": "photos", "device": "cpu", "data_root": str(osv5m_folder),
                                                   "eval_root": str(im2gps_folder), "seed": 0},
                                       cwd=str(ROOT), kernel_name="python3", progress_bar=False)
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return out


def test_every_chapter_runs_on_a_photo_folder(photo_run):
    for name in ("data_and_metrics", "planet", "pigeon", "two_stage_vit", "scene_networks", "comparison"):
        results = json.loads((photo_run / "results" / f"{name}.json").read_text())
        assert results["profile"] == "photos" and results["n_test"] == 16  # the profile caps the folder's 24
        assert results["failed_assertions"] == []  # the photos profile reports verdicts without asserting them
    eval_methods = [m for m in json.loads((photo_run / "results" / "planet.json").read_text())["methods"]
                    if m.endswith("| eval set")]
    assert eval_methods and all(json.loads((photo_run / "results" / "planet.json").read_text())["methods"][m]["Global"]["n"] == 12
                                for m in eval_methods)


def test_photo_chapters_stream_the_trunk_and_store_no_errors(photo_run):
    for chapter in CHAPTERS:
        nb = json.loads((photo_run / f"{chapter}.ipynb").read_text())
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
                assert "Traceback" not in text and "Error" not in text, (chapter, text[:300])
                assert out.get("name") != "stderr" or not text.strip(), (chapter, "stderr", text[:300])
    scenes = json.loads((photo_run / "results" / "scene_networks.json").read_text())
    assert "Places365" in scenes["scene_source"]  # photos get real Places365 scene labels


def test_profile_sizes_are_upper_bounds_and_a_tiny_split_is_an_error(osv5m_folder, tmp_path):
    from geosurvey import profiles

    cfg = profiles.get("full", device="cpu", data_root=str(osv5m_folder))
    splits = profiles.load_splits(cfg)
    assert {k: len(v) for k, v in splits.items()} == {"train": 81, "val": 9, "test": 24}
    a, b = profiles.load_splits(cfg)["val"].meta["id"], splits["val"].meta["id"]
    first_rows = pd.read_csv(osv5m_folder / "train.csv")["id"].astype(str)[:9]
    assert list(a) == list(b) and sorted(a) != sorted(first_rows)  # a seeded shuffle, not the file's first rows
    photos = profiles.load_splits(profiles.get("photos", device="cpu", data_root=str(osv5m_folder)))
    assert {k: len(v) for k, v in photos.items()} == {"train": 64, "val": 16, "test": 16}  # enough photos: no cut
    with pytest.raises(ValueError, match="the test split has 3 usable images"):
        profiles.load_splits(profiles.get("full", device="cpu", data_root=str(osv5m_folder), sizes={"test": 3}))


def test_torchrun_trains_on_disjoint_shards_and_the_chapter_loads_its_checkpoint(tmp_path):
    env = {**os.environ, "GEOSURVEY_CACHE": str(tmp_path / "cache"), "GEOSURVEY_CHECKPOINTS": str(tmp_path / "ckpt"),
           "GEOSURVEY_SHARD_LOG": str(tmp_path), "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1"}
    sizes = ["--n-train", "240", "--n-val", "40", "--n-test", "40"]
    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "-m", "geosurvey.cli", "fit",
                          "planet", "--level", "middle", "--profile", "ci", "--device", "cpu", *sizes],
                         env=env, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "on 2 process(es)" in out.stdout
    shards = [np.loadtxt(tmp_path / f"rank{r}-epoch0.txt", dtype=int) for r in (0, 1)]
    assert not set(shards[0]) & set(shards[1]) and len(shards[0]) == len(shards[1])
    ckpt = list((tmp_path / "ckpt" / "ci").glob("planet-middle-*.pt"))
    assert len(ckpt) == 1
    mtime = ckpt[0].stat().st_mtime
    # the chapter's own call finds the checkpoint: it returns the trained model without training
    code = ("import geosurvey as gs; cfg = gs.profiles.get('ci', device='cpu', sizes={'train': 240, 'val': 40, 'test': 40});"
            "s = gs.profiles.load_splits(cfg); x = gs.models.inputs(cfg, s); m, h = gs.jobs.planet(cfg, x, 'middle');"
            "print(len(h.epochs), h.best_epoch)")
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    state = torch.load(ckpt[0], weights_only=False)
    assert again.stdout.split() == [str(len(state["history"].epochs)), str(state["history"].best_epoch)]
    assert ckpt[0].stat().st_mtime == mtime and sum(len(s) for s in shards) == len(set(shards[0]) | set(shards[1]))


def test_predict_locates_photos_and_skips_bad_files_by_name(osv5m_folder, tmp_path, monkeypatch):
    from geosurvey import jobs, models, profiles

    env = {**os.environ, "GEOSURVEY_CACHE": str(tmp_path / "cache"), "GEOSURVEY_CHECKPOINTS": str(tmp_path / "ckpt")}
    for k in ("GEOSURVEY_CACHE", "GEOSURVEY_CHECKPOINTS"):
        monkeypatch.setenv(k, env[k])
    cfg = profiles.get("photos", device="cpu", data_root=str(osv5m_folder))
    jobs.planet(cfg, models.inputs(cfg, profiles.load_splits(cfg)), "middle")
    ckpt = next((tmp_path / "ckpt" / "photos").glob("planet-middle-*.pt"))
    good = sorted((osv5m_folder / "images" / "test").glob("*.jpg"))[:3]
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (tmp_path / "notes.txt").write_text("not an image")
    photo(0).convert("CMYK").save(tmp_path / "cmyk.jpg")
    out = subprocess.run([sys.executable, "-m", "geosurvey.cli", "predict", *map(str, good), str(tmp_path / "broken.jpg"),
                          str(tmp_path / "notes.txt"), str(tmp_path / "cmyk.jpg"), "--checkpoint", str(ckpt), "-k", "3",
                          "-o", str(tmp_path / "pred.csv"), "--maps", str(tmp_path / "maps")],
                         env=env, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "skipped" in out.stderr and "broken.jpg" in out.stderr and "notes.txt" in out.stderr
    table = pd.read_csv(tmp_path / "pred.csv")
    assert len(table) == 4 and set(table.columns) >= {"pred_lat", "pred_lon", "country", "top_cells", "scene"}
    assert table["top_cells"].str.count(";").eq(2).all() and table["top1_probability"].between(0, 1).all()
    assert len(list((tmp_path / "maps").glob("*.png"))) == 4

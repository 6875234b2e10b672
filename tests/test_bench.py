"""The benchmarks: the estimate for the full profile, computed from the profile and the
chapters' settings (``make bench`` prints it as ``full_profile_estimate``), and the GPU
benchmark's parts that run on a CPU."""

import pytest

from geosurvey import profiles
from geosurvey.chapters.planet import PlanetSettings
from tools import bench, bench_gpu


def test_the_full_profile_estimate_follows_the_profile_and_planets_settings():
    est = bench.bench_full_profile(decode_per_worker=100.0)
    cfg = profiles.PROFILES["full"]
    # decoding 100 photos/s per worker is far below the GPU's rate: it sets the pace
    assert est["estimated_train_images_per_s"] == pytest.approx(100.0 * cfg.num_workers)
    assert est["gpu_images_per_s_if_fed"] > est["estimated_train_images_per_s"]
    epochs = PlanetSettings.for_profile("full").epochs
    hours = cfg.n_train * epochs / (100.0 * cfg.num_workers) / 3600
    assert est["estimated_hours_per_training"] == pytest.approx(hours)
    assert est["train_gflop_per_image"] > 1.0


def test_the_gpu_bench_says_in_one_line_that_there_is_no_cuda_and_exits_0(
    capsys, monkeypatch
):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    bench.main(["--gpu"])
    out = capsys.readouterr().out
    assert (
        out.count("\n") == 1
        and "no CUDA device here" in out
        and "nothing measured" in out
    )


def test_the_gpu_bench_s_loader_and_flop_count_run_on_a_cpu(tmp_path):
    paths = bench_gpu.write_jpegs(tmp_path, 12, distinct=3)
    # linked, not rewritten
    assert len(paths) == 12 and (tmp_path / "11.jpg").stat().st_nlink == 4
    assert bench_gpu.loader_rate(paths, input_px=32, batch_size=4, workers=0) > 0
    cfg = profiles.get("photos", "cpu")
    # EfficientNet-Lite0 at 128 px
    assert bench_gpu.train_flops_per_image(cfg.backbone, cfg) > 1e8


def test_the_profile_splits_a_chapter_into_kernel_spans_and_the_rest(tmp_path):
    import json

    import nbformat

    from tools import profile

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1"), nbformat.v4.new_code_cell("2")]
    for cell, seconds in zip(nb.cells, (3.0, 5.0)):
        cell.metadata["papermill"] = {"duration": seconds}
    nbformat.write(nb, tmp_path / "ch.ipynb")
    for pid, spans in ((1, {"job a/epochs": 2.0}), (2, {"job a/epochs": 1.0})):
        (tmp_path / f"{pid}.json").write_text(json.dumps(spans))
    spans = profile.read_spans(tmp_path)
    assert spans == {"job a/epochs": 3.0}
    out = profile.chapter_seconds(tmp_path / "ch.ipynb", 10.0, spans)
    assert out == {
        "wall": 10.0,
        "kernel start and papermill": 2.0,
        "job a/epochs": 3.0,
        "figures, maps, tables and prose": 5.0,
    }
    report = {
        "data_s": 1.0,
        "render_s": 4.0,
        "cold": {"01_x": out},
        "warm": {"01_x": {**out, "wall": 6.0, "job a/epochs": 0.0}},
    }
    text = profile.table(report)
    assert "01_x: cold 10.0 s, warm 6.0 s" in text
    assert "rendering the book: 4.0" in text
    assert (
        "job a/epochs                                             3.00     0.00" in text
    )

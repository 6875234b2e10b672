"""Fault injection: what a user gets from tables and photo folders nobody here wrote,
and from runs that die half-way. Each test states the fault and asserts what the user
now sees."""

import io
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import photo
from PIL import Image

from geosurvey import files
from geosurvey.data import read_folder
from geosurvey.data.readers import TooManyBadImages
from geosurvey.data.tables import TableError, read_table


def _folder(tmp_path, n=5, **extra):
    for i in range(n):
        photo(i).save(tmp_path / f"p{i}.jpg")
    df = pd.DataFrame(
        {
            "path": [f"p{i}.jpg" for i in range(n)],
            "lat": np.linspace(40, 50, n),
            "lon": np.linspace(0, 10, n),
            **extra,
        }
    )
    df.to_csv(tmp_path / "meta.csv", index=False)
    return tmp_path / "meta.csv"


# --- tables ---------------------------------------------------------------------------


def test_a_row_with_one_field_more_than_the_header_is_refused_not_shifted(tmp_path):
    # coordinates inside +-90 so a shifted read would pass every range check
    (tmp_path / "p.csv").write_text(
        "pred_lat,pred_lon,lat,lon\n10,20,10,20\n10,20,10,20,5\n"
    )
    with pytest.raises(TableError, match=r"line 3 has 5 fields but the header has 4"):
        read_table(tmp_path / "p.csv", {"lat": "lat", "lon": "lon"})


def test_a_missing_field_names_the_line(tmp_path):
    (tmp_path / "p.csv").write_text("lat,lon,country\n10,20,FR\n11,21\n")
    with pytest.raises(TableError, match=r"line 3 has 2 fields"):
        read_table(tmp_path / "p.csv", {"lat": "lat", "lon": "lon"})


def test_duplicate_ids_are_refused(tmp_path):
    (tmp_path / "p.csv").write_text("id,latitude,longitude\n7,1,1\n8,2,2\n7,3,3\n")
    with pytest.raises(
        TableError, match=r"2 rows share an id, e.g. '7' at line 2, line 4"
    ):
        read_table(
            tmp_path / "p.csv",
            {"id": "id", "latitude": "lat", "longitude": "lon"},
            id_column="id",
        )


@pytest.mark.parametrize(
    "given,expected",
    [
        (["Germany", "france", "United States"], ["DE", "FR", "US"]),
        (["DEU", "FRA", "USA"], ["DE", "FR", "US"]),
        # NA is Namibia, not missing
        (["de", "FR", "NA"], ["DE", "FR", "NA"]),
    ],
)
def test_countries_as_names_iso3_or_iso2_become_iso2(tmp_path, given, expected):
    csv = _folder(tmp_path, n=3, country=given)
    photos = read_folder(csv)
    assert list(photos.meta["country"]) == expected
    assert (photos.meta["continent"] != "Unknown").all()


def test_an_unknown_country_is_an_error_naming_it(tmp_path):
    csv = _folder(tmp_path, n=3, country=["Germany", "Atlantis", "France"])
    with pytest.raises(TableError, match=r"'Atlantis'.*line 3"):
        read_folder(csv)


def test_empty_files_and_header_only_files_are_refused(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(TableError, match="empty"):
        read_table(tmp_path / "empty.csv", {"lat": "lat"})
    (tmp_path / "header.csv").write_text("lat,lon\n")
    with pytest.raises(TableError, match="no rows"):
        read_table(tmp_path / "header.csv", {"lat": "lat"})


def test_a_byte_order_mark_and_windows_line_endings_are_read(tmp_path):
    (tmp_path / "p.csv").write_bytes(
        "\ufefflat,lon\r\n48.85,2.35\r\n51.5,-0.12\r\n".encode("utf-8")
    )
    df = read_table(tmp_path / "p.csv", {"lat": "lat", "lon": "lon"})
    assert list(df.columns) == ["lat", "lon"] and df["lon"].tolist() == [2.35, -0.12]


def test_non_numeric_and_out_of_range_coordinates_name_the_line(tmp_path):
    (tmp_path / "a.csv").write_text("lat,lon\n1,2\nnorth,3\n")
    with pytest.raises(TableError, match=r"'lat' is not a number at line 3"):
        read_table(tmp_path / "a.csv", {"lat": "lat", "lon": "lon"})
    (tmp_path / "b.csv").write_text("lat,lon\n1,2\n95,3\n")
    with pytest.raises(ValueError, match=r"line 3"):
        read_table(tmp_path / "b.csv", {"lat": "lat", "lon": "lon"})


def test_the_command_line_reports_a_bad_csv_in_one_line(tmp_path):
    (tmp_path / "p.csv").write_text(
        "pred_lat,pred_lon,lat,lon\n10,20,10,20\n10,20,10,20,5\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "geosurvey.cli", "evaluate", str(tmp_path / "p.csv")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and out.stdout == ""
    assert (
        out.stderr.count("\n") == 1
        and "line 3 has 5 fields" in out.stderr
        and "Traceback" not in out.stderr
    )


# --- images ---------------------------------------------------------------------------


def _corrupt(tmp_path, n, bad):
    csv = _folder(tmp_path, n=n)
    for i in range(bad):
        data = (tmp_path / f"p{i}.jpg").read_bytes()
        (tmp_path / f"p{i}.jpg").write_bytes(
            data[: len(data) // 3] if i % 2 else b"not an image at all"
        )
    return csv


def test_a_few_corrupt_or_missing_images_are_skipped_and_reported(tmp_path):
    csv = _corrupt(tmp_path, n=100, bad=1)  # 1 % corrupt
    (tmp_path / "p99.jpg").unlink()  # and one missing: 2 % unusable
    with pytest.raises(TooManyBadImages):
        read_folder(csv)  # above the default tolerance of 1 %
    photos = read_folder(csv, tolerance=0.02)
    assert len(photos) == 98
    reasons = {s["path"].rsplit("/", 1)[-1]: s["reason"] for s in photos.skipped}
    assert (
        set(reasons) == {"p0.jpg", "p99.jpg"} and reasons["p99.jpg"] == "file not found"
    )


def test_many_bad_images_are_a_clear_error(tmp_path):
    csv = _corrupt(tmp_path, n=50, bad=10)  # 20 %
    with pytest.raises(TooManyBadImages, match=r"10 of 50 images \(20.0 %\)"):
        read_folder(csv)


def _garbled_jpeg(path, seed=0):
    """A JPEG with sound headers whose image data is random bytes (0xFF stuffed as a
    JPEG encoder would, so no false marker ends it early): PIL decodes it to a garbled
    picture; libjpeg-turbo refuses it."""
    buf = io.BytesIO()
    photo(seed, 200, 150).save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    start = data.index(b"\xff\xda")
    start += 2 + int.from_bytes(data[start + 2 : start + 4], "big")  # past SOS
    noise = np.random.default_rng(seed).integers(0, 256, len(data), dtype=np.uint8)
    body = noise.tobytes().replace(b"\xff", b"\xff\x00")
    path.write_bytes(data[:start] + body + b"\xff\xd9")


def _damaged_files(folder):
    """Every kind of damaged or unusual file photo folders hold; ``(usable, refused)``
    file names."""
    _garbled_jpeg(folder / "garbled.jpg")
    buf = io.BytesIO()
    photo(1, 200, 150).save(buf, "JPEG", quality=90)
    (folder / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("a text file named .jpg")
    photo(2, 60, 40).save(folder / "png.jpg", format="PNG")
    ramp = np.linspace(0, 65535, 60 * 40).reshape(40, 60).astype(np.uint16)
    Image.fromarray(ramp).save(folder / "sixteen.tif")  # mode I;16
    photo(3, 200, 150).save(folder / "good.jpg", quality=90)
    usable = ["good.jpg", "png.jpg", "sixteen.tif"]
    return usable, ["garbled.jpg", "truncated.jpg", "empty.jpg", "notes.jpg"]


def test_the_up_front_check_decodes_as_training_does(tmp_path):
    from geosurvey.data.images import ImageDecodeError, decode_image, read_array

    usable, refused = _damaged_files(tmp_path)
    # the fault: PIL alone would pass the garbled JPEG, which training then refuses
    decode_image((tmp_path / "garbled.jpg").read_bytes(), "garbled.jpg", 64)
    pd.DataFrame({"path": usable + refused, "lat": 10.0, "lon": np.arange(7.0)}).to_csv(
        tmp_path / "meta.csv", index=False
    )
    photos = read_folder(tmp_path / "meta.csv", tolerance=0.6, min_side=32)
    skipped = {Path(s["path"]).name: s["reason"] for s in photos.skipped}
    assert set(skipped) == set(refused)
    assert "Corrupt JPEG data" in skipped["garbled.jpg"]
    assert skipped["empty.jpg"] == "empty file (0 bytes)"
    assert skipped["notes.jpg"].startswith("not an image")
    assert "object at 0x" not in str(skipped)  # no in-memory file by its address
    # what the check kept, training decodes; what it refused, training would refuse
    assert [Path(p).name for p in photos.meta["path"]] == usable
    for i in range(len(photos)):
        assert photos.load_array(i, 32).shape[2] == 3
    for name in refused:
        with pytest.raises(ImageDecodeError, match=name):
            read_array(tmp_path / name, min_side=32)


def test_predict_names_a_file_training_would_refuse_instead_of_answering(tmp_path):
    from geosurvey import features
    from geosurvey.predict import Predictor, predict

    usable, refused = _damaged_files(tmp_path)
    predictor = Predictor(
        torch.nn.Sequential(
            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(3, 2)
        ),
        features.image_transform((0.5,) * 3, (0.5,) * 3, 32),
        np.array([48.85, -33.87]),
        np.array([2.35, 151.2]),
        np.array([], np.uint64),
        "cpu",
        "a two-cell model",
        32,
    )
    table, skipped = predict(predictor, [tmp_path], scenes=False)
    assert sorted(Path(p).name for p in table["path"]) == sorted(usable)
    assert sorted(Path(p).name for p, _ in skipped) == sorted(refused)
    assert "pred_country" in table and "country" not in table


def test_skipped_images_reach_the_results_file(tmp_path, monkeypatch):
    import json

    from geosurvey import profiles
    from geosurvey.chapters import registry
    from geosurvey.chapters.base import Chapter

    monkeypatch.setenv("GEOSURVEY_RESULTS", str(tmp_path / "results"))
    csv = _corrupt(tmp_path, n=100, bad=1)
    photos = read_folder(csv)
    splits = {"train": photos, "val": photos, "test": photos}
    ch = Chapter(
        "data_and_metrics", profiles.get("ci", device="cpu"), splits, registry()
    )
    ch.add("m", lambda regime: (photos.lat, photos.lon))
    assert ch.finish() == []
    saved = json.loads((tmp_path / "results" / "data_and_metrics.json").read_text())
    assert saved["skipped_images"]["test"][0]["id"] == "p0.jpg"
    assert saved["splits"]["test"] == 99 and saved["regimes"] == ["seen"]
    # each regime's overlap with training: photos have no footprint, only distances
    seen = saved["overlap"]["seen"]
    assert seen["images"] == 99 and seen["nearest training km (median)"] == 0
    assert not any(k.startswith("ground shared") for k in seen)


# --- interrupted runs -----------------------------------------------------------------

FIT = """
import sys, torch
from geosurvey import train
torch.manual_seed(0)
x = torch.randn(512, 8, generator=torch.Generator().manual_seed(1))
y = (x[:, 0] > 0).long()
model = torch.nn.Sequential(torch.nn.Linear(8, 64), torch.nn.ReLU(),
                            torch.nn.Linear(64, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
def batches(epoch):
    import time; time.sleep(float(sys.argv[3]))
    order = torch.randperm(512, generator=torch.Generator().manual_seed(epoch))
    return [(x[order[i:i + 64]], y[order[i:i + 64]]) for i in range(0, 512, 64)]
loss = lambda m, xb, yb: torch.nn.functional.cross_entropy(m(xb), yb)
train.fit(model, batches, None, loss, opt, epochs=int(sys.argv[2]),
          checkpoint=sys.argv[1], monitors={"seen": "train_loss"}, mode="min")
torch.save(model.state_dict(), sys.argv[1] + ".final")
"""


def test_a_run_killed_during_fit_resumes_to_the_uninterrupted_result(tmp_path):
    script = tmp_path / "fit.py"
    script.write_text(FIT)
    subprocess.run(
        [sys.executable, str(script), str(tmp_path / "a.pt"), "6", "0"], check=True
    )
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "b.pt"), "6", "0.7"]
    )
    deadline = time.time() + 60
    # wait for an epoch's checkpoint
    while not (tmp_path / "b.pt").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    epochs_done = torch.load(tmp_path / "b.pt", weights_only=False)["epoch"] + 1
    assert 1 <= epochs_done < 6  # killed half-way
    subprocess.run(
        [sys.executable, str(script), str(tmp_path / "b.pt"), "6", "0"], check=True
    )
    a, b = (torch.load(tmp_path / f"{n}.pt.final") for n in "ab")
    assert all(torch.equal(a[k], b[k]) for k in a)


WRITER = """
import sys, time, numpy as np
from geosurvey import files
with files.atomic_folder(sys.argv[1]) as tmp:
    for i in range(50):
        np.save(tmp / f"part{i}.npy", np.full(10000, i))
        time.sleep(float(sys.argv[2]))
"""


def test_a_cache_entry_killed_half_written_never_appears(tmp_path):
    script = tmp_path / "w.py"
    script.write_text(WRITER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "entry"), "0.05"]
    )
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # only a hidden temporary folder is left behind
    assert not (tmp_path / "entry").exists()
    subprocess.run(
        [sys.executable, str(script), str(tmp_path / "entry"), "0"], check=True
    )
    assert len(list((tmp_path / "entry").iterdir())) == 50


def _write_entry(target, value, barrier):
    with files.atomic_folder(target) as tmp:
        np.save(tmp / "x.npy", np.full(1000, value))
        barrier.wait()  # both writers finish their copy at the same moment


def test_two_processes_writing_the_same_entry_both_succeed_and_leave_one(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [
        ctx.Process(target=_write_entry, args=(tmp_path / "entry", v, barrier))
        for v in (1, 2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    x = np.load(tmp_path / "entry" / "x.npy")
    assert len(set(x.tolist())) == 1 and os.listdir(tmp_path / "entry") == ["x.npy"]
    # the loser's copy was removed
    assert [p.name for p in tmp_path.iterdir()] == ["entry"]


def test_two_processes_saving_the_same_checkpoint_both_succeed(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(
            target=files.torch_save,
            args=({"v": torch.full((1000,), float(v))}, tmp_path / "c.pt"),
        )
        for v in range(4)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 4
    assert torch.load(tmp_path / "c.pt")["v"].unique().numel() == 1


def test_line_numbers_count_blank_lines(tmp_path):
    (tmp_path / "test.csv").write_text("id,latitude,longitude\n1,10,10\n\n2,10,x\n")
    with pytest.raises(TableError, match="line 4"):
        read_table(
            tmp_path / "test.csv", {"id": "id", "latitude": "lat", "longitude": "lon"}
        )


# --- paper-scale tables and dataset quirks --------------------------------------------


def _long_table(path, n=300, edit=None):
    """``n`` rows of id, latitude, longitude, country; ``edit(lines)`` may spoil some
    lines."""
    lines = ["id,latitude,longitude,country,city"] + [
        f"{i},{10 + i / 1000},{20 + i / 1000},FR,x" for i in range(n)
    ]
    if edit:
        edit(lines)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_only_the_sampled_rows_are_converted_but_a_malformed_line_anywhere_is_found(
    tmp_path,
):
    from geosurvey.data.tables import sample_rows

    sampled = set(sample_rows(300, 5, seed=0).tolist())
    spoilt = next(i for i in range(299, 0, -1) if i not in sampled)

    def bad_latitude(lines):
        lines[spoilt + 1] = f"{spoilt},north,20,FR,x"

    csv = _long_table(tmp_path / "a.csv", edit=bad_latitude)
    cols = {"id": "id", "latitude": "lat", "longitude": "lon"}
    df = read_table(
        csv,
        cols,
        id_column="id",
        country="country",
        columns=["country"],
        sample=5,
        seed=0,
    )
    assert sorted(df["id"].astype(int)) == sorted(sampled) and list(df.columns) == [
        "id",
        "lat",
        "lon",
        "country",
    ]
    with pytest.raises(
        TableError, match=rf"'lat' is not a number at line {spoilt + 2}"
    ):
        read_table(csv, cols, id_column="id")

    def extra_field(lines):
        lines[spoilt + 1] += ",surplus"

    csv = _long_table(tmp_path / "b.csv", edit=extra_field)
    with pytest.raises(
        TableError,
        match=rf"line {spoilt + 2} has 6 fields but the header has 5 \(1 such",
    ):
        read_table(csv, cols, id_column="id", sample=5, seed=0)

    def repeated_id(lines):
        lines[spoilt + 1] = "0" + lines[spoilt + 1][len(str(spoilt)) :]

    csv = _long_table(tmp_path / "c.csv", edit=repeated_id)
    with pytest.raises(
        TableError, match=rf"2 rows share an id, e.g. '0' at line 2, line {spoilt + 2}"
    ):
        read_table(csv, cols, id_column="id", sample=5, seed=0)


def test_sampled_rows_are_named_by_their_file_lines_past_multiline_values(tmp_path):
    from geosurvey.data.tables import sample_rows

    (tmp_path / "m.csv").write_text(
        'id,latitude,longitude,note\n1,10,10,"two\nlines"\n\n2,95,10,x\n'
    )
    # a sample of the second row alone
    seed = next(s for s in range(20) if sample_rows(2, 1, s)[0] == 1)
    with pytest.raises(
        ValueError, match=r"latitude outside \[-90, 90\] in rows \['line 5'\]"
    ):
        read_table(
            tmp_path / "m.csv",
            {"id": "id", "latitude": "lat", "longitude": "lon"},
            sample=1,
            seed=seed,
        )


def test_namibia_as_the_osv5m_release_writes_it_and_as_na(tmp_path):
    csv = _folder(tmp_path, n=3, country=["NMB", "NA", "nmb"])
    assert list(read_folder(csv).meta["country"]) == ["NA", "NA", "NA"]


def test_blank_countries_are_filled_by_reverse_geocoding_and_counted(tmp_path, capsys):
    for i in range(3):
        photo(i).save(tmp_path / f"p{i}.jpg")
    pd.DataFrame(
        {
            "path": [f"p{i}.jpg" for i in range(3)],
            "lat": [48.85, 40.71, 35.68],
            "lon": [2.35, -74.0, 139.69],
            "country": ["FR", "", "Japan"],
        }
    ).to_csv(tmp_path / "meta.csv", index=False)
    photos = read_folder(tmp_path / "meta.csv")
    assert list(photos.meta["country"]) == ["FR", "US", "JP"]
    assert (
        "1 of 3 rows have no country: filled by reverse geocoding"
        in capsys.readouterr().out
    )


def test_an_unknown_country_gets_a_close_suggestion_and_a_blank_one_none():
    from geosurvey.data.tables import normalise_countries

    with pytest.raises(
        TableError,
        match=r"'Germny' \(1 row; did you mean Germany \(DE\)\?\); first at line 3",
    ):
        normalise_countries(["France", "Germny"])
    with pytest.raises(
        TableError, match=r"^countries: 1 country value\(s\) are blank at line 2$"
    ):
        normalise_countries([" ", "FR"])
    assert list(normalise_countries(["", "FR"], blank="keep")) == [None, "FR"]


def test_the_command_line_refuses_repeated_prediction_ids(tmp_path):
    rows = pd.DataFrame(
        {
            "id": np.arange(300) % 10,
            "pred_lat": 1.0,
            "pred_lon": 2.0,
            "lat": 1.0,
            "lon": 2.0,
        }
    )
    rows.to_csv(tmp_path / "p.csv", index=False)
    out = subprocess.run(
        [sys.executable, "-m", "geosurvey.cli", "evaluate", str(tmp_path / "p.csv")],
        capture_output=True,
        text=True,
    )
    assert (
        out.returncode == 2
        and "300 rows share an id" in out.stderr
        and "Traceback" not in out.stderr
    )

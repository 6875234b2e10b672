"""Throughput of the library's hot paths (``make bench``): printed and written as JSON.

Numbers are wall-clock on whatever machine runs it; the JSON records the machine and
thread count. Chapter wall times come from the last ``make book``
(``build/chapter_times.json``).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from geosurvey.files import write_text
from tools import bench_gpu


def _timed(fn, repeat: int = 3):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _photo_like_points(n: int, seed: int = 0):
    """n points resampled from the MP-16 photo locations with ~1 km noise (real
    density)."""
    from geosurvey.data.geotiles import mp16_locations

    base = mp16_locations()
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(base), n)
    lat = np.clip(base["lat"].to_numpy()[pick] + rng.normal(0, 0.01, n), -90, 90)
    lon = (base["lon"].to_numpy()[pick] + rng.normal(0, 0.01, n) + 180) % 360 - 180
    return lat, lon


def bench_partition(sizes):
    from geosurvey import cells, s2

    out = {}
    for n in sizes:
        lat, lon = _photo_like_points(n)
        t_ids = _timed(lambda: s2.leaf_ids(lat, lon))
        tau_max = max(n // 100, 50)
        t_part = _timed(
            lambda: cells.adaptive(lat, lon, tau_max=tau_max, tau_min=10), repeat=2
        )
        out[f"{n}"] = {
            "s2_leaf_ids_points_per_s": n / t_ids,
            "adaptive_partition_points_per_s": n / t_part,
            "adaptive_partition_s": t_part,
            "tau_max": tau_max,
        }
    return out


def bench_tiles(n: int):
    from geosurvey.data.geotiles import GeoTilesSpec, earth_image, render_split

    spec = GeoTilesSpec()
    for c in spec.conditions:
        earth_image(c)  # load once, outside the timing
    lat, lon = _photo_like_points(n)
    t = _timed(lambda: render_split(lat, lon, spec, np.random.default_rng(0)), repeat=1)
    return {"tiles_per_s": n / t, "tile_px": spec.tile_px, "n": n}


def bench_metrics(n: int):
    from geosurvey import metrics

    rng = np.random.default_rng(0)
    a = rng.uniform([-90, -180], [90, 180], (n, 2))
    b = rng.uniform([-90, -180], [90, 180], (n, 2))
    t = _timed(lambda: metrics.evaluate(a[:, 0], a[:, 1], b[:, 0], b[:, 1]))
    return {"predictions_per_s": n / t, "n": n}


def _clustered_vectors(rng, n, centres, noise=0.15):
    """Embeddings with cluster structure, as trained geo-embeddings have (isotropic
    noise has none, and no approximate index can do well on it)."""
    return (
        centres[rng.integers(0, len(centres), n)]
        + noise * rng.normal(size=(n, centres.shape[1]))
    ).astype(np.float32)


def bench_faiss(n_queries: int, refs, dim: int = 128, hnsw_max: int = 200_000):
    """Queries/s of exact and approximate search, and the approximate indexes' recall@10
    against exact search on the first 1000 queries (HNSW is built only up to
    ``hnsw_max`` references: its build time grows fastest)."""
    from geosurvey.retrieval import GeoIndex, recall_at_k

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(2000, dim)) / np.sqrt(dim) * 4
    out = {}
    q = _clustered_vectors(rng, n_queries, centres)
    for n in refs:
        x = _clustered_vectors(rng, n, centres)
        lat, lon = np.zeros(n), np.zeros(n)
        flat = GeoIndex(x, lat, lon)
        t = _timed(lambda: flat.search(q, 10), repeat=1)
        row = {"flat_queries_per_s": n_queries / t}
        _, exact = flat.search(q[:1000], 10)
        kinds = (
            {"ivf": {"nprobe": 32}, "hnsw": {}}
            if n <= hnsw_max
            else {"ivf": {"nprobe": 32}}
        )
        for kind, kw in kinds.items():
            t0 = time.perf_counter()
            index = GeoIndex(x, lat, lon, kind=kind, **kw)
            build = time.perf_counter() - t0
            t = _timed(lambda: index.search(q, 10), repeat=1)
            row.update(
                {
                    f"{kind}_build_s": build,
                    f"{kind}_queries_per_s": n_queries / t,
                    f"{kind}_recall_at_10": recall_at_k(
                        index.search(q[:1000], 10)[1], exact
                    ),
                }
            )
        out[str(n)] = row
    return out


def _images_per_s(loop: str, net, batches, count: int) -> float:
    """Images/s of one epoch over ``batches``: a bare forward/backward/step loop, or
    :func:`geosurvey.train.fit`."""
    import torch

    from geosurvey import train

    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], 1e-3)

    def ce(m, xb, yb):
        return torch.nn.functional.cross_entropy(m(xb), yb)

    ce(
        net, *batches[0]
    ).backward()  # warm-up: first-call allocations are not the loop's cost
    opt.zero_grad(set_to_none=True)
    t0 = time.perf_counter()
    if loop == "bare":
        net.train()
        for xb, yb in batches:
            opt.zero_grad(set_to_none=True)
            ce(net, xb, yb).backward()
            opt.step()
    else:
        train.fit(
            net, batches, None, ce, opt, epochs=1, monitors={"seen": "train_loss"}
        )
    return count / (time.perf_counter() - t0)


def bench_training(n: int = 2048, batch_size: int = 128, n_classes: int = 200):
    """Images/s of :func:`geosurvey.train.fit` against a bare forward/backward/step loop
    over the same batches, for the two ways chapters train: the top on cached trunk
    activations (``ci``) and images streamed through the frozen trunk (``full``)."""
    import torch

    from geosurvey import backbones, models

    out = {}
    model, info = backbones.create("tf_efficientnet_lite0")
    trunk, top = backbones.split(model, 1)
    g = torch.Generator().manual_seed(0)
    images = torch.randn(n, 3, 96, 96, generator=g)
    with torch.no_grad():
        cached = torch.cat([trunk(images[i : i + 256]) for i in range(0, n, 256)])
    labels = torch.randint(0, n_classes, (n,), generator=g)
    modes = (
        ("cached_trunk", cached, None, n),
        ("streamed_images", images, trunk, n // 4),
    )
    for mode, x, net_trunk, count in modes:
        batches = [
            (x[i : i + batch_size], labels[i : i + batch_size])
            for i in range(0, count, batch_size)
        ]
        rates = {}
        for loop in ("bare", "fit"):
            head = models.classifier_head(info.num_features, n_classes)
            net = models.Network(copy.deepcopy(top), head, net_trunk)
            rates[loop] = _images_per_s(loop, net, batches, count)
        out[mode] = {
            "bare_images_per_s": rates["bare"],
            "fit_images_per_s": rates["fit"],
            "overhead_ratio": rates["bare"] / rates["fit"],
            "n": count,
        }
    return out


def bench_features(n: int):
    import pandas as pd

    from geosurvey import backbones, features
    from geosurvey.data.geotiles import GeoTilesSpec, render_split
    from geosurvey.data.sets import TileSet

    lat, lon = _photo_like_points(n)
    tiles, _ = render_split(lat, lon, GeoTilesSpec(), np.random.default_rng(0))
    images = TileSet(pd.DataFrame({"lat": lat, "lon": lon}), tiles, name="bench")
    out = {}
    for name in sorted(backbones.BUNDLED):
        model, info = backbones.create(name)
        tf = features.image_transform(info.mean, info.std, 96)
        t = _timed(
            lambda: features.extract(model, images, tf, batch_size=128), repeat=1
        )
        out[name] = {"images_per_s_96px": n / t}
    return out


def bench_geography(n: int):
    """Climate, land cover, elevation and country lookups for ``n`` photo-like
    points."""
    from geosurvey import geography
    from geosurvey.data.places import countries, polygon_countries

    lat, lon = _photo_like_points(n)
    out = {
        name: n
        / _timed(
            lambda f=f: f(lat, lon), repeat=2
        )  # the second excludes loading the raster
        for name, f in (
            ("climate", geography.climate),
            ("land_cover", geography.land_cover),
            ("elevation", geography.elevation),
        )
    }
    out["country"] = n / _timed(
        lambda: countries(lat, lon), repeat=2
    )  # reverse geocoding (GeoNames)
    out["country_polygons"] = n / _timed(
        lambda: polygon_countries(lat, lon), repeat=2
    )  # rasterised admin-0
    return {f"{k}_points_per_s": v for k, v in out.items()}


# H100 SXM dense bf16 peak, and the share of it a well-fed ViT training step typically
# reaches.
GPU_PEAK_FLOPS, GPU_UTILISATION = 989e12, 0.4


def _jpeg_photos(folder: Path, n: int):
    """A PhotoSet of ``n`` JPEG photos of OpenStreetView-5M's size (512 x 384) written
    to ``folder``: GeoTiles renderings of real places."""
    import pandas as pd
    from PIL import Image

    from geosurvey.data.geotiles import GeoTilesSpec, render_split
    from geosurvey.data.sets import PhotoSet

    lat, lon = _photo_like_points(n)
    tiles, _ = render_split(
        lat, lon, GeoTilesSpec(tile_px=512), np.random.default_rng(0)
    )
    paths = []
    for i, tile in enumerate(tiles):
        paths.append(str(folder / f"{i}.jpg"))
        Image.fromarray(tile[64:448]).save(paths[-1], quality=90)
    return PhotoSet(pd.DataFrame({"path": paths, "lat": lat, "lon": lon}))


def bench_places365(n: int):
    """Scene labelling: Places365 WideResNet-18 over JPEG photos, decoding included."""
    import tempfile

    from geosurvey import places365

    with tempfile.TemporaryDirectory() as tmp:
        photos = _jpeg_photos(Path(tmp), n)
        places365.classify(
            photos.subset(range(min(n, 8)))
        )  # load the weights once, outside the timing
        return {
            "images_per_s": n / _timed(lambda: places365.classify(photos), repeat=1)
        }


def bench_decoding(n_photos: int = 64, input_px: int = 224) -> dict:
    """Photos/s one DataLoader worker (one thread) decodes and transforms to
    ``input_px`` from OpenStreetView-5M-size JPEGs (512 x 384): the float path (PIL
    decode, torchvision resize, ToTensor, Normalize; what cached features use) and the
    uint8 path the GPU profiles stream (libjpeg-turbo at the crop's scale, torch's
    resize, normalised later on the device)."""
    import tempfile

    import torch

    from geosurvey import features

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in a DataLoader worker
    try:
        with tempfile.TemporaryDirectory() as tmp:
            photos = _jpeg_photos(Path(tmp), n_photos)
            flt = photos.view(
                features.image_transform((0.5,) * 3, (0.5,) * 3, input_px)
            )
            u8 = photos.view(features.Uint8Transform(input_px))
            rates = {
                name: n_photos
                / _timed(lambda s=s: [s[i] for i in range(n_photos)], repeat=3)
                for name, s in (("float", flt), ("uint8", u8))
            }
    finally:
        torch.set_num_threads(threads)
    return {
        "float_path_photos_per_s_per_worker": rates["float"],
        "uint8_path_photos_per_s_per_worker": rates["uint8"],
        "speedup": rates["uint8"] / rates["float"],
        "input_px": input_px,
        "photo_px": [512, 384],
        "n": n_photos,
    }


def bench_full_profile(decode_per_worker: float) -> dict:
    """What one training of the ``full`` profile costs, estimated on a machine without a
    GPU: the FLOPs of one training step per image (counted by torch on the meta device:
    a frozen trunk's forward, the fine-tuned top's forward and backward) and the
    photos/s one DataLoader worker decodes and transforms (measured by
    :func:`bench_decoding`, uint8 path). The GPU rate assumes GPU_UTILISATION of
    GPU_PEAK_FLOPS; ``python -m tools.bench --gpu`` measures it on a GPU."""
    from geosurvey import profiles
    from geosurvey.chapters.planet import PlanetSettings

    cfg = profiles.PROFILES["full"]
    epochs = PlanetSettings.for_profile("full").epochs  # one PlaNet classifier
    name = cfg.backbones[0]
    flops = bench_gpu.train_flops_per_image(name, cfg)
    gpu = GPU_UTILISATION * GPU_PEAK_FLOPS / flops
    fed = min(gpu, decode_per_worker * cfg.num_workers)
    return {
        "backbone": name,
        "input_px": cfg.input_px,
        "top_stages": cfg.top_stages,
        "train_gflop_per_image": flops / 1e9,
        "decode_images_per_s_per_worker": decode_per_worker,
        "num_workers": cfg.num_workers,
        "gpu_images_per_s_if_fed": gpu,
        "estimated_train_images_per_s": fed,
        "estimated_hours_per_training": cfg.n_train * epochs / fed / 3600,
        "assumption": f"{GPU_UTILISATION:.0%} of {GPU_PEAK_FLOPS / 1e12:.0f} TFLOP/s "
        "(H100 bf16 dense); decoding at this machine's per-core speed with "
        f"{cfg.num_workers} workers",
    }


OSV5M_COLUMNS = (
    "id",
    "latitude",
    "longitude",
    "thumb_original_url",
    "country",
    "sequence",
    "captured_at",
    "lon_bin",
    "lat_bin",
    "cell",
    "land_cover",
    "road_index",
    "drive_side",
    "climate",
    "soil",
    "dist_sea",
    "quadtree_10_5000",
    "quadtree_10_25000",
    "quadtree_10_1000",
    "quadtree_10_50000",
    "quadtree_10_12500",
    "quadtree_10_500",
    "quadtree_10_2500",
    "unique_region",
    "unique_sub-region",
    "unique_city",
    "unique_country",
    "creator_username",
    "creator_id",
    "region",
    "sub-region",
    "city",
)


def _osv5m_chunk(rng, ids, lat, lon):
    """One block of rows with OpenStreetView-5M's columns and value shapes (about 600
    bytes a row)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n, text = len(ids), pc.cast(pa.array(ids), pa.string())
    names = np.array(
        [
            f"{p}{i}"
            for p in ("Region ", "Sub-region ", "City ", "user_")
            for i in range(500)
        ]
    )
    countries = np.array(
        ["US", "FR", "BR", "JP", "RU", "DE", "NMB", "AU", "IN", "ZA", "", "GB"]
    )

    def pick(words):
        return pa.array(words[rng.integers(0, len(words), n)])

    cols = {
        "id": pa.array(ids),
        "latitude": pa.array(lat),
        "longitude": pa.array(lon),
        "thumb_original_url": pc.binary_join_element_wise(
            "https://scontent-iad3-2.xx.fbcdn.net/m1/v/t6/An8fdTCfxAQ6s7lD0R1tJNYkZJu1V3xY1xqeIU5RjW_kNNbLt"
            "0ShaXXrY9BUquYUZFsh3kK0vYjEbVvMdHpAnvMEeAg7BhHl0FU8aKCrbM-yA8JxdfwH9Lu6ZWhExpA?stp=s2048x1536&ccb"
            "=10-5&oh=00_AfB",
            text,
            "&oe=6626A1F3&_nc_sid=201bca&id=",
            text,
            "",
        ),
        "country": pick(countries),
        "sequence": pc.binary_join_element_wise("sq", text, "Xq9kLm2Rt", ""),
        "captured_at": pa.array(rng.integers(1_300_000_000_000, 1_700_000_000_000, n)),
    }
    for c in OSV5M_COLUMNS[7:23]:
        cols[c] = pa.array(
            rng.integers(0, 10_000, n)
            if c.startswith(("quadtree", "cell", "lon", "lat"))
            else rng.random(n).round(6)
        )
    for c in OSV5M_COLUMNS[23:]:
        cols[c] = (
            pa.array(rng.integers(0, 10**9, n)) if c == "creator_id" else pick(names)
        )
    return pa.table(cols)


def write_osv5m_csv(
    path: Path, n_rows: int, seed: int = 0, block: int = 250_000
) -> int:
    """A synthetic ``train.csv`` of ``n_rows`` with OpenStreetView-5M's columns; its
    size in bytes."""
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    ids = 10**15 + 7 * rng.permutation(n_rows).astype(np.int64)
    lat, lon = _photo_like_points(n_rows, seed)
    with pacsv.CSVWriter(
        str(path), _osv5m_chunk(rng, ids[:1], lat[:1], lon[:1]).schema
    ) as writer:
        for i in range(0, n_rows, block):
            writer.write_table(
                _osv5m_chunk(
                    rng, ids[i : i + block], lat[i : i + block], lon[i : i + block]
                )
            )
    return path.stat().st_size


READ_OSV5M_TABLE = """
import json, sys, time
t0 = time.perf_counter()
from geosurvey.data import tables
imported = time.perf_counter()
table = tables.scan(sys.argv[1], {"id": "id", "latitude": "lat", "longitude": "lon"},
                    id_column="id", columns=["country"])
df = table.frame(tables.sample_rows(len(table), int(sys.argv[2]), 0), country="country")
done = time.perf_counter()
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({"rows": len(table), "sampled": len(df), "seconds": done - imported,
                  "import_s": imported - t0,
                  "peak_rss_gb": int(status["VmHWM"].split()[0]) / 2**20}))
"""


def bench_osv5m_table(n_rows: int = 4_900_000, sample: int = 89_000) -> dict:
    """Peak memory and time of reading OpenStreetView-5M's ``train.csv`` as
    ``read_osv5m`` does (the whole file scanned strictly, ``sample`` rows, the full
    profile's train + val, converted), on a synthetic file of ``n_rows`` written to a
    temporary folder; measured in a fresh process, whose peak resident set is its
    ``VmHWM`` (Linux): ``getrusage``'s ``ru_maxrss`` would carry over the peak of the
    process that started it, across ``exec``."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "train.csv"
        t0 = time.perf_counter()
        size = write_osv5m_csv(csv, n_rows)
        written = time.perf_counter() - t0
        out = subprocess.run(
            [sys.executable, "-c", READ_OSV5M_TABLE, str(csv), str(sample)],
            capture_output=True,
            text=True,
            check=True,
        )
    return {
        **json.loads(out.stdout),
        "file_gb": size / 1e9,
        "columns": len(OSV5M_COLUMNS),
        "write_s": written,
    }


def run(output: Path, quick: bool = False) -> dict:
    import torch

    report = {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "partition": bench_partition([100_000] if quick else [100_000, 1_000_000]),
        "tiles": bench_tiles(500 if quick else 4000),
        "metrics": bench_metrics(1_000_000),
        "faiss": bench_faiss(
            1000 if quick else 10_000, [10_000] if quick else [100_000, 1_000_000]
        ),
        "training": bench_training(512 if quick else 2048),
        "features": bench_features(256 if quick else 1024),
        "geography": bench_geography(100_000 if quick else 1_000_000),
        "places365": bench_places365(32 if quick else 128),
        "decoding": bench_decoding(16 if quick else 64),
        "osv5m_table": bench_osv5m_table(490_000 if quick else 4_900_000),
    }
    report["full_profile_estimate"] = bench_full_profile(
        report["decoding"]["uint8_path_photos_per_s_per_worker"]
    )
    times = Path("build/chapter_times.json")
    if times.exists():
        report["chapter_wall_s"] = json.loads(times.read_text())
    write_text(output, json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return report


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench", description="throughput benchmarks"
    )
    parser.add_argument("-o", "--output", default="bench/bench.json")
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes, for a smoke run"
    )
    parser.add_argument(
        "--gpu",
        action="store_true",
        help="the GPU figures, one JSON line each (on a CUDA machine)",
    )
    args = parser.parse_args(argv)
    if args.gpu:
        return bench_gpu.run()
    run(Path(args.output), quick=args.quick)


if __name__ == "__main__":
    main()

"""GPU figures in one command (``python -m tools.bench --gpu``, ``make bench-gpu``),
in a few minutes on one CUDA device, one JSON line per figure:

* ``device``: the GPU, its memory, torch and CUDA versions;
* ``bf16_matmul_peak``: the TFLOP/s of large bf16 matrix products (what the device can
  do);
* ``full_training_step``: images/s of the ``full`` profile's training step (the backbone
  it resolves, its batch, uint8 images normalised on the device, bf16 autocast, AdamW)
  and the share of that peak it reaches, from the step's FLOPs counted by torch;
* ``full_peak_gpu_memory``: the most GPU memory the step held at the profile's batch;
* ``dataloader``: photos/s that 1, 4 and all CPU cores' DataLoader workers decode and
  transform from OpenStreetView-5M-size JPEGs (512 x 384) written to a temporary folder;
* ``decoding_keeps_up``: whether all workers deliver as many photos/s as the step trains
  on.

On a machine without CUDA it says so in one line and measures nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

# about the full profile's middle partition (85,000 training images / 40 per cell)
N_CLASSES = 2000


def emit(figure: str, **values) -> dict:
    """Print one figure as a JSON line (and return it)."""
    line = {"figure": figure, **values}
    print(json.dumps(line), flush=True)
    return line


def train_flops_per_image(backbone: str, cfg) -> float:
    """FLOPs of one training step per image, counted by torch on the meta device: the
    frozen trunk's forward, the fine-tuned top's forward and backward
    (``cfg.top_stages`` of it)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from geosurvey import backbones

    trunk, top = backbones.split(backbones.architecture(backbone), cfg.top_stages)
    x = torch.empty(1, 3, cfg.input_px, cfg.input_px, device="meta")
    with FlopCounterMode(display=False) as counter:
        with torch.no_grad():
            h = trunk(x)
        top(h).sum().backward()
    return float(counter.get_total_flops())


def _cuda_seconds(fn, repeats: int) -> float:
    """Seconds per call of ``fn`` on the current CUDA device (after one warm-up
    call)."""
    import torch

    fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / repeats


def matmul_peak(n: int = 8192, repeats: int = 50) -> float:
    """bf16 FLOP/s of an n x n matrix product, best of three rounds."""
    import torch

    a, b = (torch.randn(n, n, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    best = min(_cuda_seconds(lambda: a @ b, repeats) for _ in range(3))
    return 2 * n**3 / best


def training_step(cfg, peak_flops: float, steps: int = 10) -> dict:
    """Images/s, share of ``peak_flops`` and peak memory of the profile's training
    step."""
    import torch

    from geosurvey import backbones, models

    net = models.network(cfg, models.classifier_head, N_CLASSES).to("cuda")
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-4)
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randint(
        0,
        256,
        (cfg.batch_size, 3, cfg.input_px, cfg.input_px),
        dtype=torch.uint8,
        device="cuda",
        generator=g,
    )
    y = torch.randint(0, N_CLASSES, (cfg.batch_size,), device="cuda", generator=g)
    net.train()

    def step():
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            loss = torch.nn.functional.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # the first step allocates AdamW's state
    torch.cuda.reset_peak_memory_stats()
    rate = cfg.batch_size / _cuda_seconds(step, steps)
    flops = train_flops_per_image(cfg.backbone, cfg)
    return {
        "backbone": cfg.backbone,
        "weights": backbones.describe(cfg.backbone).weights,
        "input_px": cfg.input_px,
        "top_stages": cfg.top_stages,
        "batch": cfg.batch_size,
        "images_per_s": rate,
        "train_gflop_per_image": flops / 1e9,
        "share_of_matmul_peak": rate * flops / peak_flops,
        "peak_gpu_memory_gb": torch.cuda.max_memory_allocated() / 1e9,
    }


def write_jpegs(folder: Path, n: int, distinct: int = 256) -> list:
    """``n`` JPEG files of 512 x 384 (``distinct`` different photos, the rest linked to
    them)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        paths.append(folder / f"{i}.jpg")
        if i < distinct:
            small = Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
            img = np.asarray(
                small.resize((512, 384), Image.Resampling.BICUBIC), dtype=np.int16
            )
            noisy = np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(
                np.uint8
            )  # grain, as photos have
            Image.fromarray(noisy).save(paths[-1], quality=90)
        else:
            os.link(paths[i % distinct], paths[-1])
    return [str(p) for p in paths]


def loader_rate(paths: list, input_px: int, batch_size: int, workers: int) -> float:
    """Photos/s a DataLoader with ``workers`` workers delivers (uint8 batches, pinned
    memory), over its second epoch (the workers already started)."""
    import pandas as pd

    from geosurvey import features
    from geosurvey.data.sets import PhotoSet

    meta = pd.DataFrame({"path": paths, "lat": 0.0, "lon": 0.0})
    photos = PhotoSet(meta, name="bench").view(features.Uint8Transform(input_px))
    loader = features.loader(photos, batch_size, shuffle=True, num_workers=workers)
    for _ in loader:  # epoch 0: start the workers
        pass
    loader.sampler.set_epoch(1)
    t0, count = time.perf_counter(), 0
    for x, _ in loader:
        count += len(x)
    return count / (time.perf_counter() - t0)


def run(n_photos: int = 8192) -> None:
    """Every figure of the module doc, one JSON line each."""
    import torch

    if not torch.cuda.is_available():
        print(
            f"bench --gpu: no CUDA device here (torch {torch.__version__}); "
            "nothing measured"
        )
        return
    from geosurvey import profiles

    props = torch.cuda.get_device_properties(0)
    emit(
        "device",
        name=props.name,
        memory_gb=props.total_memory / 1e9,
        torch=torch.__version__,
        cuda=torch.version.cuda,
        cpus=os.cpu_count(),
    )
    peak = matmul_peak()
    emit("bf16_matmul_peak", tflop_per_s=peak / 1e12, n=8192)
    cfg = profiles.get("full", "cuda")
    step = training_step(cfg, peak)
    memory = step.pop("peak_gpu_memory_gb")
    emit("full_training_step", **step)
    emit("full_peak_gpu_memory", gb=memory, batch=cfg.batch_size, backbone=cfg.backbone)
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_jpegs(Path(tmp), n_photos)
        for workers in sorted({1, 4, os.cpu_count() or 1}):
            rates[workers] = loader_rate(paths, cfg.input_px, cfg.batch_size, workers)
            emit(
                "dataloader",
                workers=workers,
                photos_per_s=rates[workers],
                photo_px=[512, 384],
                input_px=cfg.input_px,
            )
    best = max(rates.values())
    emit(
        "decoding_keeps_up",
        keeps_up=bool(best >= step["images_per_s"]),
        decode_photos_per_s=best,
        train_images_per_s=step["images_per_s"],
        workers=max(rates),
    )

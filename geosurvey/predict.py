"""Apply a trained cell classifier to a user's own photos (``geosurvey predict``).

The checkpoint says what to rebuild (backbone, how much of it was fine-tuned, input
size, the cells' centres); the frozen trunk comes from the same pretrained weights, so a
model trained on cached activations (``ci``) predicts from raw images too. A file that
cannot be read is reported by name and skipped; it never aborts the batch. A ``ci``
checkpoint was trained on GeoTiles (orbital imagery) and predicts imagery of that kind,
not street-level photos.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from .data.images import ImageDecodeError, read_array
from .data.readers import IMAGE_SUFFIXES


@dataclass
class Predictor:
    network: object
    transform: object
    cell_lat: np.ndarray
    cell_lon: np.ndarray
    cell_ids: np.ndarray
    device: str
    description: str
    input_px: int

    @classmethod
    def load(cls, checkpoint, device: str = "cpu") -> "Predictor":
        import torch

        from . import backbones, features, models
        from .train import load_trainable

        path = Path(checkpoint)
        if not path.exists():
            raise FileNotFoundError(f"checkpoint {path} not found")
        state = torch.load(path, map_location="cpu", weights_only=False)
        meta = state.get("meta") or {}
        if meta.get("task") != "cells":
            raise ValueError(
                f"{path} is not a cell classifier checkpoint "
                "(geosurvey predict needs one, e.g. planet-middle-*.pt)"
            )
        model, info = backbones.create(meta["backbone"])
        trunk, top = backbones.split(model, meta["top_stages"])
        head = models.classifier_head(info.num_features, len(meta["cell_lat"]))
        net = models.Network(top, head, trunk)
        try:  # the weights chosen on the seen-places validation split
            load_trainable(net, state["states"]["seen"])
        except KeyError as exc:
            raise ValueError(
                f"{path}: weights do not fit the network it describes ({exc})"
            ) from None
        return cls(
            net.to(device).eval(),
            features.image_transform(info.mean, info.std, meta["input_px"]),
            np.asarray(meta["cell_lat"]),
            np.asarray(meta["cell_lon"]),
            np.asarray(meta.get("cell_ids", []), np.uint64),
            device,
            f"{info}; {len(meta['cell_lat'])} cells; "
            f"trained in profile {meta.get('profile')!r}",
            int(meta["input_px"]),
        )

    def probabilities(self, images) -> np.ndarray:
        import torch

        x = torch.stack([self.transform(img) for img in images]).to(self.device)
        with torch.inference_mode():
            return torch.softmax(self.network(x).float(), 1).cpu().numpy()


def image_files(paths) -> list:
    """Every image file named, or inside a folder named (recursively), in order."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(q for q in p.rglob("*") if q.suffix.lower() in IMAGE_SUFFIXES)
        else:
            out.append(p)
    return out


def predict(
    predictor: Predictor, paths, k: int = 5, batch_size: int = 32, scenes: bool = True
):
    """``(table, skipped)``: one row per readable image (its top-k cells with
    probabilities, the predicted point ``pred_lat``, ``pred_lon``, its country
    ``pred_country`` and, with ``scenes``, the photo's Places365 scene), and the
    ``(path, reason)`` of every file that could not be read. Every ``pred_`` column is
    a prediction; ``country``, as everywhere in the library, would be the true one."""
    from .data.places import countries

    skipped, kept, probs = [], [], []
    files = image_files(paths)
    for start in range(0, len(files), batch_size):
        batch, names = [], []
        for f in files[start : start + batch_size]:
            try:  # decoded as training decoded its photos: a file it refuses is named
                batch.append(
                    Image.fromarray(read_array(f, min_side=predictor.input_px))
                )
                names.append(f)
            except ImageDecodeError as exc:
                skipped.append((str(f), str(exc).split(": ", 1)[-1]))
        if batch:
            probs.append(predictor.probabilities(batch))
            kept += names
    if not kept:
        return pd.DataFrame(), skipped
    p = np.concatenate(probs)
    top = np.argsort(-p, axis=1)[:, :k]
    lat, lon = predictor.cell_lat[top[:, 0]], predictor.cell_lon[top[:, 0]]
    table = pd.DataFrame(
        {
            "path": [str(f) for f in kept],
            "pred_lat": lat,
            "pred_lon": lon,
            "pred_country": countries(lat, lon),
            "top1_probability": p[np.arange(len(p)), top[:, 0]],
        }
    )
    table["top_cells"] = [
        ";".join(
            f"{predictor.cell_lat[c]:.3f},{predictor.cell_lon[c]:.3f}:{p[i, c]:.3f}"
            for c in row
        )
        for i, row in enumerate(top)
    ]
    if scenes:
        table = table.join(photo_scenes(kept, predictor.device))
    table.attrs["probabilities"] = p
    return table, skipped


def photo_scenes(files, device: str = "cpu") -> pd.DataFrame:
    """Places365 scene of each photo: coarse scene (indoor / natural / urban) and top
    category."""
    from . import places365
    from .data.sets import PhotoSet

    p = places365.classify(
        PhotoSet(
            pd.DataFrame({"path": [str(f) for f in files], "lat": 0.0, "lon": 0.0})
        ),
        device,
    )
    h = places365.hierarchy()
    coarse = h.probabilities(p)["coarse"]
    return pd.DataFrame(
        {
            "scene": np.asarray(h.coarse)[coarse.argmax(1)],
            "scene_probability": coarse.max(1),
            "scene_category": np.asarray(places365.categories())[p.argmax(1)],
        }
    )


def probability_map(
    predictor: Predictor, probs, path, title: str = "", k: int = 20
) -> None:
    """A PNG of the ``k`` most probable cells of one image (S2 cells drawn, semantic
    cells as points)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import cells, maps

    ax = maps.world(title=title)
    if len(predictor.cell_ids):
        part = cells.Partition(
            predictor.cell_ids,
            np.ones(len(predictor.cell_ids)),
            predictor.cell_lat,
            predictor.cell_lon,
            0,
            0,
        )
        maps.cell_probabilities(ax, part, probs, k=k)
    else:
        top = np.argsort(-probs)[:k]
        maps.points(
            ax,
            predictor.cell_lat[top],
            predictor.cell_lon[top],
            probs[top],
            cmap="Reds",
            size=30,
            label="probability",
        )
    os.makedirs(Path(path).parent, exist_ok=True)
    ax.figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(ax.figure)

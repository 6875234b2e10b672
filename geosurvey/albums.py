"""Albums: groups of photos taken close together, for PlaNet's sequence model.

The embedded data has no real albums, so :func:`trips` makes them the way a traveller
would: start at a random unvisited location and add the nearest unvisited locations
within ``radius_km``, up to ``max_len`` photos. Every location ends in exactly one album
(possibly alone). :func:`album_batches` groups albums of equal length, so a recurrent
model sees no padding.
"""

from __future__ import annotations

import numpy as np
import torch

from .geo import to_xyz


def trips(lat, lon, max_len: int = 8, radius_km: float = 300.0, seed: int = 0) -> list:
    """Disjoint albums (arrays of row indices) covering every location once; see module
    doc."""
    import faiss

    xyz = np.ascontiguousarray(to_xyz(lat, lon), dtype=np.float32)
    index = faiss.IndexFlatIP(3)
    index.add(xyz)
    k = min(len(xyz), 4 * max_len)
    sims, nbrs = index.search(xyz, k)
    min_cos = np.cos(radius_km / 6371.0088)
    used = np.zeros(len(xyz), bool)
    albums = []
    for i in np.random.default_rng(seed).permutation(len(xyz)):
        if used[i]:
            continue
        near = nbrs[i][(sims[i] >= min_cos) & ~used[nbrs[i]]]
        members = np.concatenate([[i], near[near != i]])[:max_len]
        used[members] = True
        albums.append(members)
    return albums


def album_batches(feats, labels, make_albums, batch_size: int = 64, seed: int = 0):
    """``epoch -> batches`` of ``(x (B, L, d), y (B, L))``, each batch one album length
    ``L``.

    ``make_albums(epoch)`` returns the albums (so training can draw new trips every
    epoch).
    """
    feats = torch.as_tensor(np.asarray(feats, dtype=np.float32))
    labels = torch.as_tensor(np.asarray(labels))

    def batches(epoch):
        rng = np.random.default_rng(seed + epoch)
        by_len = {}
        for album in make_albums(epoch):
            by_len.setdefault(len(album), []).append(album)
        out = []
        for length, group in by_len.items():
            group = np.stack(group)[rng.permutation(len(group))]
            out += [group[i : i + batch_size] for i in range(0, len(group), batch_size)]
        for j in rng.permutation(len(out)):
            idx = torch.as_tensor(out[j])
            yield feats[idx], labels[idx]

    return batches


@torch.no_grad()
def album_logits(model, feats, album_list, device: str = "cpu") -> np.ndarray:
    """Per-image logits (n, classes) of an album model, each album run as one
    sequence."""
    from .inputs import predict

    out = None
    for x, idx in album_batches(feats, np.arange(len(feats)), lambda e: album_list)(0):
        y = predict(model, [(x, None)], device)
        if out is None:
            out = np.zeros((len(feats), y.shape[-1]), np.float32)
        out[idx.numpy().ravel()] = y.reshape(-1, y.shape[-1])
    return out


def averaged(log_probs, album_list) -> np.ndarray:
    """Each photo's log-probabilities replaced by the mean over its album (the simplest
    voting)."""
    out = np.empty_like(log_probs)
    for a in album_list:
        out[a] = log_probs[a].mean(0)
    return out


def random_like(album_list, seed: int = 0) -> list:
    """Albums of the same sizes as ``album_list`` over the same photos, drawn at random:
    the control that keeps an album's length and takes away its photos' being close
    together."""
    rows = np.concatenate(album_list)
    rows = rows[np.random.default_rng(seed).permutation(len(rows))]
    return np.split(rows, np.cumsum([len(a) for a in album_list])[:-1])

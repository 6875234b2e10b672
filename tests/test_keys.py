"""Checkpoint and cache keys: complete (every hyperparameter and input changes them) and stable
(the same inputs give the same key in another process)."""

import subprocess
import sys

import numpy as np
import pytest

from geosurvey import cache, cells, losses, models, profiles, train

CFG = profiles.get("ci", device="cpu")


def _key(loss=losses.SupCon(0.07), recipe=train.Recipe("r", epochs=3), targets=np.arange(6), cached=None,
         partition=None):
    import pandas as pd

    meta = pd.DataFrame({"lat": np.arange(6.0), "lon": np.arange(6.0)})
    x = models.Inputs(meta, cached=np.ones((6, 4), np.float32) if cached is None else cached)
    data = {"inputs": x.fingerprint(), "targets": cache.fingerprint(targets)}
    if partition is not None:
        data["cells"] = partition.fingerprint()
    return cache.key(train.checkpoint_key(CFG, recipe, models.ProjectionHead(4, 2), loss, data))


def test_every_hyperparameter_and_input_changes_the_key():
    base = _key()
    lat = np.array([10.0, 10.1, 40.0, 40.1, -20.0, -20.1])
    lon = np.array([10.0, 10.1, 5.0, 5.1, 30.0, 30.1])
    variants = {
        "tau": _key(loss=losses.SupCon(0.1)),
        "margin": _key(loss=losses.DistanceTriplet(0.3)),
        "triplet margin vs another": _key(loss=losses.DistanceTriplet(0.2)),
        "hierarchical weights": _key(loss=losses.HierarchicalSupCon((0.1, 0.3, 0.6))),
        "hierarchical weights 2": _key(loss=losses.HierarchicalSupCon((0.2, 0.3, 0.5))),
        "smoothing tau": _key(loss=losses.HaversineSmoothing(lat, lon, 50.0)),
        "smoothing centres": _key(loss=losses.HaversineSmoothing(lat + 1e-6, lon, 50.0)),
        "epochs": _key(recipe=train.Recipe("r", epochs=4)),
        "lr": _key(recipe=train.Recipe("r", epochs=3, lr=2e-3)),
        "labels": _key(targets=np.array([0, 1, 2, 3, 4, 6])),
        "inputs": _key(cached=np.full((6, 4), 1.0 + 1e-6, np.float32)),
        "partition": _key(partition=cells.adaptive(lat, lon, 2, 1)),
        "other partition": _key(partition=cells.adaptive(lat, lon, 4, 1)),
    }
    keys = [base, *variants.values()]
    assert len(set(keys)) == len(keys), {k: v for k, v in variants.items() if keys.count(v) > 1}


def test_the_same_inputs_give_the_same_key_in_another_process():
    code = ("import sys; sys.path.insert(0, 'tests'); import test_keys; print(test_keys._key())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "HF_HUB_OFFLINE": "1", "PATH": ""})
    assert out.stdout.strip().splitlines()[-1] == _key()


def test_a_repr_without_parameters_cannot_be_keyed():
    with pytest.raises(TypeError, match="memory address"):
        cache.key({"loss": lambda z, y: z})

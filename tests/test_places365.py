"""The Places365 scene classifier on real photos (scikit-image's public-domain
images)."""

import numpy as np
import pytest
import torch
from PIL import Image

from geosurvey import packaged, places365


def _probs(img):
    with torch.no_grad():
        return torch.softmax(places365.model()(places365.transform()(img)[None]), 1)[
            0
        ].numpy()


def test_the_weights_are_the_published_file():
    assert (
        packaged.sha256(packaged.path("places365_weights"))
        == packaged.SHA256["places365_weights"]
    )


@pytest.mark.parametrize(
    "name,category,coarse",
    [("coffee", "coffee_shop", "indoor"), ("rocket", "industrial_area", "urban")],
)
def test_real_photos_land_in_the_right_scene(name, category, coarse):
    from skimage import data

    p = _probs(Image.fromarray(getattr(data, name)()))
    h = places365.hierarchy()
    assert places365.categories()[int(p.argmax())] == category
    levels = h.probabilities(p[None])
    assert (
        h.coarse[int(levels["coarse"].argmax())] == coarse
        and levels["coarse"][0].max() > 0.9
    )
    assert np.isclose(levels["coarse"].sum(), 1.0) and np.isclose(
        levels["middle"].sum(), 1.0
    )


def test_every_category_has_a_group_and_indoor_follows_the_dataset_table():
    h = places365.hierarchy()
    assert h.fine_to_middle.shape == (365, 16) and np.allclose(
        h.fine_to_middle.sum(1), 1
    )
    assert np.array_equal(h.fine_to_coarse[:, 0] == 1.0, places365.indoor())


def test_labels_are_cached_per_file_content(tmp_path, tmp_cache):
    import pandas as pd
    from skimage import data

    from geosurvey import profiles
    from geosurvey.data.readers import read_folder

    Image.fromarray(data.coffee()).save(tmp_path / "a.jpg")
    Image.fromarray(data.rocket()).save(tmp_path / "b.jpg")
    pd.DataFrame(
        {
            "path": ["a.jpg", "b.jpg"],
            "lat": [1.0, 2.0],
            "lon": [1.0, 2.0],
            "country": ["FR", "FR"],
        }
    ).to_csv(tmp_path / "m.csv", index=False)
    cfg = profiles.get("ci", device="cpu")
    first = places365.scene_probabilities(read_folder(tmp_path / "m.csv"), cfg)
    assert len(list(tmp_cache.glob("places365-*/*.npy"))) == 2
    # b changes: now a photo of a cat
    Image.fromarray(data.chelsea()).save(tmp_path / "b.jpg")
    second = places365.scene_probabilities(read_folder(tmp_path / "m.csv"), cfg)
    assert np.array_equal(second[0], first[0]) and not np.allclose(
        second[1], first[1], atol=1e-2
    )
    # only the changed file was labelled again
    assert len(list(tmp_cache.glob("places365-*/*.npy"))) == 3

"""The benchmark's estimate for the full profile, computed from the profile and the
chapters' settings (``make bench`` prints it as ``full_profile_estimate``)."""

import pytest

from geosurvey import bench, profiles
from geosurvey.chapters.planet import PlanetSettings


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

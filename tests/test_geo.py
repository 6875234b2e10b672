import numpy as np
import pytest
import torch

from geosurvey.geo import (
    EARTH_RADIUS_KM,
    CoordinateError,
    destination,
    geoscore,
    haversine,
    haversine_torch,
    spherical_mean,
    validate_coordinates,
)


def pairwise_haversine(lat1, lon1, lat2, lon2):
    """The reference: every pair by broadcasting."""
    lat1, lon1 = np.asarray(lat1)[:, None], np.asarray(lon1)[:, None]
    return haversine(lat1, lon1, np.asarray(lat2)[None, :], np.asarray(lon2)[None, :])


def test_haversine_known_distances():
    # Paris (Notre-Dame) to London (Charing Cross): 343.5 km on the mean-radius sphere
    assert haversine(48.8530, 2.3499, 51.5074, -0.1278) == pytest.approx(343.5, abs=1.0)
    assert haversine(0, 0, 0, 180) == pytest.approx(np.pi * EARTH_RADIUS_KM)
    assert haversine(90, 0, 0, 77) == pytest.approx(np.pi / 2 * EARTH_RADIUS_KM)
    assert haversine(10, 179.9, 10, -179.9) < 25  # across the antimeridian


def test_haversine_torch_matches_numpy_and_broadcasts():
    rng = np.random.default_rng(0)
    a = rng.uniform([-90, -180], [90, 180], (50, 2))
    b = rng.uniform([-90, -180], [90, 180], (50, 2))
    ref = haversine(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    t = haversine_torch(
        *(
            torch.tensor(v, dtype=torch.float64)
            for v in (a[:, 0], a[:, 1], b[:, 0], b[:, 1])
        )
    )
    np.testing.assert_allclose(t.numpy(), ref, rtol=1e-9, atol=1e-6)
    m = pairwise_haversine(a[:, 0], a[:, 1], b[:5, 0], b[:5, 1])
    assert m.shape == (50, 5) and m[3, 2] == pytest.approx(
        haversine(a[3, 0], a[3, 1], b[2, 0], b[2, 1])
    )


def test_haversine_torch_gradient_is_finite_at_zero_distance():
    lat = torch.tensor([10.0], requires_grad=True)
    d = haversine_torch(
        lat, torch.tensor([20.0]), torch.tensor([10.0]), torch.tensor([20.0])
    )
    d.sum().backward()
    assert torch.isfinite(lat.grad).all()


def test_geoscore():
    assert geoscore(0) == 5000
    assert geoscore(1492.7) == pytest.approx(5000 / np.e)


def test_spherical_mean_crosses_antimeridian_and_weights():
    lat, lon = spherical_mean(np.array([0.0, 0.0]), np.array([179.0, -179.0]))
    assert lat == pytest.approx(0, abs=1e-9) and abs(lon) == pytest.approx(180)
    lat, lon = spherical_mean(
        np.array([[0.0, 0.0]]),
        np.array([[0.0, 90.0]]),
        weights=np.array([[1.0, 0.0]]),
        axis=1,
    )
    assert lon[0] == pytest.approx(0, abs=1e-9)


def test_destination_travels_the_requested_distance():
    lat, lon = destination(
        np.array([48.0, -60.0]),
        np.array([2.0, 170.0]),
        np.array([45.0, 90.0]),
        np.array([300.0, 900.0]),
    )
    np.testing.assert_allclose(
        haversine([48.0, -60.0], [2.0, 170.0], lat, lon), [300.0, 900.0], rtol=1e-9
    )
    assert np.all(np.abs(lon) <= 180)


def test_validation_names_bad_rows_and_detects_swaps():
    with pytest.raises(CoordinateError, match=r"rows \[1\]"):
        validate_coordinates([10, np.nan], [20, 30])
    with pytest.raises(CoordinateError, match="swapped"):
        validate_coordinates([2.35, 151.2], [48.85, -33.9])
    with pytest.raises(CoordinateError, match="longitude outside"):
        validate_coordinates([0, 0], [10, 190], row_labels=["a", "b"])
    lat, lon = validate_coordinates([1, 2], [3, 4])
    assert lat.dtype == np.float64


def test_nearest_and_nearest_other_measure_great_circle_distances():
    from geosurvey.geo import chord_km, nearest, nearest_other

    ref_lat, ref_lon = np.array([0.0, 10.0, -45.0]), np.array([179.0, 20.0, 100.0])
    d, idx = nearest(np.array([0.0, 9.0]), np.array([-179.5, 20.0]), ref_lat, ref_lon)
    assert idx.tolist() == [0, 1]  # across the antimeridian, 1.5 degrees away
    np.testing.assert_allclose(
        d, haversine([0.0, 9.0], [-179.5, 20.0], ref_lat[idx], ref_lon[idx]), rtol=1e-9
    )
    d, idx = nearest_other(ref_lat, ref_lon)
    full = pairwise_haversine(ref_lat, ref_lon, ref_lat, ref_lon) + np.diag(
        [np.inf] * 3
    )
    assert idx.tolist() == full.argmin(1).tolist()
    np.testing.assert_allclose(
        d, haversine(ref_lat, ref_lon, ref_lat[idx], ref_lon[idx]), rtol=1e-9
    )
    assert (
        chord_km(2.0) == pytest.approx(np.pi * EARTH_RADIUS_KM) and chord_km(0.0) == 0.0
    )

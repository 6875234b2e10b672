import numpy as np
import pytest

from geosurvey import geography
from geosurvey.geo import CoordinateError

PLACES = {  # (lat, lon): known climate zone
    "Cairo": (30.04, 31.24, "BWh"),
    "London": (51.51, -0.13, "Cfb"),
    "Singapore": (1.35, 103.82, "Af"),
    "Moscow": (55.76, 37.62, "Dfb"),
    "Mid-Pacific": (0.0, -150.0, "Ocean"),
}


def test_climate_zones_of_known_places():
    lat, lon, zone = zip(*PLACES.values())
    assert list(np.asarray(geography.KOPPEN)[geography.climate(lat, lon)]) == list(zone)


def test_the_main_climate_group_is_the_zone_s_first_letter():
    lat, lon, _ = zip(*PLACES.values())
    assert list(geography.main_climate(lat, lon)) == ["B", "C", "A", "D", "O"]


def test_land_cover_elevation_and_coast_of_known_places():
    lat, lon = (
        np.array([0.0, 39.74, 51.51, 23.0]),
        np.array([-150.0, -104.99, -0.13, 12.0]),
    )
    cover = np.asarray(geography.IGBP)[geography.land_cover(lat, lon)]
    # ocean, London, Sahara
    assert (
        cover[0] == "water"
        and cover[2] == "urban and built-up"
        and cover[3] == "barren"
    )
    elev = geography.elevation(lat, lon)
    assert elev[0] == 0 and 1400 < elev[1] < 1800  # the sea is 0 m; Denver ~1600 m
    coast = geography.coast_distance(lat, lon)
    # central Sahara far from the sea, London near it
    assert coast[3] > 500 and coast[2] < 100


def test_every_location_gets_a_defined_label_and_bad_ones_an_error():
    lat = np.array([90.0, -90.0, 0.0, 45.0])
    lon = np.array([180.0, -180.0, 180.0, -180.0])  # poles and the antimeridian
    for f in (
        geography.climate,
        geography.land_cover,
        geography.elevation,
        geography.coast_distance,
    ):
        out = f(lat, lon)
        assert out.shape == (4,) and np.all(np.isfinite(out))
    with pytest.raises(CoordinateError, match="latitude"):
        geography.climate([91.0], [0.0])
    with pytest.raises(CoordinateError, match="non-finite"):
        geography.land_cover([np.nan], [0.0])


def test_auxiliary_targets_are_class_ids_and_standardised_values():
    table = geography.describe(*zip(*[(la, lo) for la, lo, _ in PLACES.values()]))
    targets = geography.auxiliary_targets(table)
    assert targets["climate"][1] == 32 and targets["climate"][0].dtype == np.int64
    assert abs(targets["elevation"][0].mean()) < 1e-9 and targets["coast"][1] == 1

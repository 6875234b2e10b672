"""Country names as people write them: common, short and historical English names,
underscores for spaces, and suggestions that name the country meant."""

import pandas as pd
import pytest

from geosurvey.data import countrynames
from geosurvey.data.tables import TableError, normalise_countries, read_table

WRITTEN = {  # as found in public photo sets' metadata -> ISO 3166 alpha-2
    "UK": "GB",
    "U.K.": "GB",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Great Britain": "GB",
    "United_Kingdom": "GB",
    "USA": "US",
    "U.S.A.": "US",
    "United_States": "US",
    "America": "US",
    "Russia": "RU",
    "Turkey": "TR",
    "Türkiye": "TR",
    "Ivory Coast": "CI",
    "Côte d'Ivoire": "CI",
    "Cote_d'Ivoire": "CI",
    "Burma": "MM",
    "Myanmar": "MM",
    "Holland": "NL",
    "The Netherlands": "NL",
    "New_Zealand": "NZ",
    "South_Korea": "KR",
    "Korea, South": "KR",
    "North Korea": "KP",
    "Czech Republic": "CZ",
    "Czech_Republic": "CZ",
    "Czechia": "CZ",
    "Vietnam": "VN",
    "Laos": "LA",
    "Syria": "SY",
    "Iran": "IR",
    "Persia": "IR",
    "Taiwan": "TW",
    "Bolivia": "BO",
    "Venezuela": "VE",
    "Tanzania": "TZ",
    "Moldova": "MD",
    "Brunei": "BN",
    "Palestine": "PS",
    "Vatican City": "VA",
    "DR Congo": "CD",
    "Democratic_Republic_of_the_Congo": "CD",
    "Zaire": "CD",
    "Republic of the Congo": "CG",
    "Swaziland": "SZ",
    "Cape Verde": "CV",
    "Macedonia": "MK",
    "East Timor": "TL",
    "Ceylon": "LK",
    "Siam": "TH",
    "UAE": "AE",
    "Bosnia & Herzegovina": "BA",
    "Bosnia_and_Herzegovina": "BA",
    "St. Lucia": "LC",
    "Saint Kitts and Nevis": "KN",
    "Trinidad & Tobago": "TT",
    "The Gambia": "GM",
    "Bahamas": "BS",
    "Hong_Kong": "HK",
    "Macau": "MO",
    "Kosovo": "XK",
    "Reunion": "RE",
    "Curacao": "CW",
    "Falklands": "FK",
    "south africa": "ZA",
    "SAUDI ARABIA": "SA",
    "deu": "DE",
    "fr": "FR",
    "NMB": "NA",  # OpenStreetView-5M's Namibia
}


def test_at_least_fifty_written_names_become_their_iso_code():
    assert len(WRITTEN) >= 50
    got = {name: countrynames.code(name) for name in WRITTEN}
    assert got == WRITTEN
    assert list(normalise_countries(list(WRITTEN))) == list(WRITTEN.values())


@pytest.mark.parametrize(
    "typed,meant",
    [
        ("Germnay", "Germany (DE)"),
        ("Swizerland", "Switzerland (CH)"),
        ("Phillipines", "Philippines (PH)"),
        ("Columbia", "Colombia (CO)"),
        ("Isreal", "Israel (IL)"),
        ("Untied Kingdom", "United Kingdom (GB)"),
        ("Austrailia", "Australia (AU)"),
        ("Marocco", "Morocco (MA)"),
    ],
)
def test_a_misspelt_name_is_refused_with_the_country_meant(typed, meant):
    assert countrynames.code(typed) is None
    assert countrynames.suggestion(typed) == meant


@pytest.mark.parametrize(
    "name", ["Atlantis", "Yugoslavia", "Soviet Union", "Czechoslovakia", "XY"]
)
def test_no_suggestion_where_no_country_is_meant_or_several_are(name):
    # a state that split into several is not guessed, and codes are never "corrected"
    assert countrynames.code(name) is None and countrynames.suggestion(name) is None


def test_every_refused_name_of_a_file_is_listed_at_once_with_its_count(tmp_path):
    rows = ["Germany", "Germnay", "Atlantis", "Germnay", "UK", "Narnia", "Germnay"]
    pd.DataFrame({"lat": range(len(rows)), "lon": 0.0, "country": rows}).to_csv(
        tmp_path / "t.csv", index=False
    )
    with pytest.raises(TableError) as err:
        # only two rows are drawn: the whole file's names are checked all the same
        read_table(
            tmp_path / "t.csv",
            {"lat": "lat", "lon": "lon"},
            country="country",
            sample=2,
        )
    message = str(err.value)
    assert "5 value(s)" in message
    assert "'Germnay' (3 rows; did you mean Germany (DE)?)" in message
    assert "'Atlantis' (1 row)" in message and "'Narnia' (1 row)" in message
    assert "first at line 3, line 4, line 5, line 7, line 8" in message

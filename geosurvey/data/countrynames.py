"""Country names as people write them, to ISO 3166 alpha-2 codes.

A label is matched after folding case, accents, underscores (``New_Zealand``), dots
(``U.K.``), ``&`` and a leading "the", against the ISO 3166 codes and names of
``pycountry`` (alpha-2, alpha-3, name, official and common name) and :data:`ALIASES`:
the common English names, short forms and historical names ISO does not list (UK,
England, Russia, Turkey, Ivory Coast, Burma, Holland, ...). Names of states that split
into several (Yugoslavia, Czechoslovakia, the Soviet Union) are not guessed.

A name that matches nothing gets a suggestion only from names (never from two- or
three-letter codes, which are too close to each other for a spelling match to mean
anything).
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata

# Common, short and historical English names -> ISO 3166 alpha-2.
ALIASES = {
    "GB": "uk, u k, great britain, britain, england, scotland, wales, "
    "northern ireland, united kingdom of great britain, british isles",
    "US": "usa, u s a, america, united states of america, u s, united states america",
    "RU": "russia, russian, soviet russia",
    "TR": "turkey, turkiye, republic of turkey",
    "CI": "ivory coast, cote divoire, cote d ivoire",
    "MM": "burma",
    "NL": "holland, the netherlands, netherlands kingdom of the",
    "KR": "republic of korea, korea south, s korea",
    "KP": "korea north, dprk",
    "IR": "persia, iran islamic republic",
    "CZ": "czech republic, czech",
    "SK": "slovak republic",
    "VN": "viet nam, vietnam",
    "LA": "laos, lao",
    "SY": "syria",
    "TW": "taiwan, formosa, republic of china",
    "CN": "china mainland, prc, peoples republic of china",
    "CD": "dr congo, drc, democratic republic of congo, congo kinshasa, zaire, "
    "democratic republic of the congo",
    "CG": "congo brazzaville, republic of congo, congo republic",
    "SZ": "swaziland",
    "CV": "cape verde",
    "MK": "macedonia, fyrom",
    "TL": "east timor, timor",
    "BN": "brunei",
    "PS": "palestine, palestinian territories, west bank, gaza",
    "VA": "vatican, vatican city, holy see",
    "FM": "micronesia",
    "MD": "moldova",
    "TZ": "tanzania, tanganyika",
    "VE": "venezuela",
    "BO": "bolivia",
    "AE": "uae, emirates, united arab emirates",
    "BA": "bosnia, bosnia herzegovina",
    "LK": "ceylon",
    "TH": "siam",
    "ZW": "rhodesia",
    "BJ": "dahomey",
    "BF": "upper volta",
    "BW": "bechuanaland",
    "GH": "gold coast",
    "ET": "abyssinia",
    "KH": "kampuchea",
    "DE": "west germany, east germany, federal republic of germany, deutschland",
    "MO": "macau",
    "HK": "hong kong sar",
    "FK": "falklands, falkland islands",
    "VI": "us virgin islands, u s virgin islands",
    "VG": "british virgin islands",
    "KN": "saint kitts, saint kitts nevis",
    "VC": "saint vincent, saint vincent grenadines",
    "TT": "trinidad, trinidad tobago",
    "AG": "antigua, antigua barbuda",
    "ST": "sao tome, sao tome principe",
    "GM": "gambia",
    "BS": "bahamas",
    "KG": "kirghizia",
    "XK": "kosovo, xk",
    "NA": "nmb",  # OpenStreetView-5M's fix_namimbia.py ("NA" reads as missing)
    "PH": "philippine islands",
    "ES": "espana",
    "CH": "schweiz, suisse, swiss confederation",
    "AT": "osterreich",
    "IE": "eire, republic of ireland",
}


def fold(text: str) -> str:
    """The matching key of a written name: lower case, no accents, underscores, dots,
    apostrophes or "&"; a leading "the" and "St." (Saint) spelled out."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("&", " and ").replace("'", "").replace("\u2019", "")
    text = re.sub(r"[_.,()\-/]+", " ", text)
    text = re.sub(r"\bst\b", "saint", text)
    text = re.sub(r"\band\b", " ", text)
    text = re.sub(r"^the\b", "", re.sub(r"\s+", " ", text).strip()).strip()
    return re.sub(r"\s+", " ", text)


@functools.lru_cache(maxsize=1)
def _names() -> dict:
    """Folded country names (ISO names, official and common names, aliases) ->
    alpha-2."""
    import pycountry

    out = {}
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(c, attr, None)
            if value:
                out[fold(value)] = c.alpha_2
    for code, names in ALIASES.items():
        out.update({fold(n): code for n in names.split(", ")})
    return out


@functools.lru_cache(maxsize=1)
def _codes() -> dict:
    """Lower-case alpha-2 and alpha-3 codes -> alpha-2."""
    import pycountry

    out = {}
    for c in pycountry.countries:
        out[c.alpha_2.lower()] = out[c.alpha_3.lower()] = c.alpha_2
    return out


def code(value) -> str | None:
    """The ISO 3166 alpha-2 code of a written country (code or name), None if none
    matches."""
    text = str(value).strip()
    found = _codes().get(text.lower())
    return found or _names().get(fold(text))


def name(alpha_2: str) -> str:
    """A country's name for messages: its common name where ISO gives one."""
    import pycountry

    known = pycountry.countries.get(alpha_2=alpha_2)
    if known is None:
        return alpha_2
    return getattr(known, "common_name", None) or known.name


def suggestion(value) -> str | None:
    """``"Name (XX)"``: the country whose written name is closest to ``value``, or None
    when none is close."""
    key = fold(value)
    if len(key) < 4:
        return None
    close = difflib.get_close_matches(key, list(_names()), n=1, cutoff=0.8)
    if not close:
        return None
    alpha_2 = _names()[close[0]]
    return f"{name(alpha_2)} ({alpha_2})"

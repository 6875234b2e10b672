"""Country names as people write them, to ISO 3166 alpha-2 codes.

A label is matched after folding case, accents, underscores (``New_Zealand``), dots
(``U.K.``), ``&`` and a leading "the", against the ISO 3166 codes and names of
``pycountry`` (alpha-2, alpha-3, name, official and common name) and the aliases of
:data:`ALIASES_FILE`: the common English names, short forms and historical names ISO
does not list (UK, England, Russia, Turkey, Ivory Coast, Burma, Holland, ...). Names of
states that split into several (Yugoslavia, Czechoslovakia, the Soviet Union) are not
guessed.

A name that matches nothing gets a suggestion only from names (never from two- or
three-letter codes, which are too close to each other for a spelling match to mean
anything).
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from pathlib import Path

import pycountry

ALIASES_FILE = Path(__file__).with_name("country_aliases.txt")


def aliases() -> dict:
    """:data:`ALIASES_FILE`: alpha-2 -> "name, name, ..." that ISO does not list."""
    rows = (line.split("#")[0] for line in ALIASES_FILE.read_text().splitlines())
    pairs = (row.partition(":") for row in rows if row.strip())
    return {code.strip(): names.strip() for code, _, names in pairs}


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
    out = {}
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(c, attr, None)
            if value:
                out[fold(value)] = c.alpha_2
    for code, names in aliases().items():
        out.update({fold(n): code for n in names.split(", ")})
    return out


@functools.lru_cache(maxsize=1)
def _codes() -> dict:
    """Lower-case alpha-2 and alpha-3 codes -> alpha-2."""
    out = {}
    for c in pycountry.countries:
        out[c.alpha_2.lower()] = out[c.alpha_3.lower()] = c.alpha_2
    return out


def code(value) -> str | None:
    """The ISO 3166 alpha-2 code of a written country (code or name), None if none
    matches."""
    text = str(value).strip()
    return _codes().get(text.lower()) or _names().get(fold(text))


def name(alpha_2: str) -> str:
    """A country's name for messages: its common name where ISO gives one."""
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

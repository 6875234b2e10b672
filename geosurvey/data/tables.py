"""One strict reader for every table a user gives the library (dataset metadata, predictions).

A CSV a person wrote elsewhere fails loudly here, naming the file, the line and the fix, instead of
quietly shifting columns, duplicating rows or turning country names into "Unknown":

* an empty file, or a header with no rows;
* a data row with more or fewer fields than the header (pandas would infer an index and shift
  every column by one);
* missing required columns;
* duplicate ids;
* coordinates that are not numbers, are missing, or are out of range;
* countries that are neither ISO 3166 codes (alpha-2 or alpha-3) nor English names.

A byte-order mark and Windows line endings are accepted.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import numpy as np
import pandas as pd

from ..geo import validate_coordinates


class TableError(ValueError):
    """A table that cannot be read as given; the message names the file and the lines."""


def _line(i: int, lines=None) -> str:
    """The file line of data row ``i``: ``lines[i]`` when known, else counted after a one-line header."""
    return f"line {lines[i] if lines is not None else i + 2}"


def _lines(mask, lines=None, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return ", ".join(_line(i, lines) for i in idx[:limit]) + more


def read_table(path, required: dict, id_column: str | None = None, coordinates=(("lat", "lon"),),
               country: str | None = None) -> pd.DataFrame:
    """Read ``path`` strictly and rename ``required`` columns (old name -> new name).

    ``id_column`` (after renaming) must be unique; each (latitude, longitude) pair of column names in
    ``coordinates`` (after renaming) must hold valid coordinates; ``country`` names a column
    normalised to ISO 3166 alpha-2 codes.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    rows, lines = [], []  # non-blank rows and the file line each ends on (a quoted value may span lines)
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        for r in reader:
            if r:  # blank lines (e.g. a trailing one) carry nothing
                rows.append(r)
                lines.append(reader.line_num)
    lines = lines[1:]
    if not rows:
        raise TableError(f"{path}: the file is empty; expected a header line and one row per item")
    header = rows[0]
    if len(rows) == 1:
        raise TableError(f"{path}: the file has a header ({', '.join(header)}) but no rows")
    wrong = [(i, len(r)) for i, r in enumerate(rows[1:]) if len(r) != len(header)]
    if wrong:
        i, n = wrong[0]
        raise TableError(f"{path}: {_line(i, lines)} has {n} fields but the header has {len(header)} ({len(wrong)} such "
                         "line(s)); look for an unquoted comma inside a value or a missing or extra separator, and "
                         "quote values that contain commas")
    missing = [c for c in required if c not in header]
    if missing:
        raise TableError(f"{path}: missing column(s) {missing}; found {header}")
    df = pd.DataFrame(rows[1:], columns=header).rename(columns=required)
    if id_column is not None:
        dup = df[id_column].duplicated(keep=False).to_numpy()
        if dup.any():
            first = df.loc[dup, id_column].iloc[0]
            raise TableError(f"{path}: {int(dup.sum())} rows share an id, e.g. {first!r} at {_lines(dup, lines)}; "
                             "ids must be unique")
    for pair in coordinates:
        for col in pair:
            values = pd.to_numeric(df[col].str.strip(), errors="coerce")
            bad = values.isna().to_numpy() & (df[col].str.strip() != "").to_numpy()
            if bad.any():
                raise TableError(f"{path}: column {col!r} is not a number at {_lines(bad, lines)} "
                                 f"(e.g. {df.loc[bad, col].iloc[0]!r})")
            df[col] = values
        lat, lon = validate_coordinates(df[pair[0]], df[pair[1]], f"{path} ({pair[0]}, {pair[1]})",
                                        row_labels=[_line(i, lines) for i in range(len(df))])
        df[pair[0]], df[pair[1]] = lat, lon
    if country is not None and country in df:
        df[country] = normalise_countries(df[country], path, lines)
    return df


@functools.lru_cache(maxsize=1)
def _country_index() -> dict:
    """Lower-case alpha-2, alpha-3, name, official and common names -> alpha-2 (pycountry)."""
    import pycountry

    index = {}
    for c in pycountry.countries:
        for attr in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            value = getattr(c, attr, None)
            if value:
                index[value.lower()] = c.alpha_2
    for code in ("XK",):  # Kosovo: in GeoNames, not (yet) in ISO 3166
        index[code.lower()] = code
    index["kosovo"] = "XK"
    return index


def normalise_countries(values, source="countries", lines=None) -> np.ndarray:
    """ISO 3166 alpha-2 code for each value given as alpha-2, alpha-3 or English name (any case);
    a value that matches nothing is an error naming it."""
    index = _country_index()
    values = pd.Series(values).astype(str).str.strip()
    out = values.str.lower().map(index)
    unknown = out.isna().to_numpy()
    if unknown.any():
        import pycountry

        examples = sorted(set(values[unknown]))[:5]
        hints = []
        for v in examples:
            try:
                hints.append(f"{v!r} (did you mean {pycountry.countries.search_fuzzy(v)[0].name}?)")
            except LookupError:
                hints.append(repr(v))
        raise TableError(f"{source}: {int(unknown.sum())} country value(s) are neither ISO 3166 codes nor English "
                         f"country names: {', '.join(hints)} at {_lines(unknown, lines)}")
    return out.to_numpy(dtype=object)

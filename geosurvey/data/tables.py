"""One strict reader for every table a user gives the library (dataset metadata,
predictions).

A CSV a person wrote elsewhere fails loudly here, naming the file, the line and the fix,
instead of quietly shifting columns, duplicating rows or turning country names into
"Unknown":

* an empty file, or a header with no rows;
* a data row with more or fewer fields than the header (pandas would infer an index and
  shift every column by one), anywhere in the file;
* missing required columns;
* duplicate ids, anywhere in the file;
* coordinates that are not numbers, are missing, or are out of range;
* countries that are neither ISO 3166 codes (alpha-2 or alpha-3) nor country names as
  people write them (:mod:`~geosurvey.data.countrynames`: common, short and historical
  English names, underscores for spaces); every refused name is listed, with its count.

A byte-order mark and Windows line endings are accepted.

Paper-scale tables (OpenStreetView-5M's ``train.csv``: 4.9 M rows, 35 columns, 2.9 GB)
are read in bounded memory: :func:`scan` parses the whole file with pyarrow, which
checks every line's number of fields, but keeps only the columns asked for, as compact
text; rows are chosen (filtered, sampled) on those columns; and only the chosen rows are
converted and validated in Python (:meth:`Table.frame`). File lines are counted only
when an error has to name them.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..geo import CoordinateError, validate_coordinates
from . import countrynames

BLOCK_BYTES = 16 << 20  # pyarrow parses the file in blocks of this size, one per thread


class TableError(ValueError):
    """A table that cannot be read as given; the message names the file and the
    lines."""


def _line(i: int, lines=None) -> str:
    """The file line of data row ``i``: ``lines[i]`` when known, else counted after a
    one-line header."""
    return f"line {lines[i] if lines is not None else i + 2}"


def _lines(mask, lines=None, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return ", ".join(_line(i, lines) for i in idx[:limit]) + more


def header(path) -> list:
    """The column names of CSV ``path`` (its first non-blank line)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.reader(f):
            if row:
                return row
    raise TableError(
        f"{path}: the file is empty; expected a header line and one row per item"
    )


def _row_lines(path: Path) -> np.ndarray:
    """The file line each non-blank data row ends on (a quoted value may span lines)."""
    lines = []
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        reader = csv.reader(f)
        for row in reader:
            if row:  # blank lines (e.g. a trailing one) carry nothing
                lines.append(reader.line_num)
    return np.asarray(lines[1:], dtype=np.int64)


def _field_count_error(path: Path, n_fields: int) -> TableError | None:
    """The error naming the first data line whose number of fields differs from the
    header's."""
    wrong, first = 0, None
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            if row and len(row) != n_fields:
                wrong += 1
                first = first or (reader.line_num, len(row))
    if first is None:
        return None
    return TableError(
        f"{path}: line {first[0]} has {first[1]} fields but the header has "
        f"{n_fields} ({wrong} such line(s)); look for an unquoted comma inside a value "
        "or a missing or extra separator, and quote values that contain commas"
    )


def _parse(path: Path, names: list, keep: list) -> pa.Table:
    """The columns ``keep`` of every row as text; every line's number of fields is
    checked."""
    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                include_columns=keep,
                column_types={c: pa.string() for c in keep},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        found = (
            _field_count_error(path, len(names)) if "columns, got" in str(exc) else None
        )
        raise (found or TableError(f"{path}: cannot be read as CSV ({exc})")) from None


class Table:
    """A scanned CSV: the columns asked for, as text, for every row of the file."""

    def __init__(self, path: Path, data: pa.Table):
        self.path, self.data = path, data
        self._file_lines = None

    def __len__(self) -> int:
        return self.data.num_rows

    def column(self, name: str) -> pa.ChunkedArray:
        return self.data.column(name)

    def lines(self, rows) -> list:
        """The file line of each data row in ``rows`` (the file is read once more, on
        the first call)."""
        if self._file_lines is None:
            self._file_lines = _row_lines(self.path)
        return self._file_lines[np.asarray(rows, dtype=np.int64)].tolist()

    def _labelled(self, rows, check):
        """``check(None)``; if it fails, ``check`` again with the file lines of
        ``rows``, whose error names them (lines are counted only for an error)."""
        try:
            return check(None)
        except (TableError, CoordinateError) as first:
            check(self.lines(rows))
            raise first

    def check_unique(self, column: str) -> None:
        """Every value of ``column`` differs from the others, over the whole file."""
        values = self.column(column)
        counts = pc.value_counts(values)
        repeated = counts.filter(pc.greater(counts.field("counts"), 1)).field("values")
        if len(repeated):
            dup = pc.is_in(values, value_set=repeated).to_numpy(zero_copy_only=False)
            lines = self.lines(np.flatnonzero(dup))
            raise TableError(
                f"{self.path}: {int(dup.sum())} rows share an id, e.g. "
                f"{repeated[0].as_py()!r} at "
                f"{_lines(np.ones(len(lines), bool), lines)}; ids must be unique"
            )

    def check_countries(self, column: str) -> None:
        """Every value of ``column``, over the whole file, is a country known here (or
        blank); else an error listing every refused value with its count, and the file
        lines of the first ones."""
        values = self.column(column)
        distinct = pc.unique(values).to_pylist()
        refused = [v for v in distinct if v.strip() and countrynames.code(v) is None]
        if not refused:
            return
        mask = pc.is_in(values, value_set=pa.array(refused, pa.string()))
        mask = mask.to_numpy(zero_copy_only=False)
        shown = pd.Series(pc.filter(values, mask).to_pylist()).str.strip()
        lines = self.lines(np.flatnonzero(mask))
        raise TableError(
            f"{self.path}: column {column!r}: {int(mask.sum())} value(s) are neither "
            f"ISO 3166 codes nor country names known here: "
            f"{_refused(shown, np.ones(len(shown), bool))}; first at "
            f"{_lines(np.ones(len(lines), bool), lines)}"
        )

    def frame(
        self, rows=None, coordinates=(("lat", "lon"),), country: str | None = None
    ) -> pd.DataFrame:
        """The rows ``rows`` (positions in the file, in that order; default all) as a
        DataFrame: each (latitude, longitude) pair in ``coordinates`` validated as
        numbers, and ``country`` normalised to ISO 3166 alpha-2 codes (None where
        blank)."""
        rows = (
            np.arange(len(self)) if rows is None else np.asarray(rows, dtype=np.int64)
        )
        df = self.data.take(pa.array(rows)).to_pandas()
        for pair in coordinates:
            for col in pair:
                df[col] = self._labelled(
                    rows,
                    lambda lines, col=col: _numbers(
                        df[col], f"{self.path}: column {col!r}", lines
                    ),
                )
            source = f"{self.path} ({pair[0]}, {pair[1]})"
            df[pair[0]], df[pair[1]] = self._labelled(
                rows,
                lambda lines: validate_coordinates(
                    df[pair[0]],
                    df[pair[1]],
                    source,
                    row_labels=None if lines is None else [f"line {n}" for n in lines],
                ),
            )
        if country is not None and country in df:
            self.check_countries(country)
            df[country] = self._labelled(
                rows,
                lambda lines: normalise_countries(
                    df[country], self.path, lines, blank="keep"
                ),
            )
        return df


def _numbers(values: pd.Series, source: str, lines=None) -> np.ndarray:
    """Text as float64 (blank: NaN, which coordinate validation refuses); anything else
    is an error."""
    text = values.astype(str).str.strip()
    out = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(out) & (text != "").to_numpy()
    if bad.any():
        raise TableError(
            f"{source} is not a number at {_lines(bad, lines)} "
            f"(e.g. {text[bad].iloc[0]!r})"
        )
    return out


def scan(path, required: dict, id_column: str | None = None, columns=None) -> Table:
    """Parse ``path`` strictly, keeping the ``required`` columns (renamed old name ->
    new name) and the other ``columns`` that are present (None: every column).
    ``id_column`` (after renaming) must be unique over the whole file."""
    path = Path(path)
    names = header(path)
    missing = [c for c in required if c not in names]
    if missing:
        raise TableError(f"{path}: missing column(s) {missing}; found {names}")
    wanted = set(required) | set(names if columns is None else columns)
    data = _parse(path, names, [c for c in names if c in wanted])
    if data.num_rows == 0:
        raise TableError(
            f"{path}: the file has a header ({', '.join(names)}) but no rows"
        )
    table = Table(
        path, data.rename_columns([required.get(c, c) for c in data.column_names])
    )
    if id_column is not None:
        table.check_unique(id_column)
    return table


def draw_order(n: int, sample: int | None, seed: int = 0) -> np.ndarray:
    """The order rows are drawn in: every row, in order, when ``sample`` is None or not
    smaller than ``n``; else a shuffle seeded with ``seed`` (its first ``sample`` rows
    are drawn first, the rest replace the unusable ones)."""
    if sample is None or sample >= n:
        return np.arange(n)
    return np.random.default_rng(seed).permutation(n)


def sample_rows(n: int, sample: int | None, seed: int = 0) -> np.ndarray:
    """Row positions of at most ``sample`` of ``n`` rows, drawn by a shuffle seeded with
    ``seed`` (all rows, in order, when ``sample`` is None or not smaller than ``n``)."""
    return draw_order(n, sample, seed)[: n if sample is None else sample]


def read_table(
    path,
    required: dict,
    id_column: str | None = None,
    coordinates=(("lat", "lon"),),
    country: str | None = None,
    *,
    columns=None,
    sample: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Read ``path`` strictly and rename ``required`` columns (old name -> new name).

    ``id_column`` (after renaming) must be unique; each (latitude, longitude) pair of
    column names in ``coordinates`` (after renaming) must hold valid coordinates;
    ``country`` names a column normalised to ISO 3166 alpha-2 codes (None where blank).
    ``columns``: the other columns to keep (None: all). ``sample``: at most this many
    rows (:func:`sample_rows`), drawn before any row is converted, so only they are
    validated.
    """
    table = scan(path, required, id_column, columns)
    return table.frame(sample_rows(len(table), sample, seed), coordinates, country)


def _refused(values: pd.Series, unknown: np.ndarray) -> str:
    """Every refused country value with its count and, where one is close, the country
    meant."""
    counts = values[unknown].value_counts(sort=False).sort_index()
    listed = []
    for value, n in counts.items():
        close = countrynames.suggestion(value)
        hint = f"; did you mean {close}?" if close else ""
        listed.append(f"{value!r} ({n} row{'s' if n > 1 else ''}{hint})")
    return ", ".join(listed)


def normalise_countries(
    values, source="countries", lines=None, *, blank: str = "error"
) -> np.ndarray:
    """ISO 3166 alpha-2 code for each value given as a code or a country name as people
    write it (:mod:`~geosurvey.data.countrynames`); values that match nothing are an
    error listing every one, with its count. A blank value is an error too, or, with
    ``blank="keep"``, None (for the caller to fill)."""
    if blank not in ("error", "keep"):
        raise ValueError(f"blank must be 'error' or 'keep', not {blank!r}")
    values = pd.Series(values).astype(str).str.strip().reset_index(drop=True)
    empty = (values == "").to_numpy()
    if empty.any() and blank == "error":
        raise TableError(
            f"{source}: {int(empty.sum())} country value(s) are blank at "
            f"{_lines(empty, lines)}"
        )
    distinct = values[~empty].unique()
    codes = dict(zip(distinct, map(countrynames.code, distinct)))
    out = values.map(codes).to_numpy(dtype=object)
    unknown = pd.isna(out) & ~empty
    if unknown.any():
        raise TableError(
            f"{source}: {int(unknown.sum())} country value(s) are neither ISO 3166 "
            f"codes nor country names known here: {_refused(values, unknown)}; "
            f"first at {_lines(unknown, lines)}"
        )
    out[empty] = None
    return out

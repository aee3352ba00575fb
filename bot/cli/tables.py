"""Read the rows of an uploaded table (CSV or XLSX) as plain dictionaries with line numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

from openpyxl import load_workbook

from storage.errors import N_, Invalid

Row = tuple[int, dict[str, object]]
# csv's own limit; a longer cell is refused with its line rather than with csv's exception.
CELL_LIMIT = 128 * 1024


class TableError(Invalid):
    """The file cannot be read as a table (a translation key and its placeholders)."""


def read_table(path: Path) -> list[Row]:
    """Return (line number, {header: value}) for every data row of a .csv or .xlsx file."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise TableError(N_("no such file: {path}"), path=str(path))
    if suffix == ".csv":
        return list(_csv_rows(path.read_bytes()))
    if suffix in (".xlsx", ".xlsm"):
        return list(_xlsx_rows(path))
    raise TableError(N_("{file}: use a .csv or .xlsx file"), file=path.name)


def _decode(data: bytes) -> str:
    # Excel in a Chinese locale saves CSV as GB18030 (GBK); everything else is UTF-8.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableError(N_("the CSV file is neither UTF-8 nor GB18030 text"))


def _csv_rows(data: bytes) -> Iterator[Row]:
    text = _decode(data)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    header: list[str] | None = None
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise TableError(
                    N_("line {line}: a cell is longer than {limit} KB"),
                    line=reader.line_num,
                    limit=CELL_LIMIT // 1024,
                ) from exc
            raise TableError(
                N_("line {line}: not readable as CSV ({reason})"),
                line=reader.line_num,
                reason=str(exc),
            ) from exc
        if header is None:
            if any(cell.strip() for cell in row):
                header = [cell.strip() for cell in row]
            continue
        yield reader.line_num, _by_header(header, row)


def _by_header(header: list[str], cells: Sequence[object]) -> dict[str, object]:
    """Pair cells with the header; a short row's missing cells are empty, extra ones dropped."""
    padded = [*cells, *[None] * (len(header) - len(cells))]
    return {name: value for name, value in zip(header, padded, strict=False) if name}


def _xlsx_rows(path: Path) -> Iterator[Row]:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise TableError(
            N_("{file}: not a readable XLSX workbook ({reason})"),
            file=path.name,
            reason=str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__,
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        header: list[str] | None = None
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if header is None:
                if any(v not in (None, "") for v in values):
                    header = ["" if v is None else str(v).strip() for v in values]
                continue
            yield number, _by_header(header, list(values))
    finally:
        workbook.close()

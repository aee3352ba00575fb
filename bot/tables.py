"""Read the rows of an uploaded table (CSV or XLSX) as plain dictionaries with line numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

from openpyxl import load_workbook

Row = tuple[int, dict[str, object]]


class TableError(ValueError):
    """The file cannot be read as a table."""


def read_table(path: Path) -> list[Row]:
    """Return (line number, {header: value}) for every data row of a .csv or .xlsx file."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise TableError(f"no such file: {path}")
    if suffix == ".csv":
        return list(_csv_rows(path.read_bytes()))
    if suffix in (".xlsx", ".xlsm"):
        return list(_xlsx_rows(path))
    raise TableError(f"{path.name}: use a .csv or .xlsx file")


def _decode(data: bytes) -> str:
    # Excel in a Chinese locale saves CSV as GB18030 (GBK); everything else is UTF-8.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableError("the CSV file is neither UTF-8 nor GB18030 text")


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
    for row in reader:
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
        raise TableError(f"{path.name}: not a readable XLSX workbook ({exc})") from exc
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

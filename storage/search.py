"""/find: a record by its number, or by words of its number, site or description.

A whole number is one look-up in the unique index. Words of three characters or more go to the
full-text index of the database — FTS5 with the trigram tokenizer on SQLite, pg_trgm on
PostgreSQL (migration 0008) — which finds any substring, Chinese included, without reading the
ledger. Shorter words have no trigram to look up: they are matched row by row within what the
person may see (a unit's records, by the unit index).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import HiddenDanger

# A whole number as hdbot gives them: prefix, year, sequence (DL-2026-000123).
WHOLE_NUMBER = re.compile(r"[A-Za-z]{1,10}-\d{4}-\d{1,9}")


def is_number(text: str) -> bool:
    """Whether the text is a whole hidden-danger number (typed alone, it asks for that record)."""
    return bool(WHOLE_NUMBER.fullmatch(text.strip()))


TRIGRAM = 3
FEW = 2000  # matches looked up by id rather than joined


def searched_text() -> ColumnElement[str]:
    """What the PostgreSQL trigram index is built on; it must read exactly as in 0008."""
    space: ColumnElement[str] = literal_column("' '")
    return func.lower(
        HiddenDanger.number + space + HiddenDanger.site + space + HiddenDanger.description
    )


async def matching(session: AsyncSession, query: str) -> ColumnElement[bool]:
    """The condition of the records that match a person's /find words."""
    if WHOLE_NUMBER.fullmatch(query):
        return HiddenDanger.number == query.upper()
    needle = query.lower()
    if len(needle) < TRIGRAM:
        return or_(
            func.lower(HiddenDanger.number).contains(needle, autoescape=True),
            func.lower(HiddenDanger.site).contains(needle, autoescape=True),
            func.lower(HiddenDanger.description).contains(needle, autoescape=True),
        )
    if session.get_bind().dialect.name == "sqlite":
        phrase = '"' + needle.replace('"', '""') + '"'
        found: Select[Any] = (
            select(literal_column("rowid"))
            .select_from(text("danger_search"))
            .where(text("danger_search MATCH :phrase").bindparams(phrase=phrase))
        )
    else:
        found = select(HiddenDanger.id).where(searched_text().contains(needle, autoescape=True))
    # A name matches a few dozen records: look them up once, and the counts and the page
    # read only those. Words that match thousands stay a condition for the database to join.
    ids = list(await session.scalars(found.limit(FEW + 1)))
    if len(ids) <= FEW:
        return HiddenDanger.id.in_(ids)
    return HiddenDanger.id.in_(found.scalar_subquery())

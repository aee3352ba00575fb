"""Reading a typed deadline: the forms inspectors type, within a sane range of years."""

from __future__ import annotations

import re
from datetime import date

# A deadline further ahead than this is a typing error.
DEADLINE_YEARS_AHEAD = 5


def parse_deadline(text: str, *, today: date) -> date | None:
    """Read a typed date: 2026-12-05, 2026/12/5, 12-05, 12/5, 12月5日, 2026年12月5日."""
    text = text.strip().replace("．", ".").replace("／", "/").replace("－", "-")
    match = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?", text)
    if match:
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    else:
        match = re.fullmatch(r"(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?", text)
        if not match:
            return None
        month, day = int(match[1]), int(match[2])
        year = today.year
        try:
            if date(year, month, day) < today:
                year += 1  # "12-05" typed in late December means next year's
        except ValueError:
            return None
    if not today.year - 1 <= year <= today.year + DEADLINE_YEARS_AHEAD:
        return None  # 9999-12-31 is a slip of the finger, not a deadline
    try:
        return date(year, month, day)
    except ValueError:
        return None

"""The ledger ("one table and four lists") and the statistics, as rows streamed from the database.

scope.py says which units and dates an export covers, rows.py streams the workbook's rows,
statistics.py counts per unit and per week.
"""

from storage.ledger.rows import DangerRow, danger_rows, quarter_rows, task_rows
from storage.ledger.scope import FIRST_DAY, LAST_DAY, LedgerScope, found_between, ledger_scope
from storage.ledger.statistics import Stats, UnitStats, WeekStats, statistics

__all__ = [
    "FIRST_DAY",
    "LAST_DAY",
    "DangerRow",
    "LedgerScope",
    "Stats",
    "UnitStats",
    "WeekStats",
    "danger_rows",
    "found_between",
    "ledger_scope",
    "quarter_rows",
    "statistics",
    "task_rows",
]

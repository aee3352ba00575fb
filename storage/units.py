"""Units: the regions and departments of the campaign, as a tree (city → district)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import record_event
from storage.dto import UnitInfo
from storage.errors import N_, Invalid, NotFound
from storage.models import Unit, UnitKind

MAX_NAME = 200


async def find_unit(session: AsyncSession, name: str) -> UnitInfo:
    """Return the unit with this exact name, or fail naming it."""
    row = (await session.scalars(select(Unit).where(Unit.name == name.strip()))).first()
    if row is None:
        raise NotFound(N_("No unit is named {name}."), name=name)
    parent = await session.get(Unit, row.parent_id) if row.parent_id else None
    return UnitInfo(row.id, row.name, row.kind, row.parent_id, parent.name if parent else None)


async def add_unit(
    session: AsyncSession,
    *,
    name: str,
    kind: str,
    parent: str | None = None,
    actor: str,
) -> tuple[UnitInfo, bool]:
    """Add a unit under an optional parent; adding the same unit again changes nothing."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise Invalid(N_("A unit name must be 1 to {max} characters."), max=MAX_NAME)
    if kind not in set(UnitKind):
        raise Invalid(N_("A unit kind is region or department, not {kind}."), kind=kind)
    parent_info = await find_unit(session, parent) if parent else None
    parent_id = parent_info.id if parent_info else None
    existing = (await session.scalars(select(Unit).where(Unit.name == name))).first()
    if existing is not None:
        if existing.parent_id != parent_id or existing.kind != kind:
            raise Invalid(N_("Unit {name} already exists with another parent or kind."), name=name)
        return UnitInfo(existing.id, name, kind, parent_id, parent), False
    if parent_id is None:
        # The units are one tree: the campaign's city (or province) and everything below it.
        top = (await session.scalars(select(Unit).where(Unit.parent_id.is_(None)))).first()
        if top is not None:
            raise Invalid(
                N_("{top} is the top unit already: name the unit {name} belongs under."),
                top=top.name,
                name=name,
            )
    row = Unit(name=name, kind=kind, parent_id=parent_id)
    session.add(row)
    await session.flush()
    record_event(
        session,
        action="unit.added",
        actor=actor,
        subject=name,
        detail={"kind": kind, "parent": parent_info.name if parent_info else None},
    )
    await session.commit()
    return UnitInfo(row.id, name, kind, parent_id, parent_info.name if parent_info else None), True


async def list_units(session: AsyncSession) -> list[UnitInfo]:
    """Return every unit in tree order, each with its depth below the top."""
    rows = list(await session.scalars(select(Unit).order_by(Unit.name)))
    names = {row.id: row.name for row in rows}
    children: dict[int | None, list[Unit]] = defaultdict(list)
    for row in rows:
        children[row.parent_id].append(row)
    out: list[UnitInfo] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for row in children.get(parent_id, []):
            out.append(
                UnitInfo(
                    row.id,
                    row.name,
                    row.kind,
                    row.parent_id,
                    names.get(row.parent_id) if row.parent_id else None,
                    depth,
                )
            )
            walk(row.id, depth + 1)

    walk(None, 0)
    return out


@dataclass(frozen=True, slots=True)
class UnitTree:
    """Every unit's parent, read in one query: the one walk down and up the tree.

    A campaign has tens of units (a province a few thousand), so reading them all costs less
    than a query per level, and the same plain SQL runs on SQLite and PostgreSQL. A cycle
    (which only a hand-edited database could hold) ends a walk instead of looping.
    """

    parents: dict[int, int | None]
    children: dict[int, list[int]]

    def below(self, unit_id: int) -> set[int]:
        """The unit and every unit below it."""
        found, stack = set(), [unit_id]
        while stack:
            current = stack.pop()
            if current in found:
                continue
            found.add(current)
            stack.extend(self.children.get(current, []))
        return found

    def above(self, unit_id: int) -> list[int]:
        """The unit and every unit above it, the nearest first."""
        chain: list[int] = []
        current: int | None = unit_id
        while current is not None and current not in chain:
            chain.append(current)
            current = self.parents.get(current)
        return chain


async def unit_tree(session: AsyncSession) -> UnitTree:
    """Read the whole tree (one query)."""
    pairs = (await session.execute(select(Unit.id, Unit.parent_id))).all()
    children: dict[int, list[int]] = defaultdict(list)
    for child, parent in pairs:
        if parent is not None:
            children[parent].append(child)
    return UnitTree(dict(pairs), dict(children))


async def unit_and_descendants(session: AsyncSession, unit_id: int) -> set[int]:
    """Return the ids of a unit and every unit below it."""
    return (await unit_tree(session)).below(unit_id)


async def unit_and_ancestors(session: AsyncSession, unit_id: int) -> list[int]:
    """Return the ids of a unit and every unit above it, the nearest first."""
    return (await unit_tree(session)).above(unit_id)


async def single_root(session: AsyncSession) -> int | None:
    """The id of the one unit at the top (the city), or None when there are several or none."""
    roots = list(await session.scalars(select(Unit.id).where(Unit.parent_id.is_(None))))
    return roots[0] if len(roots) == 1 else None

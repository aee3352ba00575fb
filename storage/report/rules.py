"""Deployment settings the report rules need: the campaign's area, the numbering prefix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Area:
    """The campaign's area as a bounding box; a location outside it is flagged, not refused."""

    lat_min: float
    lon_min: float
    lat_max: float
    lon_max: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.lat_min <= lat <= self.lat_max and self.lon_min <= lon <= self.lon_max


@dataclass(frozen=True, slots=True)
class ReportRules:
    """Deployment settings the report rules need."""

    area: Area | None
    number_prefix: str = "DL"

"""The numbered priority markers a map draws: one per place of a priority list, with its dose of visits.

Shared by the map page (:mod:`maps.page`) and its visits layer (:mod:`maps.visits_layer`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from hotspots.ranking.priorities.entries import PriorityEntry


class PriorityPlace(NamedTuple):
    """A numbered marker: rank, place label, position and the reasons in words shown in its popup."""

    rank: int
    label: str
    lat: float
    lon: float
    reasons: tuple[str, ...]
    visits_7d: int = 0  # field visits in the 7 days before the list's end (maps.visits_layer)
    minutes_7d: int = 0


def priority_places(entries: Iterable[PriorityEntry]) -> list[PriorityPlace]:
    """Markers of a priority list (``hotspots.ranking.priorities``): rank, label, position, reasons and dose."""
    return [
        PriorityPlace(
            e.rank,
            e.label,
            e.lat,
            e.lon,
            tuple(e.reasons),
            e.dosage.get("7d", {}).get("visits", 0),
            e.dosage.get("7d", {}).get("minutes", 0),
        )
        for e in entries
    ]

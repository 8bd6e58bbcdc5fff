"""A ranked place and a ranked list: the facts the list renderers (maps.priorities) draw from."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from hotspots.words import Language


@dataclass
class PriorityEntry:
    """One ranked place: where it is, how hot, and why (``reasons``, in the list's language)."""

    rank: int
    score: float
    area_id: str | None
    area: str
    label: str
    lat: float
    lon: float
    easting: float
    northing: float
    cells: list[str]
    reports: int
    counts: dict[str, int]
    previous_reports: int | None
    previous_counts: dict[str, int] | None
    gi_bin: int
    gi_z: float
    emerging: str
    emerging_label: str
    hot_weeks: int
    measures: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    #: Field visits and their minutes in the last 7 and 28 days before the list's end
    #: (``{"7d": {"visits": 2, "minutes": 25}, "28d": {...}}``, :mod:`hotspots.field.dosage`).
    dosage: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def geo_uri(self) -> str:
        """RFC 5870 geo URI: opens the phone's map app at the place."""
        return f"geo:{self.lat:.6f},{self.lon:.6f}"

    @property
    def osm_url(self) -> str:
        return f"https://www.openstreetmap.org/?mlat={self.lat:.6f}&mlon={self.lon:.6f}#map=18/{self.lat:.6f}/{self.lon:.6f}"

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reason": self.reason, "geo_uri": self.geo_uri, "osm_url": self.osm_url}


@dataclass
class PriorityList:
    """A ranked list for one window (and area), ready to render."""

    entries: list[PriorityEntry]
    start: datetime
    end: datetime
    window_days: int
    area: str | None
    lang: Language
    dataset_version: int
    generated_at: datetime
    #: Category id -> label in ``lang``, in taxonomy order (the CSV and HTML columns).
    category_labels: dict[str, str] = field(default_factory=dict)
    #: Changes when the data, the parameters or the measures shown change (measures do not change the
    #: dataset version, so the analysis' ETag alone would go stale when a measure is added or ended).
    etag: str = ""
    #: The ranking in force (:func:`hotspots.ranking.choice.list_ranking`): method, when chosen and why.
    ranking: dict[str, Any] | None = None
    #: Where the list stops (:class:`hotspots.ranking.priorities.evidence.EvidenceRule`): places beyond chance only.
    evidence: dict[str, Any] | None = None

    def __iter__(self) -> Iterator[PriorityEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(seconds=1)).date()

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": {
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "days": self.window_days,
            },
            "area": self.area,
            "lang": self.lang,
            "dataset_version": self.dataset_version,
            "generated_at": self.generated_at.isoformat(),
            "ranking": self.ranking,
            "evidence": self.evidence,
            "entries": [e.to_dict() for e in self.entries],
        }

"""What an analysis is asked: the window, its end, the filters, the lattice's resolution and neighbourhood.

:class:`AnalysisParams` is hashable and, once :meth:`~AnalysisParams.resolved`, names one analysis: with
the store's epoch and dataset version it is the key every cache and ETag of the service derives from.

>>> AnalysisParams(window="28d").window
'28d'
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hotspots.analysis.query import parse_window
from hotspots.config import Settings

#: Weeks in the emerging-hotspot space-time cube (a year of weekly steps).
CUBE_WEEKS = 52


@dataclass(frozen=True)
class AnalysisParams:
    """What to analyse. Hashable: it is (with the dataset version) the cache key.

    ``end`` is the last local day included (None: today in the configured time zone); ``areas`` only
    filters which cells :meth:`Analysis.frame` returns (the statistics use the whole study area).
    """

    window: str = "28d"
    end: date | None = None
    categories: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    resolution: int | None = None
    k: int | None = None
    areas: tuple[str, ...] = ()
    weeks: int = CUBE_WEEKS
    permutations: int | None = None
    seed: int = 0

    def resolved(self, settings: Settings) -> AnalysisParams:
        """Defaults filled in from the settings and today's date, so equal requests share a cache entry."""
        days = parse_window(self.window)
        end = self.end or datetime.now(ZoneInfo(settings.timezone)).date()
        return replace(
            self,
            window=f"{days}d",
            end=end,
            categories=tuple(sorted(set(self.categories))),
            sources=tuple(sorted(set(self.sources))),
            resolution=self.resolution or settings.analysis_resolution,
            k=self.k or settings.neighbourhood_k,
            areas=tuple(sorted(set(self.areas))),
            permutations=settings.permutations if self.permutations is None else self.permutations,
        )


def window_bounds(params: AnalysisParams, tz: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC for a resolved window: whole local days ending with ``params.end``."""
    assert params.end is not None
    zone = ZoneInfo(tz)
    end_local = datetime.combine(params.end + timedelta(days=1), datetime.min.time(), zone)
    start_local = datetime.combine(
        params.end - timedelta(days=parse_window(params.window) - 1), datetime.min.time(), zone
    )
    return start_local.astimezone(UTC), end_local.astimezone(UTC)

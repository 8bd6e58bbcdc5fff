"""The query parameters that select an analysis over HTTP: window, end day, categories and sources.

One model for the map page, its tiles and (extended with resolution and areas) the API's derived
routes, validated by one function (:func:`hotspots.analysis.query.check_filters`): a bad value raises
:class:`~hotspots.analysis.query.InvalidQuery`, which the app renders as its one 422 body naming ``query.<field>``.

A query-parameter model, declared ``Annotated[FilterQuery, Query()]``: FastAPI validates it in line,
where a class dependency would be called in the thread pool.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query
from pydantic import BaseModel

from hotspots.analysis.params import AnalysisParams
from hotspots.analysis.query import check_filters
from hotspots.config import Settings


class FilterQuery(BaseModel):
    """What an analysis covers: the window ending at ``end``, and which categories and sources count."""

    window: Annotated[
        str,
        Query(
            description="Fönster i dagar som slutar `end` / window in days ending at `end` (7d, 28d, 90d)",
            examples=["28d"],
        ),
    ] = "28d"
    end: Annotated[
        date | None,
        Query(description="Sista dag som ingår (standard: i dag) / last day included (default today)"),
    ] = None
    category: Annotated[
        list[str] | None, Query(description="Kategori-id (upprepas) / category id (repeatable)")
    ] = None
    source: Annotated[list[str] | None, Query(description="Käll-id (upprepas) / source id (repeatable)")] = (
        None
    )

    def params(self, settings: Settings, **more: Any) -> AnalysisParams:
        """Checked analysis parameters (``more``: further fields, e.g. resolution and areas); every bad
        value is named at once."""
        check_filters(
            settings,
            window=self.window,
            end=self.end,
            categories=self.category or (),
            sources=self.source or (),
        )
        return AnalysisParams(
            window=self.window,
            end=self.end,
            categories=tuple(self.category or ()),
            sources=tuple(self.source or ()),
            **more,
        )

    def as_dict(self, exclude_none: bool = True) -> dict[str, Any]:
        """The filters as given (what a page repeats in its tile URLs)."""
        values = {"window": self.window, "category": self.category, "source": self.source, "end": self.end}
        return {key: value for key, value in values.items() if value is not None or not exclude_none}

    def query_string(self) -> str:
        """The filters as a URL query."""
        return urlencode(self.as_dict(), doseq=True)

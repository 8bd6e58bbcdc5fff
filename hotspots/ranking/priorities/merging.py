"""Places that share a label are one stop: "Vivalla norra delen" three times on a phone is one place.

Labels name the nearest named place, so neighbouring places of one hot area often get the same one. A
field team cannot tell them apart on the list, so they are merged into one entry: cells joined, counts
and scores summed (a place's score is the sum over its cells), the centre weighted by reports, the
strongest significance and pattern kept, and the reasons said again from the merged numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from hotspots.config import Taxonomy
from hotspots.ranking.priorities.entries import PriorityEntry, PriorityList
from hotspots.ranking.priorities.reasons import reasons_for


def _merged(group: list[PriorityEntry], emerging_order: Sequence[str]) -> PriorityEntry:
    first = group[0]
    if len(group) == 1:
        return first
    weight = np.array([max(e.reports, 1) for e in group], dtype=np.float64)
    weight /= weight.sum()

    def centre(name: str, digits: int) -> float:
        return round(float(np.array([getattr(e, name) for e in group]) @ weight), digits)

    counts: Counter[str] = Counter()
    for e in group:
        counts.update(e.counts)
    previous = None
    if all(e.previous_counts is not None for e in group):
        before: Counter[str] = Counter()
        for e in group:
            before.update(e.previous_counts or {})
        previous = dict(before)
    pattern = next(
        (code for code in emerging_order if any(e.emerging == code for e in group)), first.emerging
    )
    with_pattern = [e for e in group if e.emerging == pattern]
    measures = {m["id"]: m for e in group for m in e.measures}
    return replace(
        first,
        score=round(sum(e.score for e in group), 3),
        lat=centre("lat", 6),
        lon=centre("lon", 6),
        easting=centre("easting", 1),
        northing=centre("northing", 1),
        cells=[c for e in group for c in e.cells],
        reports=sum(e.reports for e in group),
        counts=dict(counts),
        previous_reports=None if previous is None else sum(previous.values()),
        previous_counts=previous,
        gi_bin=max(e.gi_bin for e in group),
        gi_z=max(e.gi_z for e in group),
        emerging=pattern,
        emerging_label=with_pattern[0].emerging_label,
        hot_weeks=max(e.hot_weeks for e in with_pattern),
        measures=list(measures.values()),
    )


def merge_same_label(
    plist: PriorityList, *, taxonomy: Taxonomy, emerging_order: Sequence[str]
) -> PriorityList:
    """The list with entries of the same label and area merged and ranked again by score."""
    groups: dict[tuple[str, str | None], list[PriorityEntry]] = {}
    for entry in plist:
        groups.setdefault((entry.label, entry.area_id), []).append(entry)
    if len(groups) == len(plist):
        return plist
    merged = sorted(
        (_merged(group, emerging_order) for group in groups.values()), key=lambda e: (-e.score, -e.reports)
    )
    entries = []
    for rank, entry in enumerate(merged, start=1):
        entry = replace(entry, rank=rank)
        entry.reasons = reasons_for(entry, days=plist.window_days, taxonomy=taxonomy, lang=plist.lang)
        entries.append(entry)
    return replace(plist, entries=entries)

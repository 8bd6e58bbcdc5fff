"""Follow-up of a measure: did reports fall in its target, and did they move to the buffer around it?

Follow-up compares equal periods before and after the start of a measure in three zones, all at the
analysis resolution: the **target** (the measure's cells), a **buffer** ring around it (cells whose centre
is within ``measure_buffer_m`` of a target cell's centre: where displaced trade would go) and a **control** (every other reported cell, or given areas), and reads
the result with the Weighted Displacement Quotient of Bowers & Johnson (2003, "Measuring the geographical
displacement and diffusion of benefit effects of crime prevention activity", J. Quant. Criminol. 19(3)),
with R = target, B = buffer, C = control, b = before, a = after::

    success measure       SM  = Ra/Ca - Rb/Cb              (< 0: the target fell relative to the control)
    buffer measure        BDM = Ba/Ca - Bb/Cb              (> 0: the buffer rose relative to the control)
    WDQ                       = BDM / SM                   (read only when SM < 0)
    total net effect      TNE = (Rb*Ca/Cb - Ra) - (Ba - Bb*Ca/Cb)   (reports prevented, net of displacement)

Reading (their Table 1): WDQ > 1 diffusion of benefit larger than the direct effect; 0 < WDQ <= 1 diffusion
of benefit; WDQ = 0 neither; -1 <= WDQ < 0 displacement, smaller than the direct effect (net benefit);
WDQ < -1 displacement larger than the direct effect (net harm).

>>> wdq_from_counts(target=(100, 50), buffer=(40, 60), control=(1000, 1000))["wdq"]
-0.4
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from hotspots.config import Settings, get_settings
from hotspots.field.dosage import dose_between
from hotspots.geo import h3grid
from hotspots.measures.checks import MeasureError, check_measure
from hotspots.measures.measure import Measure, distance_to_cells
from hotspots.measures.records import get_measure
from hotspots.store.engine import read_reports
from hotspots.words import WDQ_READINGS


def reading_of(wdq: float | None, success: float | None) -> str:
    """The Bowers & Johnson reading code of a WDQ (:data:`hotspots.words.WDQ_READINGS` has the words)."""
    if success is None:
        return "no_control"
    if success >= 0 or wdq is None:
        return "no_reduction"
    if wdq > 1:
        return "diffusion_larger"
    if wdq > 0:
        return "diffusion"
    if wdq == 0:
        return "neither"
    return "displacement_smaller" if wdq >= -1 else "displacement_larger"


def wdq_from_counts(
    *, target: tuple[float, float], buffer: tuple[float, float], control: tuple[float, float]
) -> dict[str, Any]:
    """Success measure, buffer measure, WDQ, total net effect and reading from (before, after) counts."""
    (rb, ra), (bb, ba), (cb, ca) = target, buffer, control
    if cb <= 0 or ca <= 0:
        success = buffer_measure = wdq = net = None
    else:
        success = ra / ca - rb / cb
        buffer_measure = ba / ca - bb / cb
        wdq = buffer_measure / success if success < 0 else None
        net = (rb * ca / cb - ra) - (ba - bb * ca / cb)
    code = reading_of(wdq, success)

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 6)

    return {
        "success_measure": rounded(success),
        "buffer_measure": rounded(buffer_measure),
        "wdq": rounded(wdq),
        "total_net_effect": rounded(net),
        "reading": {"code": code, **WDQ_READINGS[code]},
    }


def follow_up(
    engine: Engine,
    measure: Measure | int,
    *,
    settings: Settings | None = None,
    days: int | None = None,
    buffer_m: float | None = None,
    control_areas: list[str] | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Reports before vs after the measure's start in target, buffer and control, with the WDQ, and the
    field visits (count and minutes) in the target in each period: the dose the measure actually got.

    The periods are equally long: ``days`` if given, else from the start to the measure's end (or to
    ``today`` while it runs), at most as long as the data before it allows. The control is every report
    outside target and buffer, or only those in ``control_areas`` (area ids).
    """
    settings = settings or get_settings()
    measure = get_measure(engine, measure) if isinstance(measure, int) else measure
    check_measure(measure, settings)  # a stored row that is unusable: 422 for it alone
    today = today or datetime.now(ZoneInfo(settings.timezone)).date()
    last = min(measure.end or today, today)
    length = days or (last - measure.start).days + 1
    if length < 1:
        raise MeasureError(f"measure {measure.id} starts {measure.start}: nothing after it to follow up yet")
    zone = ZoneInfo(settings.timezone)

    def instant(day: date) -> datetime:
        return datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)

    before = (measure.start - timedelta(days=length), measure.start)
    after = (measure.start, measure.start + timedelta(days=length))
    reports = read_reports(
        engine,
        start=instant(before[0]),
        end=instant(after[1]),
        columns=("occurred_at", "lat", "lon", "area_id"),
    )
    resolution = settings.analysis_resolution
    target = measure.target_cells(resolution)
    ring_m = buffer_m or settings.measure_buffer_m
    cells = h3grid.latlng_to_cells(reports["lat"].to_numpy(), reports["lon"].to_numpy(), resolution)
    in_target = np.isin(cells, target)
    near = distance_to_cells(cells, target) <= ring_m
    in_buffer = near & ~in_target
    in_control = ~near
    if control_areas:
        in_control &= reports["area_id"].isin(control_areas).to_numpy()
    is_after = (reports["occurred_at"] >= pd.Timestamp(instant(after[0]))).to_numpy()

    def split(mask: np.ndarray) -> tuple[int, int]:
        return int((mask & ~is_after).sum()), int((mask & is_after).sum())

    counts = {"target": split(in_target), "buffer": split(in_buffer), "control": split(in_control)}
    target_hex = [f"{c:x}" for c in target.tolist()]
    dose = {  # the field visits in the target: the intervention as it was carried out
        period: dose_between(engine, target_hex, instant(first), instant(last))._asdict()
        for period, (first, last) in (("before", before), ("after", after))
    }
    return {
        "measure": measure.to_dict(),
        "days": length,
        "before": {"start": before[0].isoformat(), "end": (before[1] - timedelta(days=1)).isoformat()},
        "after": {"start": after[0].isoformat(), "end": (after[1] - timedelta(days=1)).isoformat()},
        "complete": after[1] - timedelta(days=1) <= today,
        "buffer_m": ring_m,
        "target_cells": int(target.size),
        "counts": {zone: {"before": b, "after": a} for zone, (b, a) in counts.items()},
        "visits": dose,
        **wdq_from_counts(**counts),
    }

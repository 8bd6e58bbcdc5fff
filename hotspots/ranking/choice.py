"""The ranking in force: chosen by evidence on the store's own data, stored with its evidence and date.

``select`` scores every candidate over the last ``LOOKBACK`` complete steps (the same evaluation as
``hotspots backtest``) and stores the best by mean PEI at 1 % and 5 %; the newest stored choice is the
one the priority list ranks with (``ranked``). The step is the data's natural one: months when the
dates are month-only (most reports on the 1st at midnight), else ISO weeks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotspots import ranking
from hotspots.analysis import Lattice
from hotspots.config import Settings
from hotspots.errors import EmptyData
from hotspots.ranking.selection import SELECT_ON
from hotspots.ranking.steps import FREQ, FloatArray, Step
from hotspots.schema import ranking_choices
from hotspots.store import dataset_version, read_reports

#: Dates count as month-only when at least this share falls on the 1st of a month at midnight.
MONTH_ONLY_SHARE = 0.9


@dataclass(frozen=True)
class Choice:
    """A stored choice: the candidate, the step it forecasts, when, on which data, and the evidence."""

    method: str
    step: str
    chosen_at: datetime
    dataset_version: int
    evidence: dict[str, Any]

    def why(self) -> str:
        """One line for status and the API: what won, on what, by how much."""
        merit = self.evidence["merit"]
        runner_up = max((v for k, v in merit.items() if k != self.method), default=float("nan"))
        return (
            f"{self.method}: best mean PEI at 1 % and 5 % ({merit[self.method]:.3f}; next best "
            f"{runner_up:.3f}) over the {self.evidence['lookback']} {self.step}s "
            f"{self.evidence['first']} … {self.evidence['last']}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "step": self.step,
            "chosen_at": self.chosen_at.isoformat(),
            "dataset_version": self.dataset_version,
            "why": self.why(),
            "evidence": self.evidence,
        }


def natural_step(occurred_at: pd.Series, tz: str) -> Step:
    """ "month" for month-only dates (a weekly forecast of them would be noise), else "week"."""
    local = occurred_at.dt.tz_convert(tz)
    first_of_month = (local.dt.day == 1) & (local.dt.hour == 0) & (local.dt.minute == 0)
    return "month" if len(local) and float(first_of_month.mean()) >= MONTH_ONLY_SHARE else "week"


def evidence_for(reports: pd.DataFrame, lattice: Lattice, settings: Settings, step: Step) -> dict[str, Any]:
    """Every candidate's merit over the last lookback complete steps (the selection's evidence)."""
    from hotspots.backtest import LOOKBACK, evaluate_origins, history, last_complete_step

    data = history(reports, lattice, settings, step)
    last = last_complete_step(reports, settings, data)
    if last < 2:
        raise EmptyData(f"the data span {data.steps} {step}s: too few to choose a ranking by evidence")
    evaluation, origins = evaluate_origins(data, last - LOOKBACK[step] + 1, last)
    merit = evaluation.merit(0, origins.size)
    return {
        "merit": {name: round(float(m), 4) for name, m in zip(evaluation.names, merit, strict=True)},
        "best": evaluation.names[int(np.argmax(merit))],
        "measure": f"mean PEI at {' and '.join(f'{c:.0%}' for c in SELECT_ON)} of the cells",
        "lookback": int(origins.size),
        "first": str(data.periods[origins[0]]),
        "last": str(data.periods[origins[-1]]),
        "cells": lattice.cells.size,
    }


def select(engine: Engine, settings: Settings, lattice_for: Any, *, step: Step | None = None) -> Choice:
    """Choose by evidence on the stored reports and store the choice (``lattice_for(reports)`` gives the
    lattice, as the analysis builds it)."""
    reports = read_reports(engine, columns=("occurred_at", "category", "lat", "lon", "weight"))
    if reports.empty:
        raise EmptyData("no reports stored: no ranking to choose")
    step = step or natural_step(reports["occurred_at"], settings.timezone)
    evidence = evidence_for(reports, lattice_for(reports), settings, step)
    choice = Choice(evidence["best"], step, datetime.now(UTC), dataset_version(engine), evidence)
    with engine.begin() as conn:
        conn.execute(
            ranking_choices.insert().values(
                chosen_at=choice.chosen_at, step=step, method=choice.method,
                dataset_version=choice.dataset_version, evidence=json.dumps(evidence),
            )
        )  # fmt: skip
    return choice


def in_force(engine: Engine) -> Choice | None:
    """The newest stored choice, or None before the first selection."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(ranking_choices).order_by(ranking_choices.c.id.desc()).limit(1)
        ).one_or_none()
    if row is None:
        return None
    return Choice(row.method, row.step, row.chosen_at, row.dataset_version, json.loads(row.evidence))


def ranked(
    reports: pd.DataFrame, lattice: Lattice, settings: Settings, choice: Choice, end: datetime
) -> FloatArray:
    """The chosen candidate's score of every lattice cell for the step after the window ending ``end``,
    from the reports before ``end`` only."""
    from hotspots.backtest import history

    step: Step = "month" if choice.step == "month" else "week"
    before = reports[reports["occurred_at"] < pd.Timestamp(end)]
    if before.empty:
        return np.zeros(lattice.cells.size)
    last = pd.Timestamp(end).tz_convert(settings.timezone).tz_localize(None) - pd.Timedelta(microseconds=1)
    current = last.to_period(FREQ[step])
    data = history(before, lattice, settings, step, until=current + 1)
    origin = int((current + 1).ordinal - data.periods[0].ordinal)
    candidate = ranking.by_name(step, choice.method)
    return np.asarray(candidate.rank(data, np.array([origin], dtype=np.int64))[:, 0])

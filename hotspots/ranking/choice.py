"""The ranking in force: chosen by evidence on the store's own data, stored with its evidence and date.

``select`` scores every candidate over the last ``LOOKBACK`` complete steps (the same evaluation as
``hotspots backtest``) and stores the tiered blend of the best by PEI at 1 % and at 5 %
(:mod:`hotspots.ranking.blend`); the newest stored choice is the one the priority list ranks with
(``ranked``). The step is the data's natural one: months when the
dates are month-only (most reports on the 1st at midnight), else ISO weeks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotspots.analysis.lattice import Lattice
from hotspots.config import Settings
from hotspots.errors import EmptyData
from hotspots.geo.areas import Areas
from hotspots.ranking import blend, candidates
from hotspots.ranking.selection import SELECT_ON, SELECTED, choose_tiers, evaluate, pooled_pei, selected_cells
from hotspots.ranking.steps import FREQ, FloatArray, Step
from hotspots.store.engine import dataset_version, read_reports
from hotspots.store.schema import ranking_choices

#: The candidate that is the priority score itself (the list then uses the score with its bonuses).
DEFAULT_METHOD = "weighted_score"
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
        """One line for status and the API: what ranks each tier of the list, on what, by how much."""
        merit = self.evidence["merit"]
        if not isinstance(next(iter(merit.values())), dict):  # stored before tiers: one mean PEI
            merit = {"mean": merit}
        parts = []
        for (coverage, pei), members in zip(merit.items(), blend.tiers(self.method), strict=False):
            runner_up = max((v for k, v in pei.items() if k not in members), default=float("nan"))
            won = ", ".join(f"{pei[m]:.3f}" for m in members)
            parts.append(f"the best at {_percent(coverage)} (PEI {won}; next {runner_up:.3f})")
        return (
            f"{self.method}: {', the rest by '.join(parts)}, over the {self.evidence['lookback']} "
            f"{self.step}s {self.evidence['first']} … {self.evidence['last']}"
        )

    def to_dict(self) -> dict[str, Any]:
        """What status and the API show: the choice and its merit table (not the per-step detail)."""
        shown = {k: v for k, v in self.evidence.items() if k not in ("per_step", "names")}
        return {
            "method": self.method,
            "step": self.step,
            "chosen_at": self.chosen_at.isoformat(),
            "dataset_version": self.dataset_version,
            "why": self.why(),
            "evidence": shown,
        }


def _percent(coverage: str) -> str:
    return f"{float(coverage):.0%}".replace("%", " %") if coverage != "mean" else "1 % and 5 %"


def natural_step(occurred_at: pd.Series, tz: str) -> Step:
    """ "month" for month-only dates (a weekly forecast of them would be noise), else "week"."""
    local = occurred_at.dt.tz_convert(tz)
    first_of_month = (local.dt.day == 1) & (local.dt.hour == 0) & (local.dt.minute == 0)
    return "month" if len(local) and float(first_of_month.mean()) >= MONTH_ONLY_SHARE else "week"


def evidence_for(
    reports: pd.DataFrame,
    lattice: Lattice,
    settings: Settings,
    step: Step,
    known: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every candidate's merit over the last lookback complete steps (the selection's evidence).

    ``known`` (an earlier choice's evidence) supplies the steps already scored, so after a weekly import
    only the new step is ranked and scored: that is what makes re-selection after an import cheap.
    """
    from hotspots.ranking.backtest import LOOKBACK, history, last_complete_step

    data = history(reports, lattice, settings, step)
    last = last_complete_step(reports, settings, data)
    if last < 2:
        raise EmptyData(f"the data span {data.steps} {step}s: too few to choose a ranking by evidence")
    every = candidates.for_step(step)
    names = [c.name for c in every]
    wanted = np.arange(max(1, last - LOOKBACK[step] + 1), last + 1, dtype=np.int64)
    labels = [str(data.periods[t]) for t in wanted.tolist()]
    per_step: dict[str, Any] = {}
    if known and known.get("names") == names:
        per_step = {label: known["per_step"][label] for label in labels if label in known["per_step"]}
    new = np.array(
        [t for t, label in zip(wanted, labels, strict=True) if label not in per_step], dtype=np.int64
    )
    if new.size:
        evaluation = evaluate(data, every, new)
        for j, t in enumerate(new.tolist()):
            per_step[str(data.periods[t])] = {
                "best": evaluation.best[j, SELECTED].tolist(),
                "hits": evaluation.hits[:, j, SELECTED].tolist(),
            }
    hits = np.array([per_step[label]["hits"] for label in labels])  # (steps, candidates, coverages)
    best = np.array([per_step[label]["best"] for label in labels])
    merit = pooled_pei(hits.transpose(1, 0, 2), best)
    chosen = choose_tiers(merit)
    return {
        "merit": {
            str(c): {name: round(float(m), 4) for name, m in zip(names, merit[:, j], strict=True)}
            for j, c in enumerate(SELECT_ON)
        },
        "best": blend.name([[names[c] for c in tier] for tier in chosen.tolist()]),
        "measure": f"PEI at {' and '.join(f'{c:.0%}' for c in SELECT_ON)} of the cells",
        "lookback": len(labels),
        "first": labels[0],
        "last": labels[-1],
        "cells": lattice.cells.size,
        "names": names,
        "per_step": per_step,
    }


def select(
    engine: Engine,
    settings: Settings,
    lattice_for: Callable[[pd.DataFrame], Lattice],
    *,
    step: Step | None = None,
    incremental: bool = False,
) -> Choice:
    """Choose by evidence on the stored reports and store the choice (``lattice_for(reports)`` gives the
    lattice, as the analysis builds it). ``incremental``: reuse the steps the choice in force scored."""
    reports = read_reports(engine, columns=("occurred_at", "category", "lat", "lon", "weight"))
    if reports.empty:
        raise EmptyData("no reports stored: no ranking to choose")
    step = step or natural_step(reports["occurred_at"], settings.timezone)
    previous = in_force(engine) if incremental else None
    known = previous.evidence if previous is not None and previous.step == step else None
    evidence = evidence_for(reports, lattice_for(reports), settings, step, known)
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
    """The chosen blend's score of every lattice cell for the step after the window ending ``end``,
    from the reports before ``end`` only."""
    from hotspots.ranking.backtest import history

    step: Step = "month" if choice.step == "month" else "week"
    before = reports[reports["occurred_at"] < pd.Timestamp(end)]
    if before.empty:
        return np.zeros(lattice.cells.size)
    last = pd.Timestamp(end).tz_convert(settings.timezone).tz_localize(None) - pd.Timedelta(microseconds=1)
    current = last.to_period(FREQ[step])
    data = history(before, lattice, settings, step, until=current + 1)
    origin = int((current + 1).ordinal - data.periods[0].ordinal)
    at = np.array([origin], dtype=np.int64)
    tiers = blend.tiers(choice.method)
    ranks = {name: candidates.by_name(step, name).rank(data, at) for name in {n for t in tiers for n in t}}
    blends = [blend.blend([ranks[name] for name in tier]) for tier in tiers]
    return np.asarray(blend.tiered(blends, selected_cells(data.cells, SELECT_ON).tolist())[:, 0])


def list_ranking(
    engine: Engine, settings: Settings, lattice: Lattice, end: datetime
) -> tuple[FloatArray | None, dict[str, Any]]:
    """The scores the priority list ranks by for a window ending ``end``, and what the list says about them.

    None scores: rank by the priority score itself (no choice stored yet, or the score was chosen).
    """
    choice = in_force(engine)
    if choice is None:
        return None, {"method": DEFAULT_METHOD, "why": "no ranking chosen yet (hotspots backtest --select)"}
    about = {"method": choice.method, "step": choice.step, "chosen_at": choice.chosen_at.isoformat(),
             "why": choice.why()}  # fmt: skip
    if choice.method == DEFAULT_METHOD:
        return None, about
    reports = read_reports(engine, end=end, columns=("occurred_at", "category", "lat", "lon", "weight"))
    return ranked(reports, lattice, settings, choice, end), about


def reselect_after_import(engine: Engine, settings: Settings, areas: Areas | None) -> Choice | None:
    """After an import: re-choose on the latest evidence, scoring only the steps not scored before.

    Nothing happens before the first deliberate choice (``hotspots backtest --select``), which costs a
    full evaluation."""
    from hotspots.ranking.backtest import study_lattice

    previous = in_force(engine)
    if previous is None:
        return None
    step: Step = "month" if previous.step == "month" else "week"
    return select(engine, settings, lambda r: study_lattice(r, settings, areas), step=step, incremental=True)

"""Ranking candidates and their selection by evidence (issue 13).

Which cells to name first is an empirical question that differs between deployments: on dense synthetic
data every method ties, on real sparse data the simple long-horizon counts and kernels often win. So the
ranking the priority list uses is chosen per deployment, by rolling-origin backtesting on its own data
(:mod:`hotspots.ranking.selection`), among these candidates (one module per method):

====================  ===================================================================================
``naive_<k>``         reports in the cell over the last k steps (:mod:`.naive`)
``weighted_score``    the pre-selection priority score, 14-day half-life + neighbours × 4 (:mod:`.score`)
``decayed_<h>w``      reports of the last three years, half-life h weeks, one smoothed (:mod:`.decayed`)
``kde_<b>m_<k>``      quartic kernel density, bandwidth b, last k steps (:mod:`.density`)
``prospective_…``     Bowers, Johnson & Pease's prospective map, several decays (:mod:`.prospective`)
``sepp``              self-exciting point process fitted by EM (Mohler et al. 2011) (:mod:`.sepp`)
``glm``               Poisson regression on the inputs above, fitted on earlier steps (:mod:`.glm`)
====================  ===================================================================================
"""

from __future__ import annotations

from hotspots.ranking.candidates import decayed, density, glm, naive, prospective, score, sepp
from hotspots.ranking.candidates.candidate import Candidate
from hotspots.ranking.steps import Step

#: In order of simplicity: a tie in the evidence goes to the earlier one.
FAMILIES = (naive, score, decayed, density, prospective, sepp, glm)


def for_step(step: Step) -> list[Candidate]:
    """Every candidate configuration for weekly or monthly steps."""
    return [c for family in FAMILIES for c in family.candidates(step)]


def by_name(step: Step, name: str) -> Candidate:
    """The candidate called ``name`` (as stored with a choice)."""
    return next(c for c in for_step(step) if c.name == name)

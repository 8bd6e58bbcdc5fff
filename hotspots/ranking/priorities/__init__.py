"""Priority lists: ranked places with reasons in words, split by concept.

========== ====================================================================================
scoring    the priority score of each lattice cell: weight-free terms and the settings' weights
grouping   which cells a field team visits as one place
entries    the value types: a ranked place (:class:`PriorityEntry`) and a list (:class:`PriorityList`)
reasons    why a place is listed, in words filled from the entry's own numbers
ranking    the list builder: score, group, rank, attach measures, explain (:func:`build_priorities`)
========== ====================================================================================

Drawing a list (CSV, GeoJSON, HTML) is :mod:`maps.priorities`. The names below are the package's
public face, so callers need not know which module a value type lives in.
"""

from hotspots.ranking.priorities.builder import build_priorities, previous_window_counts, priority_list
from hotspots.ranking.priorities.entries import PriorityEntry, PriorityList
from hotspots.ranking.priorities.scoring import ScoreWeights

__all__ = [
    "PriorityEntry",
    "PriorityList",
    "ScoreWeights",
    "build_priorities",
    "previous_window_counts",
    "priority_list",
]

"""Reasons agree with the numbers beside them: the change against the previous window is stated, and a
rising pattern beside a falling count says its time scale instead of contradicting the count."""

from __future__ import annotations

import pytest

from hotspots.config import Settings, Taxonomy
from hotspots.ranking.priorities.entries import PriorityEntry
from hotspots.ranking.priorities.reasons import reasons_for


def _entry(reports: int, previous: int, emerging: str, label: str) -> PriorityEntry:
    return PriorityEntry(
        rank=1, score=1.0, area_id="vivalla", area="Vivalla", label="Vivalla centrum", lat=59.27, lon=15.15,
        easting=0.0, northing=0.0, cells=[], reports=reports, counts={}, previous_reports=previous,
        previous_counts=None, gi_bin=3, gi_z=5.0, emerging=emerging, emerging_label=label, hot_weeks=52,
    )  # fmt: skip


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Settings().taxonomy


def test_falling_count_beside_intensifying_is_explained(taxonomy: Taxonomy) -> None:
    reasons = reasons_for(_entry(268, 300, "intensifying_hot", "intensifierande hotspot"), days=28,
                          taxonomy=taxonomy, lang="sv")  # fmt: skip
    text = "; ".join(reasons)
    assert "268 rapporter senaste 28 dagarna" in text
    assert "föregående 28 dagar: 300 (nu −32)" in text
    assert (
        "intensifierande hotspot räknat över 52 veckor, trots färre rapporter de senaste 28 dagarna" in text
    )


def test_rising_count_keeps_the_plain_pattern(taxonomy: Taxonomy) -> None:
    reasons = reasons_for(_entry(320, 300, "intensifying_hot", "intensifying hot spot"), days=28,
                          taxonomy=taxonomy, lang="en")  # fmt: skip
    assert "previous 28 days: 300 (now +20)" in reasons
    assert "intensifying hot spot 52 weeks" in reasons
    assert not any("despite" in r for r in reasons)

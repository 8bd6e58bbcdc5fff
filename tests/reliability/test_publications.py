"""Planner publications cannot be differenced into a small count (issue 15, finding 2).

Every allowed (period, group) publication of the two-year demo is made, and an attacker's arithmetic is
done on what was published: every pair is differenced, and every combination is reduced to residuals
(a published count minus its largest published sub-periods; any derivable count is a sum of these). The
reference counts come from the raw demo file, binned here with h3-py per row. The same arithmetic on
per-query suppression (the old rule) does reveal small counts on this data, so the check has teeth.
"""

from __future__ import annotations

import itertools
import tomllib
from datetime import date, timedelta

import h3
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from hotspots.access import accounts
from hotspots.access.accounts import Role
from hotspots.publish.publications import (
    PUBLICATION_LAG_DAYS,
    Period,
    category_groups,
    periods_between,
    publish,
)
from tests.conftest import DemoStore

Key = tuple[Period, str]
#: Published cell -> count, per (period, group).
Published = dict[Key, dict[str, int]]


def _today(demo: DemoStore) -> date:
    return demo.end + timedelta(days=PUBLICATION_LAG_DAYS + 1)


@pytest.fixture(scope="module")
def truth(demo_store: DemoStore) -> pd.DataFrame:
    """Demo reports per (cell, local month, group), counted from the raw CSV with h3-py."""
    raw = pd.read_csv(demo_store.directory / "reports.csv", dtype=str)
    settings = demo_store.settings
    res = settings.analysis_resolution
    cells = [h3.latlng_to_cell(float(a), float(b), res) for a, b in zip(raw["lat"], raw["lon"], strict=True)]
    local = pd.to_datetime(raw["occurred_at"], utc=True, format="ISO8601").dt.tz_convert(settings.timezone)
    groups = tomllib.loads(settings.taxonomy_file.read_text(encoding="utf-8"))["groups"]
    group_of = {c: g["id"] for g in groups for c in g["categories"]}
    frame = pd.DataFrame(
        {
            "cell": cells,
            "year": local.dt.year,
            "month": local.dt.month,
            "group": raw["category"].map(group_of),
        }
    )
    return frame.groupby(["cell", "year", "month", "group"]).size().rename("count").reset_index()


@pytest.fixture(scope="module")
def allowed(demo_store: DemoStore) -> list[Key]:
    first = demo_store.end - timedelta(weeks=104)
    groups = category_groups(demo_store.settings)
    return [(p, g) for p in periods_between(first, _today(demo_store)) for g in groups]


@pytest.fixture(scope="module")
def published(demo_store: DemoStore, allowed: list[Key]) -> Published:
    out: Published = {}
    for period, group in allowed:
        pub = publish(demo_store.engine, demo_store.settings, period, group, today=_today(demo_store))
        out[(period, group)] = {f"{int(c):x}": int(n) for c, n in zip(pub.cells, pub.counts, strict=True)}
    return out


def _true_counts(truth: pd.DataFrame, period: Period, group: str) -> pd.Series:
    months = [m.number for m in period.months()]
    part = truth[(truth["year"] == period.year) & truth["month"].isin(months) & (truth["group"] == group)]
    return part.groupby("cell")["count"].sum()


def _revealed_by_pairs(published: Published, threshold: int) -> list[tuple[str, str, str, int]]:
    """Every difference of two publications of nested periods (same group, same cell) in 1..threshold-1."""
    found = []
    for a, b in itertools.permutations(published, 2):
        (pa, ga), (pb, gb) = a, b
        if ga != gb or not pa.contains(pb) or pa == pb:
            continue
        for cell in published[a].keys() & published[b].keys():
            difference = published[a][cell] - published[b][cell]
            if 0 < difference < threshold:
                found.append((str(pa), str(pb), cell, difference))
    return found


def _residuals(published: Published) -> list[int]:
    """Each published count minus its largest published sub-periods: every count an attacker can derive
    from any combination of publications is a sum of these."""
    out = []
    for (period, group), cells in published.items():
        children: list[Period] = []
        if period.kind == "year":
            children = [Period("quarter", period.year, q) for q in range(1, 5)]
        elif period.kind == "quarter":
            children = period.months()
        for cell, count in cells.items():
            covered = 0
            for child in children:
                if cell in published.get((child, group), {}):
                    covered += published[(child, group)][cell]
                elif child.kind == "quarter":  # a hidden quarter: its published months count
                    covered += sum(published.get((m, group), {}).get(cell, 0) for m in child.months())
            out.append(count - covered)
    return out


def test_allowed_publications_are_nested_or_disjoint(allowed: list[Key], demo_store: DemoStore) -> None:
    groups = category_groups(demo_store.settings)
    assert len(allowed) > 40
    for (pa, ga), (pb, gb) in itertools.combinations(allowed, 2):
        assert ga == gb or not set(groups[ga]) & set(groups[gb])
        months_a, months_b = set(pa.months()), set(pb.months())
        assert months_a <= months_b or months_b <= months_a or not months_a & months_b


def test_published_counts_are_the_true_counts(published: Published, truth: pd.DataFrame) -> None:
    shown = 0
    for (period, group), cells in published.items():
        expected = _true_counts(truth, period, group)
        assert cells == {cell: int(expected[cell]) for cell in cells}, (str(period), group)
        shown += len(cells)
    assert shown > 500  # the demo publishes plenty: the rule withholds little that a planner could use


def test_no_pair_or_combination_of_publications_reveals_a_small_count(
    published: Published, demo_store: DemoStore
) -> None:
    threshold = demo_store.settings.suppression_threshold
    assert _revealed_by_pairs(published, threshold) == []
    assert [r for r in _residuals(published) if 0 < r < threshold] == []


def test_per_query_suppression_would_reveal_small_counts(
    truth: pd.DataFrame, allowed: list[Key], demo_store: DemoStore
) -> None:
    """The control: the same attacker arithmetic on 'drop cells under the threshold' finds small counts."""
    threshold = demo_store.settings.suppression_threshold
    naive: Published = {}
    for period, group in allowed:
        counts = _true_counts(truth, period, group)
        naive[(period, group)] = counts[counts >= threshold].astype(int).to_dict()
    assert len(_revealed_by_pairs(naive, threshold)) > 10


def test_planner_asking_for_a_free_window_is_refused_and_gets_the_publication(
    demo_store: DemoStore, published: Published, allowed: list[Key]
) -> None:
    accounts.add_user(demo_store.engine, "pub-planner", Role.PLANNER, password="publication-pw-1")
    key = {"X-API-Key": accounts.create_key(demo_store.engine, "pub-planner")}
    client = TestClient(create_app(demo_store.settings, demo_store.engine))
    refused = client.get("/exports/cells.csv", headers=key, params={"window": "27d", "source": "police"})
    assert refused.status_code == 422
    fields = {d["field"] for d in refused.json()["error"]["details"]}
    assert fields == {"query.window", "query.source"}
    period, group = next(k for k in allowed if k[0].kind == "quarter" and published[k])
    response = client.get(
        "/exports/cells.geojson", headers=key, params={"period": str(period), "group": group}
    )
    served = {f["properties"]["cell"]: f["properties"]["count"] for f in response.json()["features"]}
    assert served and set(served) <= set(published[(period, group)])
    assert all(published[(period, group)][c] == n for c, n in served.items())

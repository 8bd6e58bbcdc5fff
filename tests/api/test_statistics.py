"""Statistics router on SQLite and PostgreSQL: counts against the planted seed, the planted cell is the top
hotspot, GeoJSON follows RFC 7946, ETags answer 304 until a write, bad parameters are named 422s."""

from __future__ import annotations

import warnings

import h3
import libpysal
import numpy as np
import pandas as pd
import shapely
from esda.getisord import G_Local
from scipy import stats
from shapely.geometry import shape

from tests.api.conftest import CLUSTER, END, SPARSE, Api, seed_rows

Q = {"end": END.isoformat(), "window": "28d"}


def test_cells_carry_the_planted_counts(api: Api) -> None:
    response = api.client.get("/statistics/cells", headers=api.auth("est"), params=Q | {"min_count": 1})
    assert response.status_code == 200, response.text
    body = response.json()
    counts = {c["cell"]: c["count"] for c in body["cells"]}
    assert counts == {api.cell("vivalla"): CLUSTER, api.cell("baronbackarna"): SPARSE}
    assert body["meta"]["resolution"] == api.settings.analysis_resolution
    assert body["meta"]["end"].startswith("2026-11-15T23:00")  # midnight after END, local time in UTC
    everything = api.client.get("/statistics/cells", headers=api.auth("est"), params=Q).json()["cells"]
    assert len(everything) > 100  # the zero cells of the study area are part of the lattice


def test_the_planted_cluster_is_the_strongest_hotspot(api: Api) -> None:
    hot = api.client.get(
        "/statistics/hotspots", headers=api.auth("est"), params=Q | {"confidence": 95}
    ).json()
    # Gi* sums each cell's k-ring, so the planted cell ties with its six neighbours for the top z-score
    top = max(c["GiZScore"] for c in hot["cells"])
    planted = next(c for c in hot["cells"] if c["cell"] == api.cell("vivalla"))
    assert planted["GiZScore"] == top and planted["Gi_Bin"] == 3
    assert all(c["Gi_Bin"] >= 2 for c in hot["cells"])
    z = [c["GiZScore"] for c in hot["cells"]]
    assert z == sorted(z, reverse=True)


def test_geojson_is_rfc7946(api: Api) -> None:
    response = api.client.get(
        "/statistics/cells", headers=api.auth("est"), params=Q | {"min_count": 1, "format": "geojson"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection" and "crs" not in collection
    features = {feature["properties"]["cell"]: feature for feature in collection["features"]}
    assert {cell: f["properties"]["count"] for cell, f in features.items()} == {
        api.cell("vivalla"): CLUSTER,
        api.cell("baronbackarna"): SPARSE,
    }
    for area_id in ("vivalla", "baronbackarna"):
        feature = features[api.cell(area_id)]
        assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Polygon"
        ring = feature["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1]  # closed
        assert shapely.LinearRing(ring).is_ccw  # exterior rings counter-clockwise (RFC 7946 3.1.6)
        # [lon, lat] order: the hexagon is h3's own boundary of the cell and holds the planted reports.
        hexagon = shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(api.cell(area_id))])
        assert shape(feature["geometry"]).symmetric_difference(hexagon).area < 1e-12
        lat, lon = api.point(area_id)
        assert shape(feature["geometry"]).contains(shapely.Point(lon, lat))


def test_etag_answers_304_until_a_write(api: Api) -> None:
    auth = api.auth("est")
    first = api.client.get("/statistics/summary", headers=auth, params=Q)
    etag = first.headers["etag"]
    assert first.json()["reports"] == CLUSTER + SPARSE
    cached = api.client.get("/statistics/summary", headers=auth | {"If-None-Match": etag}, params=Q)
    assert cached.status_code == 304 and cached.headers["etag"] == etag and not cached.content
    other = api.client.get(
        "/statistics/summary", headers=auth | {"If-None-Match": etag}, params=Q | {"window": "7d"}
    )
    assert other.status_code == 200 and other.headers["etag"] != etag
    lat, lon = api.point("vivalla")
    report = {
        "source": "police",
        "source_id": "etag-1",
        "occurred_at": "2026-11-12T12:00:00+01:00",
        "category": "arrest",
        "lat": lat,
        "lon": lon,
    }
    assert api.client.post("/reports", headers=api.auth("analyst"), json=report).status_code == 201
    after = api.client.get("/statistics/summary", headers=auth | {"If-None-Match": etag}, params=Q)
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert after.json()["reports"] == CLUSTER + SPARSE + 1


def reference_bins(cells: list[str], counts: np.ndarray, k: int, inference: str = "norm") -> np.ndarray:
    """ArcGIS's FDR-corrected Gi_Bin from peers: h3's k-rings, esda's Gi*, scipy's Benjamini-Hochberg; with
    a sparse window's exact count tail (issue 13), p from scipy's Poisson / negative binomial instead."""
    index = {cell: i for i, cell in enumerate(cells)}
    neighbours = {
        i: [index[c] for c in h3.grid_disk(cell, k) if c in index and c != cell] for cell, i in index.items()
    }
    with warnings.catch_warnings():  # esda's deprecation chatter; islands are fine here
        warnings.simplefilter("ignore")
        gi = G_Local(
            counts,
            libpysal.weights.W(neighbours, silence_warnings=True),
            transform="B",
            star=True,
            permutations=0,
        )
    p = 2 * stats.norm.sf(np.abs(gi.Zs))
    if inference in ("poisson", "negbin"):
        sums = np.array([counts[i] + counts[neighbours[i]].sum() for i in range(len(cells))])
        size = np.array([1 + len(neighbours[i]) for i in range(len(cells))])
        mean = counts.mean()
        if inference == "poisson":
            upper, lower = stats.poisson.sf(sums - 1, size * mean), stats.poisson.cdf(sums, size * mean)
        else:  # dispersion from the bulk of the cells (the top 1 % left out), as documented
            bulk = counts[counts <= np.quantile(counts, 0.99)]
            r = bulk.mean() ** 2 / (bulk.var(ddof=1) - bulk.mean())
            upper = stats.nbinom.sf(sums - 1, size * r, r / (r + mean))
            lower = stats.nbinom.cdf(sums, size * r, r / (r + mean))
        p = np.minimum(1, 2 * np.minimum(upper, lower))
    q = stats.false_discovery_control(p, method="bh")
    level = np.select([q <= 0.01, q <= 0.05, q <= 0.10], [3, 2, 1], 0)
    return np.sign(gi.Zs).astype(int) * level


def test_summary_matches_an_independent_computation(api: Api) -> None:
    """Reports per area from the planted seed, hot cells from esda's Gi* over the served lattice."""
    lattice = api.client.get("/statistics/cells", headers=api.auth("est"), params=Q).json()["cells"]
    cells = [c["cell"] for c in lattice]
    area_of = pd.Series([c["area_id"] for c in lattice], index=cells)
    seed = seed_rows(api.areas)
    planted = pd.Series(
        [
            h3.latlng_to_cell(float(r.lat), float(r.lon), api.settings.analysis_resolution)
            for r in seed.itertuples()
        ]
    ).value_counts()
    counts = planted.reindex(cells, fill_value=0).astype(float)
    got = api.client.get("/statistics/summary", headers=api.auth("est"), params=Q).json()
    assert got["inference"] == "poisson"  # a planted cluster and sparse reports: the exact count tail
    bins = pd.Series(
        reference_bins(cells, counts.to_numpy(), api.settings.neighbourhood_k, got["inference"]), index=cells
    )

    assert got["reports"] == len(seed) == CLUSTER + SPARSE
    assert got["hot_cells"] == {str(p): int((bins == b).sum()) for p, b in ((99, 3), (95, 2), (90, 1))}
    assert got["hot_cells"]["99"] == 7  # the planted cell and its six neighbours (each k-ring holds it)
    for area_id, area in got["areas"].items():
        mine = area_of == area_id
        assert area["reports"] == int(counts[mine].sum())
        assert area["cells"] == int(mine.sum())
        assert (area["hot_99"], area["hot_95"], area["hot_90"]) == tuple(
            int(((bins == b) & mine).sum()) for b in (3, 2, 1)
        )
        assert area["cold"] == int(((bins < 0) & mine).sum())
    assert got["areas"]["vivalla"]["reports"] == CLUSTER


def test_area_and_category_filters(api: Api) -> None:
    auth = api.auth("est")
    cells = api.client.get(
        "/statistics/cells", headers=auth, params=Q | {"area": "Baronbackarna", "min_count": 1}
    )
    assert [c["cell"] for c in cells.json()["cells"]] == [api.cell("baronbackarna")]
    none = api.client.get(
        "/statistics/cells", headers=auth, params=Q | {"category": "arrest", "min_count": 1}
    )
    assert none.json()["cells"] == []


def test_emerging_and_change(api: Api) -> None:
    auth = api.auth("est")
    emerging = api.client.get("/statistics/emerging", headers=auth, params=Q).json()
    assert sum(c["cells"] for c in emerging["categories"]) > 0
    assert {"code", "sv", "en", "cells"} <= set(emerging["categories"][0])
    change = api.client.get("/statistics/change", headers=auth, params=Q).json()
    assert change["week"] == "2026-W46" and change["previous_week"] == "2026-W45"
    vivalla = next(a for a in change["areas"] if a["area_id"] == "vivalla")
    days = [1 + i % 14 for i in range(CLUSTER)]  # the seed's days of November (conftest.seed_rows)
    week46 = sum(9 <= d <= 15 for d in days)  # Mon 9 - Sun 15 November
    week45 = sum(2 <= d <= 8 for d in days)
    assert vivalla["name"] == "Vivalla"
    assert (vivalla["current"], vivalla["previous"]) == (week46, week45)


def test_bad_parameters_are_named_422s(api: Api) -> None:
    auth = api.auth("est")
    for params, field in (
        ({"window": "many"}, "query.window"),
        ({"window": "0d"}, "query.window"),
        ({"end": "1066-10-14"}, "query.end"),
        ({"end": "not-a-date"}, "query.end"),
        ({"category": "unicorns"}, "query.category"),
        ({"resolution": 15}, "query.resolution"),
        ({"area": "atlantis"}, "query.area"),
    ):
        response = api.client.get("/statistics/cells", headers=auth, params=params)
        assert response.status_code == 422, (params, response.text)
        assert field in [d["field"] for d in response.json()["error"]["details"]], (params, response.text)

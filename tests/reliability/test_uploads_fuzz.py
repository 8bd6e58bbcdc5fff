"""Broken uploads to POST /reports/import and /reports/batch: a 4xx with a reason, and nothing written.

Hypothesis builds the files an importer meets in the wild or from an attacker: binary junk under any file
name, CSV in the wrong encoding, huge fields, NaN and infinite coordinates, deeply nested JSON, zip and gzip
bombs (a small file that inflates to 64 MB), GeoJSON with lines, polygons or no geometry, empty files and
names with ``../``. Every answer must be a 4xx in the one error shape with a message, and the store must
be exactly as before: same report count, same number of imports, same dataset version.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotspots.geo.areas import Areas
from hotspots.store.engine import dataset_version
from hotspots.store.schema import imports, reports
from tests.api.conftest import Api, api_settings, make_api

HEADER = "source,source_id,occurred_at,category,lat,lon,note"
#: One valid row's fields (inside Örebro), which the strategies break one way or another.
GOOD = {
    "source": "police",
    "source_id": "F-1",
    "occurred_at": "2026-11-10T21:30:00+01:00",
    "category": "observed_dealing",
    "lat": "59.2741",
    "lon": "15.2066",
    "note": "",
}
SUFFIXES = (".csv", ".geojson", ".json", ".gpkg", ".zip", ".gz", ".txt", "")
TRAVERSAL = ("", "../", "../../etc/", "/etc/", "..\\..\\windows\\", "%2e%2e/", "./.../")
NON_FINITE = ("NaN", "nan", "inf", "-inf", "Infinity", "1e309", "-1e400", "")


def _bomb_payload() -> bytes:
    """64 MB of a GeoJSON FeatureCollection that is almost all whitespace (compresses ~1000:1)."""
    return b'{"type":"FeatureCollection","features":[' + b" " * (64 << 20) + b"]}"


def _zip(name: str, payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(name, payload)
    return buffer.getvalue()


_PAYLOAD = _bomb_payload()
#: Built once: a zip and a gzip of the 64 MB payload, each well under the test app's 200 kB body limit.
BOMBS = (_zip("reports.geojson", _PAYLOAD), _zip("reports.csv", _PAYLOAD), gzip.compress(_PAYLOAD, 9))
del _PAYLOAD


def _csv(rows: list[dict[str, str]]) -> str:
    return (
        "\n".join([HEADER] + [",".join(json.dumps(row[k], ensure_ascii=False) for k in GOOD) for row in rows])
        + "\n"
    )


def _feature(geometry: dict[str, Any] | None, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": {**GOOD, **properties}}


def _collection(*features: dict[str, Any]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


junk = st.tuples(st.sampled_from(SUFFIXES), st.binary(min_size=1, max_size=2000))
wrong_encoding = st.tuples(
    st.just(".csv"),
    # Windows-1252 (and Latin-1, its subset for Swedish text) is what Swedish Excel writes: it is read.
    st.sampled_from(["utf-16", "utf-32", "mac-roman"]).map(
        lambda codec: _csv([GOOD | {"note": "Västhaga, Örebro, två personer"}]).encode(codec)
    ),
)
huge_field = st.tuples(
    st.sampled_from([".csv", ".geojson"]),
    st.tuples(st.sampled_from(["note", "source_id", "category"]), st.integers(4_001, 150_000)).map(
        lambda spec: _csv([GOOD | {spec[0]: "x" * spec[1]}]).encode()
    ),
)
non_finite = st.one_of(
    st.tuples(
        st.just(".csv"),
        st.tuples(st.sampled_from(["lat", "lon"]), st.sampled_from(NON_FINITE)).map(
            lambda spec: _csv([GOOD, GOOD | {"source_id": "F-2", spec[0]: spec[1]}]).encode()
        ),
    ),
    st.tuples(
        st.sampled_from([".geojson", ".json"]),
        st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999"]).map(
            lambda bad: _collection(_feature({"type": "Point", "coordinates": [15.2, 59.27]})).replace(
                b"59.27", bad.encode()
            )
        ),
    ),
)
_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
garbage_json = st.recursive(
    _json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)
nested = st.tuples(
    st.sampled_from([".geojson", ".json", ".gpkg"]),
    st.one_of(
        garbage_json.map(lambda value: json.dumps(value).encode()),
        st.integers(50, 20_000).map(lambda depth: b'{"type":' + b"[" * depth + b"]" * depth + b"}"),
        st.integers(50, 20_000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
    ),
)
bomb = st.tuples(
    st.sampled_from([".zip", ".gz", ".geojson", ".json", ".gpkg", ".csv"]),
    st.sampled_from(range(len(BOMBS))).map(BOMBS.__getitem__),
)
wrong_geometry = st.tuples(
    st.sampled_from([".geojson", ".json"]),
    st.sampled_from(
        [
            {"type": "LineString", "coordinates": [[15.2, 59.27], [15.21, 59.28]]},
            {
                "type": "Polygon",
                "coordinates": [[[15.2, 59.27], [15.21, 59.27], [15.21, 59.28], [15.2, 59.27]]],
            },
            {"type": "MultiPoint", "coordinates": [[15.2, 59.27], [15.21, 59.28]]},
            None,
        ]
    ).map(lambda geometry: _collection(_feature(geometry))),
)
empty = st.tuples(
    st.sampled_from(SUFFIXES),
    st.sampled_from([b"", b"\xef\xbb\xbf", b"\n\n", (HEADER + "\n").encode(), _collection()]),
)
broken_upload = st.tuples(
    st.sampled_from(TRAVERSAL),
    st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=12),
    st.one_of(junk, wrong_encoding, huge_field, non_finite, nested, bomb, wrong_geometry, empty),
)

#: One valid report as the batch endpoint takes it (JSON numbers for the coordinates).
REPORT: dict[str, Any] = {k: v for k, v in GOOD.items() if k != "note"} | {"lat": 59.2741, "lon": 15.2066}


def _batch(*changes: dict[str, Any]) -> bytes:
    """A JSON batch of REPORT with each of ``changes`` applied (json.dumps writes NaN and Infinity)."""
    return json.dumps(
        [REPORT | {"source_id": f"F-{i}"} | change for i, change in enumerate(changes)]
    ).encode()


broken_batch = st.one_of(
    garbage_json.map(lambda value: json.dumps(value).encode()),
    st.just(b"[]"),
    st.binary(max_size=300),
    st.builds(
        lambda field, value: _batch({field: value}),
        st.sampled_from(["lat", "lon"]),
        st.sampled_from([float("nan"), float("inf"), -1e309]),
    ),
    st.integers(4_001, 150_000).map(lambda length: _batch({"note": "x" * length})),
    st.builds(
        lambda field, value: _batch({field: value}),
        st.sampled_from(["lat", "occurred_at", "category"]),
        garbage_json,
    ),
    st.integers(50, 20_000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.sampled_from(
        [
            _batch({}, {"lat": 10.0, "lon": 10.0}),
            _batch({}, {"category": "knitting"}),
            _batch({}, {"source": ""}),
        ]
    ),
)


@pytest.fixture(scope="module")
def fuzz_api(tmp_path_factory: pytest.TempPathFactory, areas: Areas) -> Iterator[Api]:
    result = make_api(api_settings(f"sqlite:///{tmp_path_factory.mktemp('uploads') / 'store.db'}"), areas)
    yield result
    result.engine.dispose()


def _state(api: Api) -> tuple[int, int, int]:
    """(reports, imports, dataset version): what any write would change."""
    with api.engine.connect() as conn:
        n_reports, n_imports = (
            int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in (reports, imports)
        )
    return n_reports, n_imports, dataset_version(api.engine)


def _assert_refused(api: Api, response: Any, before: tuple[int, int, int]) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"} and error["code"] and error["message"].strip()
    assert _state(api) == before


FUZZ = settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)


@FUZZ
@given(upload=broken_upload)
def test_broken_file_uploads_are_refused_with_a_reason_and_write_nothing(
    fuzz_api: Api, upload: tuple[str, str, tuple[str, bytes]]
) -> None:
    prefix, stem, (suffix, content) = upload
    before = _state(fuzz_api)
    response = fuzz_api.client.post(
        "/reports/import", headers=fuzz_api.auth("analyst"), files={"file": (prefix + stem + suffix, content)}
    )
    _assert_refused(fuzz_api, response, before)


@FUZZ
@given(body=broken_batch)
def test_broken_json_batches_are_refused_with_a_reason_and_write_nothing(fuzz_api: Api, body: bytes) -> None:
    before = _state(fuzz_api)
    response = fuzz_api.client.post(
        "/reports/batch",
        headers=fuzz_api.auth("analyst") | {"Content-Type": "application/json"},
        content=body,
    )
    _assert_refused(fuzz_api, response, before)


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".json"])
def test_a_zip_bomb_is_refused_without_being_inflated(fuzz_api: Api, suffix: str) -> None:
    """GDAL opens zip files from memory by itself: a GeoJSON name on a zip must not reach it (the
    refusal names the reason, and comes back in far less time than inflating 64 MB takes)."""
    before = _state(fuzz_api)
    response = fuzz_api.client.post(
        "/reports/import", headers=fuzz_api.auth("analyst"), files={"file": ("reports" + suffix, BOMBS[0])}
    )
    _assert_refused(fuzz_api, response, before)
    assert "not a GeoJSON or GeoPackage" in response.json()["error"]["message"]


def test_a_valid_upload_with_a_traversal_name_is_stored_under_its_base_name_only(fuzz_api: Api) -> None:
    """The control case: the fuzzed inputs are refused for what they are, not because nothing is accepted."""
    content = _csv([GOOD | {"source_id": "TRAVERSAL-1"}]).encode()
    response = fuzz_api.client.post(
        "/reports/import", headers=fuzz_api.auth("analyst"), files={"file": ("../../etc/passwd.csv", content)}
    )
    assert response.status_code == 201, response.text
    with fuzz_api.engine.connect() as conn:
        names = conn.execute(sa.select(imports.c.filename)).scalars().all()
    assert "passwd.csv" in names and not any("/" in name or ".." in name for name in names)

"""Reports router on SQLite and PostgreSQL: create, batch, import, list, get, delete; limits and audit."""

from __future__ import annotations

from hotspots.access import audit
from hotspots.store.engine import dataset_version
from tests.api.conftest import CLUSTER, SPARSE, Api, report_json


def test_create_one_report_then_read_it_back(api: Api) -> None:
    auth = api.auth("analyst")
    before = dataset_version(api.engine)
    created = api.client.post("/reports", headers=auth, json=report_json(api, "new-1"))
    assert created.status_code == 201, created.text
    assert created.json()["rows_added"] == 1 and created.json()["by_area"] == {"vivalla": 1}
    assert dataset_version(api.engine) > before
    again = api.client.post("/reports", headers=auth, json=report_json(api, "new-1"))
    assert again.json()["rows_added"] == 0 and again.json()["rows_present"] == 1  # idempotent
    page = api.client.get("/reports", headers=auth, params={"source": "police", "limit": 1000}).json()
    assert page["total"] == CLUSTER + SPARSE + 1
    mine = next(r for r in page["items"] if r["source_id"] == "new-1")
    one = api.client.get(f"/reports/{mine['id']}", headers=auth)
    assert (
        one.status_code == 200
        and one.json()["area_id"] == "vivalla"
        and one.json()["created_by"] == "analyst"
    )


def test_batch_is_all_or_nothing_and_names_rows_and_fields(api: Api) -> None:
    auth = api.auth("analyst")
    batch = [
        report_json(api, "b1"),
        report_json(api, "b2", category="nonsense"),
        report_json(api, "b3", lat=10.0),
    ]
    rejected = api.client.post("/reports/batch", headers=auth, json=batch)
    assert rejected.status_code == 422
    error = rejected.json()["error"]
    assert error["code"] == "import_rejected"
    assert {(d["row"], d["field"]) for d in error["details"]} >= {(2, "category"), (3, "lat/lon")}
    assert api.client.get("/reports", headers=auth).json()["total"] == CLUSTER + SPARSE  # nothing written
    kept = api.client.post("/reports/batch", headers=auth, params={"skip_invalid": True}, json=batch)
    assert kept.status_code == 201
    assert kept.json()["rows_added"] == 1 and kept.json()["rows_rejected"] == 2


def test_body_validation_names_the_field(api: Api) -> None:
    response = api.client.post(
        "/reports", headers=api.auth("analyst"), json=report_json(api, "x", lat="north")
    )
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == ["body.lat"]


def test_import_a_csv_file(api: Api) -> None:
    lat, lon = api.point("vivalla")
    csv = f"källa;id;tidpunkt;kategori;lat;lon\npolis;c1;2026-11-09 20:00;arrest;{lat};{lon}\n".replace(
        ".", ","
    )
    response = api.client.post(
        "/reports/import",
        headers=api.auth("analyst"),
        files={"file": ("polis.csv", csv.encode("utf-8-sig"), "text/csv")},
    )
    assert response.status_code == 201, response.text
    assert response.json()["rows_added"] == 1
    bad = api.client.post(
        "/reports/import",
        headers=api.auth("analyst"),
        files={"file": ("polis.csv", b"source\n\x81\x8d not UTF-8, not Windows-1252", "text/csv")},
    )
    assert bad.status_code == 422 and "UTF-8" in bad.json()["error"]["message"]


def test_uploads_over_the_limit_are_413(api: Api) -> None:
    limit = api.settings.max_upload_bytes
    too_big = b"x" * (limit + 1)
    response = api.client.post(
        "/reports/import", headers=api.auth("analyst"), files={"file": ("big.csv", too_big, "text/csv")}
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"

    def chunks():  # no Content-Length: the streamed bytes are counted
        for _ in range(limit // 65536 + 2):
            yield b"y" * 65536

    streamed = api.client.post(
        "/reports/batch",
        headers={**api.auth("analyst"), "content-type": "application/json"},
        content=chunks(),
    )
    assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "payload_too_large"


def test_list_filters_and_pages(api: Api) -> None:
    auth = api.auth("analyst")
    area = api.client.get("/reports", headers=auth, params={"area": "Baronbackarna"}).json()
    assert area["total"] == SPARSE and {r["area_id"] for r in area["items"]} == {"baronbackarna"}
    first = api.client.get("/reports", headers=auth, params={"limit": 5}).json()
    second = api.client.get("/reports", headers=auth, params={"limit": 5, "offset": 5}).json()
    assert len(first["items"]) == 5 and not {r["id"] for r in first["items"]} & {
        r["id"] for r in second["items"]
    }
    times = [r["occurred_at"] for r in first["items"] + second["items"]]
    assert times == sorted(times, reverse=True)
    window = api.client.get(
        "/reports",
        headers=auth,
        params={"since": "2026-11-03T00:00:00+01:00", "until": "2026-11-05T00:00:00+01:00"},
    ).json()
    assert window["total"] > 0 and all(
        "2026-11-03" <= r["occurred_at"][:10] <= "2026-11-04" for r in window["items"]
    )
    assert api.client.get("/reports", headers=auth, params={"area": "atlantis"}).status_code == 422
    assert api.client.get("/reports", headers=auth, params={"limit": 0}).status_code == 422


def test_delete_bumps_the_version_and_is_audited_without_notes(api: Api) -> None:
    auth = api.auth("analyst")
    victim = api.client.get("/reports", headers=auth, params={"limit": 1}).json()["items"][0]["id"]
    before = dataset_version(api.engine)
    assert api.client.delete(f"/reports/{victim}", headers=auth).status_code == 204
    assert dataset_version(api.engine) == before + 1
    assert api.client.get(f"/reports/{victim}", headers=auth).status_code == 404
    assert api.client.delete(f"/reports/{victim}", headers=auth).status_code == 404
    deleted = audit.query(api.engine, actor="analyst", action="reports.delete")
    assert [e.resource for e in deleted] == [f"/reports/{victim}"]
    assert all("anteckning" not in repr(e) for e in audit.query(api.engine))


def test_list_is_audited_with_its_filter(api: Api) -> None:
    api.client.get("/reports", headers=api.auth("admin"), params={"area": "vivalla", "category": "arrest"})
    entry = audit.query(api.engine, actor="admin", action="reports.list")[0]
    assert entry.detail["area"] == ["vivalla"] and entry.detail["category"] == ["arrest"]
    assert entry.rows == 0

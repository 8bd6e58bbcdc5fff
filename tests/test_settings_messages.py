"""Settings ranges and the messages a user acts on: an extent of 0 is refused naming the setting; an
analysis after the data end says which window is empty and when the data end."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from pydantic import ValidationError

from hotspots.analysis.compute import analyse
from hotspots.analysis.params import AnalysisParams
from hotspots.config import Settings
from hotspots.errors import EmptyData
from hotspots.geo.areas import read_areas
from hotspots.ingest import pipeline as ingest
from hotspots.store.engine import open_store


def test_zero_extent_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValidationError, match="study_extent_m"):
        Settings(study_extent_m=0)


def test_window_after_the_data_says_when_the_data_end(tmp_path: Path) -> None:
    outline = shapely.box(-79.45, 43.65, -79.35, 43.75)  # a deployment without partnership areas
    areas_file = tmp_path / "town.geojson"
    feature = {
        "type": "Feature",
        "properties": {"name": "Town"},
        "geometry": shapely.geometry.mapping(outline),
    }
    areas_file.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    settings = Settings(database_url=f"sqlite:///{tmp_path / 't.db'}", areas_file=areas_file,
                        timezone="America/Toronto")  # fmt: skip
    areas = read_areas(areas_file)
    rng = np.random.default_rng(1)
    rows = pd.DataFrame({"source": "police", "source_id": [str(i) for i in range(20)],
                         "occurred_at": pd.date_range("2021-03-01", periods=20, freq="D").strftime("%Y-%m-%d"),
                         "category": "observed_dealing", "lat": rng.uniform(43.66, 43.74, 20),
                         "lon": rng.uniform(-79.44, -79.36, 20)})  # fmt: skip
    engine = open_store(settings)
    ingest.import_frame(engine, rows, settings=settings, areas=areas)
    with pytest.raises(
        EmptyData, match=r"no reports in the window ending 2024-06-30; the data end on 2021-03-20"
    ):
        analyse(engine, settings, areas, AnalysisParams(window="28d", end=date(2024, 6, 30), permutations=0))

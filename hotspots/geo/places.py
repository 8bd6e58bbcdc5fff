"""Place labels a field team recognises: the nearest named place, or a distance and direction from it.

A point within ``near_m`` metres of a named place (data/places.csv: name, kind, lat, lon, area_id) is
labelled with that name; farther away it reads "300 m NO om Vivalla centrum" ("300 m NE of Vivalla
centrum" in English): distance rounded to 50 m, one of eight compass directions, from the nearest place.
Distances and bearings are computed in the projection fitted to the areas (:meth:`hotspots.geo.areas.Areas.
metric_crs`: SWEREF 99 TM in Sweden, an azimuthal equidistant projection centred on the areas elsewhere;
``HOTSPOTS_METRIC_CRS`` overrides), whose grid north is within a degree of true north near the areas: a
fixed SWEREF 99 TM would read 1,160 m for a true 806 m at Toronto, in a skewed direction.

>>> places = Places.from_records([("Vivalla centrum", 59.2762, 15.1540)])
>>> places.label([59.2762, 59.2789], [15.1540, 15.1540], near_m=100).tolist()
['Vivalla centrum', '300 m N om Vivalla centrum']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from hotspots.config import Settings, get_settings
from hotspots.errors import ConfigError
from hotspots.geo.areas import load_areas
from hotspots.geo.projection import crs_for, to_metric
from hotspots.words import COMPASS, PLACE_LABEL, Language

#: Distances in labels are rounded to this many metres: finer would suggest a precision H3 cells lack.
ROUND_M = 50


@dataclass(frozen=True, eq=False)
class Places:
    """Named places (WGS84) with a metric index for nearest-place look-ups, in the metric ``crs``."""

    frame: pd.DataFrame
    crs: str

    @classmethod
    def from_records(cls, records: Iterable[tuple[str, float, float]], crs: str | None = None) -> Places:
        """Places from (name, lat, lon) tuples (tests, other municipalities' lists); ``crs`` defaults to
        the projection fitted to the places themselves."""
        frame = pd.DataFrame(list(records), columns=["name", "lat", "lon"])
        return cls(frame.assign(kind="", area_id=None), crs or crs_for(frame["lat"], frame["lon"]))

    @cached_property
    def _tree(self) -> tuple[cKDTree, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        xy = to_metric(self.frame["lat"].to_numpy(), self.frame["lon"].to_numpy(), self.crs)
        return cKDTree(xy), xy[:, 0], xy[:, 1]

    def nearest(
        self, lat: npt.ArrayLike, lon: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Per point: index of the nearest place, distance in metres, bearing from the place (degrees)."""
        tree, place_x, place_y = self._tree
        xy = to_metric(lat, lon, self.crs)
        x, y = xy[:, 0], xy[:, 1]
        distance, index = tree.query(xy)
        index = np.asarray(index, dtype=np.int64)
        bearing = np.degrees(np.arctan2(x - place_x[index], y - place_y[index])) % 360.0
        return index, np.asarray(distance, dtype=np.float64), bearing

    def label(
        self, lat: npt.ArrayLike, lon: npt.ArrayLike, *, near_m: float = 150.0, lang: Language = Language.sv
    ) -> npt.NDArray[np.object_]:
        """One label per point: the place's name within ``near_m``, else "<d> m <direction> om <name>"."""
        if lang not in COMPASS:
            raise ValueError(f"no place labels in {lang!r}; available: {sorted(COMPASS)}")
        lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        if self.frame.empty or lat.size == 0:
            return np.full(lat.size, "", dtype=object)
        index, distance, bearing = self.nearest(lat, lon)
        names = self.frame["name"].to_numpy(dtype=object)[index]
        rounded = np.maximum(ROUND_M, np.round(distance / ROUND_M) * ROUND_M).astype(np.int64)
        direction = np.asarray(COMPASS[lang], dtype=object)[np.round(bearing / 45.0).astype(np.int64) % 8]
        far = [
            PLACE_LABEL[lang]["far"].format(distance=d, direction=c, name=n)
            for d, c, n in zip(rounded, direction, names, strict=True)
        ]
        return np.where(distance <= near_m, names, np.asarray(far, dtype=object))


def read_places(path: Path, crs: str) -> Places:
    """Read a places CSV (UTF-8; columns name, lat, lon; kind and area_id optional), measured in ``crs``."""
    try:
        frame = pd.read_csv(path, encoding="utf-8")
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read places file {path}: {exc}") from exc
    missing = {"name", "lat", "lon"} - set(frame.columns)
    if missing:
        raise ConfigError(f"places file {path} lacks columns {sorted(missing)}")
    for optional in ("kind", "area_id"):
        if optional not in frame:
            frame[optional] = None
    return Places(frame[["name", "kind", "lat", "lon", "area_id"]].dropna(subset=["lat", "lon"]), crs)


_LOADED: dict[tuple[Path, str], Places] = {}


def load_places(settings: Settings | None = None) -> Places:
    """The configured named places, read once per process, measured in the areas' projection."""
    settings = settings or get_settings()
    key = (Path(settings.places_file), load_areas(settings).metric_crs(settings.metric_crs))
    if key not in _LOADED:
        _LOADED[key] = read_places(*key)
    return _LOADED[key]

"""Areas: the partnership areas and the rest of the municipality, as configured in the areas file.

Field users limited to some areas see only those: the list leaves the others out and asking for one of
them answers 404, as for an area that does not exist.
"""

from __future__ import annotations

import geopandas as gpd
import shapely
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import ANY_ROLE, AreasDep, CurrentUser
from api.errors import ApiError, responses
from hotspots.geo.areas import Areas
from hotspots.words import both

router = APIRouter(prefix="/areas", tags=["areas"], dependencies=[ANY_ROLE], responses=responses(401, 403))

GEOJSON = "application/geo+json"


class AreaOut(BaseModel):
    """An area without its geometry."""

    area_id: str = Field(examples=["vivalla"])
    name: str = Field(examples=["Vivalla"])
    kind: str = Field(
        description="partnership = partnerskapsområde; other = övriga kommunen", examples=["partnership"]
    )
    approximate: bool = Field(description="Gränsen är ungefärlig / the boundary is approximate")


def _visible(areas: Areas, user_areas: tuple[str, ...]) -> gpd.GeoDataFrame:
    frame = areas.frame
    return frame[frame["area_id"].isin(user_areas)] if user_areas else frame


@router.get("", summary="Lista områden / list areas")
def list_areas(areas: AreasDep, user: CurrentUser) -> list[AreaOut]:
    frame = _visible(areas, user.areas)
    return [
        AreaOut(area_id=r.area_id, name=r.name, kind=r.kind, approximate=bool(r.approximate))
        for r in frame.itertuples()
    ]


@router.get(
    "/{area_id}",
    summary="Ett område med geometri (GeoJSON) / one area with its geometry",
    response_class=JSONResponse,
    responses={200: {"content": {GEOJSON: {}}, "description": "GeoJSON Feature (WGS84)"}, **responses(404)},
)
def get_area(area_id: str, areas: AreasDep, user: CurrentUser) -> JSONResponse:
    frame = _visible(areas, user.areas)
    hit = frame[frame["area_id"] == area_id]
    if hit.empty:
        raise ApiError(404, both("unknown_area"))
    row = hit.iloc[0]
    feature = {
        "type": "Feature",
        "id": row["area_id"],
        "geometry": shapely.geometry.mapping(shapely.orient_polygons(row.geometry, exterior_cw=False)),
        "properties": {
            "area_id": row["area_id"],
            "name": row["name"],
            "kind": row["kind"],
            "approximate": bool(row["approximate"]),
        },
    }
    return JSONResponse(feature, media_type=GEOJSON)

"""The map's visits layer: which priority places field teams visited in the last 7 days and which not.

Kept apart from the page's own overlays (``maps.page``): one folium feature group of ring markers, green
for a place visited in the 7 days before the map's end, grey for one that was not, each with its dose in
the tooltip. Only counts and minutes travel to the map, never a visit's text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import folium

if TYPE_CHECKING:
    from maps.markers import PriorityPlace

VISITED, NOT_VISITED = "#1b7837", "#7f7f7f"


def visits_layer(places: Sequence[PriorityPlace], text: Mapping[str, str]) -> folium.FeatureGroup:
    """Ring markers around the priority places, coloured by whether they were visited this week."""
    group = folium.FeatureGroup(name=text["visits_layer"], overlay=True, control=True, show=True)
    for place in places:
        visited = place.visits_7d > 0
        folium.CircleMarker(
            location=(place.lat, place.lon),
            radius=16,
            color=VISITED if visited else NOT_VISITED,
            weight=4,
            fill=False,
            dash_array=None if visited else "4 6",
            tooltip=(
                text["visited"].format(n=place.visits_7d, minutes=place.minutes_7d)
                if visited
                else text["not_visited"]
            ),
        ).add_to(group)
    return group

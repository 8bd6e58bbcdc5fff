"""The map's symbology: which colour (and fill pattern) means what on each layer, in one table.

The page sends :func:`palette` to the browser as JSON; ``static/hotspots-map.js`` styles features and
draws the legend from it, so a colour and its legend entry cannot drift apart. Gi* keeps ArcGIS's hot
spot colours, the emerging classes follow ArcGIS's Emerging Hot Spot Analysis convention, and counts,
density and measures get hues of their own, so no two layers read alike.

>>> from hotspots.words import MAP, Language
>>> palette(MAP["sv"], Language.sv)["gi_bin"][0]
{'value': 3, 'colour': '#d62f27', 'label': 'Hotspot 99 % säkerhet'}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from hotspots.stats.emerging import CATEGORIES
from hotspots.words import BIN_KEYS, Language, emerging_label

#: ArcGIS's hot spot colours, so analysts read the bins as they know them.
GI_BIN_COLOURS = {3: "#d62f27", 2: "#ed7551", 1: "#fab984", -1: "#c0ccbe", -2: "#849eba", -3: "#4575b5"}


class Symbol(NamedTuple):
    """A fill: colour and pattern (``solid``, ``hatch``, ``dots``, ``cross``) drawn over it."""

    colour: str
    pattern: str = "solid"


#: Emerging hot spot classes after ArcGIS's Emerging Hot Spot Analysis renderer: hot in reds, cold in blues,
#: the trends told apart by hue and pattern (solid for new/consecutive/intensifying/persistent, hatched for
#: diminishing, dotted for sporadic, cross-hatched for oscillating, hatched brown/grey for historical),
#: so no two classes differ only by a shade.
EMERGING_SYMBOLS: dict[str, Symbol] = {
    "new_hot": Symbol("#ff4b4b", "dots"),
    "consecutive_hot": Symbol("#f46d43"),
    "intensifying_hot": Symbol("#a50026"),
    "persistent_hot": Symbol("#d73027"),
    "diminishing_hot": Symbol("#fdae61", "hatch"),
    "sporadic_hot": Symbol("#e7298a", "dots"),
    "oscillating_hot": Symbol("#c51b7d", "cross"),
    "historical_hot": Symbol("#8c510a", "hatch"),
    "new_cold": Symbol("#4b7bff", "dots"),
    "consecutive_cold": Symbol("#35978f"),
    "intensifying_cold": Symbol("#053061"),
    "persistent_cold": Symbol("#4575b4"),
    "diminishing_cold": Symbol("#91bfdb", "hatch"),
    "sporadic_cold": Symbol("#01665e", "dots"),
    "oscillating_cold": Symbol("#762a83", "cross"),
    "historical_cold": Symbol("#5e6e7e", "hatch"),
}
#: Reports per hexagon (lower bounds) and their colours (ColorBrewer Purples: no red, unlike Gi*).
COUNT_STEPS = ((1, "#dadaeb"), (2, "#bcbddc"), (4, "#9e9ac8"), (8, "#756bb1"), (16, "#54278f"))
#: Relative kernel density (lower bounds) and colours (ColorBrewer YlGnBu, a surface under the hexagons).
HEAT_STEPS = ((0.0, "#edf8b1"), (0.1, "#c7e9b4"), (0.25, "#7fcdbb"), (0.5, "#41b6c4"), (0.75, "#225ea8"))
#: Target cells of measures: a green outline, so the hexagons under them stay readable.
MEASURE_COLOUR = "#1b7837"


def palette(text: Mapping[str, str], lang: Language) -> dict[str, Any]:
    """Colours and their labels: the JS styles features and draws the legend from this one table."""
    return {
        "gi_bin": [
            {"value": b, "colour": GI_BIN_COLOURS[b], "label": text[BIN_KEYS[b]]}
            for b in (3, 2, 1, -1, -2, -3)
        ],
        "emerging": [
            {
                "value": code,
                "colour": EMERGING_SYMBOLS[code].colour,
                "pattern": EMERGING_SYMBOLS[code].pattern,
                "label": emerging_label(code, lang),
            }
            for code in CATEGORIES[:-1]
        ],
        "measures": MEASURE_COLOUR,
        "count": [{"value": low, "colour": colour, "label": f"≥ {low}"} for low, colour in COUNT_STEPS],
        "heat": [{"value": low, "colour": colour, "label": f"≥ {low:.0%}"} for low, colour in HEAT_STEPS],
    }

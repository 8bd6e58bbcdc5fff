"""Static figures for the weekly report (:mod:`maps.report`): a hotspot map per area and a chart of weekly counts.

Rendered locally with matplotlib's object-oriented API (a ``Figure`` printed by the Agg canvas: no pyplot
state, so it is safe in API worker threads and leaves a notebook's backend alone) and without map tiles
(the report must build offline and carry no external resources). Figures come back as PNG bytes, which
:func:`data_uri` embeds in HTML. Maps are drawn in SWEREF 99 TM, so hexagons keep their shape and the
scale bar is in real metres.

>>> import pandas as pd
>>> weeks = pd.period_range(end=pd.Period("2026-11-15", "W-SUN"), periods=3, freq="W-SUN")
>>> data_uri(weekly_counts_png(weeks, [4, 7, 5]))[:22]
'data:image/png;base64,'
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox
from pyproj import Transformer

from hotspots.geo import h3grid
from hotspots.geo.areas import SWEREF99TM
from hotspots.words import CHART, CHART_LEGEND, Language

#: ArcGIS's Gi_Bin colours (cold 99 % ... hot 99 %), the palette analysts already read hotspot maps in.
GI_BIN_COLOURS: dict[int, str] = {
    -3: "#4575b5",
    -2: "#849eba",
    -1: "#c0ccbe",
    1: "#fab984",
    2: "#ed7551",
    3: "#d62f27",
}
#: Cells with reports but no significant Gi*: drawn so the reader sees where reports were, quietly.
REPORTED_COLOUR = "#e8e4d8"
#: Fill colour by Gi_Bin + 3 (index 0 = cold 99 %, 3 = not significant, 6 = hot 99 %).
_BIN_FILL = np.array([GI_BIN_COLOURS.get(b, REPORTED_COLOUR) for b in range(-3, 4)])
DPI = 150

_TO_METRIC = Transformer.from_crs("EPSG:4326", SWEREF99TM, always_xy=True)


def data_uri(png: bytes) -> str:
    """A ``data:`` URI for PNG bytes, so the HTML page needs no other file and no network."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _figure(size_cm: tuple[float, float]) -> Figure:
    """A new figure of ``size_cm`` (width, height) in centimetres.

    Text is matplotlib's default DejaVu Sans (shipped with matplotlib), the typeface of the PDF as well.
    """
    return Figure(figsize=(size_cm[0] / 2.54, size_cm[1] / 2.54), dpi=DPI)


def _png(fig: Figure) -> bytes:
    """PNG bytes of a figure laid out by hand (no tight bounding box: that draws everything twice)."""
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer, metadata={"Software": None})
    return buffer.getvalue()


def metric_rings(rings: npt.NDArray[np.object_]) -> list[npt.NDArray[np.float64]]:
    """WGS84 rings (shapely LinearRings) as SWEREF 99 TM vertex arrays, one (n, 2) array per ring.

    All vertices are projected in one call; only the final split into per-ring arrays is per ring.
    """
    coords, owner = shapely.get_coordinates(rings, return_index=True)
    if coords.size == 0:
        return []
    x, y = _TO_METRIC.transform(coords[:, 0], coords[:, 1])
    return np.split(np.column_stack([x, y]), np.flatnonzero(np.diff(owner)) + 1)


def hexagon_vertices(cells: h3grid.CellArray) -> list[npt.NDArray[np.float64]]:
    """Each cell's boundary in SWEREF 99 TM metres, for a PolyCollection."""
    return metric_rings(shapely.get_exterior_ring(h3grid.cells_to_polygons(cells)))


def outlines(geometries: npt.ArrayLike) -> list[npt.NDArray[np.float64]]:
    """Every ring (exterior and holes) of (multi)polygons in SWEREF 99 TM metres, for a LineCollection."""
    return metric_rings(shapely.get_rings(shapely.get_parts(np.asarray(geometries, dtype=object))))


def area_map_png(
    cells: h3grid.CellArray,
    gi_bin: npt.ArrayLike,
    count: npt.ArrayLike,
    boundaries: gpd.GeoDataFrame,
    *,
    focus: Sequence[str] = (),
    lang: Language = Language.sv,
    size_cm: tuple[float, float] = (10.0, 7.0),
) -> bytes:
    """Hexagons coloured by Gi_Bin over area boundaries.

    ``cells`` are the cells to show (those of one area, say) with their ``gi_bin`` and ``count`` in the
    window; cells neither significant nor reported are left out, so the map stays readable on paper.
    ``boundaries`` (WGS84, with ``area_id`` and ``name``) are drawn thin, the ``focus`` ids thick and
    labelled. The view is the bounding box of the focus areas and the significant cells, with a margin.
    """
    bins = np.asarray(gi_bin, dtype=np.int64)
    counts = np.asarray(count, dtype=np.float64)
    drawn = (bins != 0) | (counts > 0)
    fig = _figure(size_cm)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))  # the whole figure: every map has the same text scale
    ax.set_axis_off()

    focused = boundaries[boundaries["area_id"].isin(list(focus))]
    focus_lines = outlines(focused.geometry.to_numpy())
    ax.add_collection(LineCollection(outlines(boundaries.geometry.to_numpy()), colors="#9a9a9a",
                                     linewidths=0.4, zorder=1))  # fmt: skip
    if drawn.any():
        ax.add_collection(
            PolyCollection(
                hexagon_vertices(cells[drawn]),
                facecolors=_BIN_FILL[bins[drawn] + 3],
                edgecolors="#ffffff",
                linewidths=0.15,
                zorder=2,
            )
        )
    ax.add_collection(LineCollection(focus_lines, colors="#202020", linewidths=1.1, zorder=3))

    # Zoom to the focus areas and the significant cells (scattered single reports far out would
    # otherwise zoom the municipality map out to forest and farmland).
    significant = bins != 0
    shown = cells[significant] if significant.any() else cells[drawn]
    x0, y0, x1, y1 = _extent(shown, focus_lines, aspect=size_cm[0] / size_cm[1])
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    scale = _scale_bar(ax, x0, y0, x1, y1)
    present = sorted({int(b) for b in bins[drawn]}, reverse=True)
    handles = [Patch(facecolor=GI_BIN_COLOURS.get(b, REPORTED_COLOUR), edgecolor="#bbbbbb",
                     label=CHART_LEGEND[lang][b]) for b in present]  # fmt: skip
    obstacles = [scale]
    if handles:
        obstacles.append(
            ax.legend(handles=handles, loc="upper left", fontsize=6, frameon=True, framealpha=0.85)
        )
    anchors = shapely.get_coordinates(focused.geometry.representative_point().to_numpy())
    label_x, label_y = _TO_METRIC.transform(anchors[:, 0], anchors[:, 1])
    place_labels(ax, list(focused["name"]), label_x, label_y, obstacles)
    return _png(fig)


#: Where a label may go around its anchor, in points, tried in order: on it, above, below, beside, diagonal.
LABEL_OFFSETS = (
    (0, 0), (0, 9), (0, -9), (0, 17), (0, -17), (32, 0), (-32, 0), (26, 12), (-26, 12), (26, -12), (-26, -12),
)  # fmt: skip


def place_labels(
    ax: Axes, names: Sequence[str], x: npt.ArrayLike, y: npt.ArrayLike, obstacles: Sequence[Artist] = ()
) -> list[Bbox]:
    """Area names placed where they overlap neither each other nor ``obstacles`` (legend, scale bar):
    each tries ``LABEL_OFFSETS`` around its anchor in turn and keeps the first free place inside the map
    (a small repel search over label boxes; a name that finds none stays on its anchor). Returns the
    labels' boxes in display units."""
    figure = ax.get_figure(root=True)
    assert isinstance(figure, Figure)
    renderer = FigureCanvasAgg(figure).get_renderer()
    frame = ax.get_window_extent(renderer)
    taken = [artist.get_window_extent(renderer) for artist in obstacles]
    boxes: list[Bbox] = []
    for name, px, py in zip(names, np.asarray(x, dtype=float), np.asarray(y, dtype=float), strict=True):
        chosen: Bbox | None = None
        for dx, dy in LABEL_OFFSETS:
            label = _label(ax, name, (px, py), (dx, dy))
            box = label.get_window_extent(renderer).padded(1.5)
            inside = frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)
            if inside and not any(box.overlaps(other) for other in taken):
                chosen = box
                break
            label.remove()
        if chosen is None:
            chosen = _label(ax, name, (px, py), LABEL_OFFSETS[0]).get_window_extent(renderer)
        taken.append(chosen)
        boxes.append(chosen)
    return boxes


def _label(ax: Axes, name: str, anchor: tuple[float, float], offset: tuple[float, float]) -> Annotation:
    return ax.annotate(name, anchor, xytext=offset, textcoords="offset points", ha="center", va="center",
                       fontsize=6.5, color="#202020", zorder=4,
                       bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})  # fmt: skip


def _extent(
    cells: h3grid.CellArray, lines: list[npt.NDArray[np.float64]], aspect: float, margin: float = 0.06
) -> tuple[float, float, float, float]:
    """Bounding box (metres) of the cells and the focus lines, padded and widened to ``aspect`` (w / h)."""
    points = [np.vstack(lines)] if lines else []
    if cells.size:
        lat, lon = h3grid.cells_to_latlng(cells)
        points.append(np.column_stack(_TO_METRIC.transform(lon, lat)))
    xy = np.vstack(points) if points else np.zeros((1, 2))
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    pad = margin * max(x1 - x0, y1 - y0) + 150.0
    width, height = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
    width, height = max(width, height * aspect), max(height, width / aspect)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2


def _scale_bar(ax: Axes, x0: float, y0: float, x1: float, y1: float) -> Artist:
    """A scale bar of a round length, about a fifth of the map width, in the lower right corner (its
    label is returned: labels keep clear of it)."""
    target = (x1 - x0) / 5
    length = max(v for v in (100, 200, 250, 500, 1000, 2000, 5000) if v <= max(target, 100))
    right, bottom = x1 - (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.05
    ax.plot([right - length, right], [bottom, bottom], color="#202020", linewidth=2, solid_capstyle="butt")
    label = f"{length // 1000} km" if length >= 1000 else f"{length} m"
    return ax.annotate(label, (right - length / 2, bottom), xytext=(0, 3), textcoords="offset points",
                       ha="center", fontsize=6)  # fmt: skip


def weekly_counts_png(
    weeks: pd.PeriodIndex,
    counts: npt.ArrayLike,
    *,
    lang: Language = Language.sv,
    size_cm: tuple[float, float] = (8.0, 5.5),
) -> bytes:
    """Bars of reports per ISO week, the last (reported) week highlighted, with the trailing 4-week mean.

    The mean line shows, for each week, the mean of the four weeks before it: the same baseline the
    report's tables compare with, so a bar above the line is a week above its recent normal.
    """
    values = np.asarray(counts, dtype=np.float64)
    words = CHART[lang]
    fig = _figure(size_cm)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.15, right=0.98, bottom=0.12, top=0.86)
    x = np.arange(values.size)
    colours = np.where(x == values.size - 1, "#d62f27", "#8c9db5")
    ax.bar(x, values, color=colours, width=0.8, zorder=2)
    trailing = pd.Series(values).shift(1).rolling(4).mean()
    ax.plot(x, trailing, color="#202020", linewidth=1.0, label=words["mean"], zorder=3)
    ticks = x[::-4][::-1] if values.size > 8 else x  # every fourth week, ending at the reported one
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{words['week']} {week.week}" for week in weeks[ticks]])
    ax.tick_params(axis="x", labelsize=6, length=2)
    ax.tick_params(axis="y", labelsize=6, length=2)
    ax.set_ylabel(words["reports"], fontsize=7)
    ax.set_xlim(-0.6, values.size - 0.4)
    ax.grid(axis="y", color="#e4e4e4", linewidth=0.5, zorder=0)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=6, frameon=False, borderaxespad=0.2)
    return _png(fig)

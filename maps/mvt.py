"""Mapbox Vector Tile (MVT 2.1) encoder for polygon layers, writing protobuf bytes with numpy.

Tiles are served from memory for every pan and zoom of the EST map, so the encoder works on whole
arrays: every vertex, command integer, tag and value of a layer goes through a few numpy calls and
one varint pass. No per-feature Python loop runs; only the unique *string* values are encoded one
by one (category codes: a handful per layer).

Each call returns a complete one-layer tile. Protobuf merges repeated fields by concatenation, so
``concat_layers(a, b)`` (plain byte concatenation) is a two-layer tile, and an empty layer is ``b""``,
the valid empty tile.

>>> import numpy as np
>>> ring = np.array([[[0, 0], [10, 0], [15, 8], [10, 16], [0, 16], [-5, 8]]])
>>> tile = encode_hexagon_layer("hexagons", ring, {"count": np.array([3])}, ids=np.array([7]))
>>> tile[:2], len(tile)
(b'\\x1a5', 55)
>>> encode_hexagon_layer("hexagons", ring[:0], {"count": np.array([], dtype=int)}) == EMPTY_TILE
True
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
UIntArray = npt.NDArray[np.uint64]
ByteArray = npt.NDArray[np.uint8]

EXTENT = 4096
EMPTY_TILE = b""
"""A tile without layers: what an area with no data returns, at no cost."""

# Protobuf keys (field number << 3 | wire type) of vector_tile.proto, spec 2.1.
_TILE_LAYERS = 0x1A  # Tile.layers = 3, length-delimited
_LAYER_NAME = 0x0A  # Layer.name = 1
_LAYER_FEATURES = 0x12  # Layer.features = 2
_LAYER_KEYS = 0x1A  # Layer.keys = 3
_LAYER_VALUES = 0x22  # Layer.values = 4
_LAYER_EXTENT = 0x28  # Layer.extent = 5, varint
_LAYER_VERSION_2 = b"\x78\x02"  # Layer.version = 15, varint 2
_FEATURE_ID = 0x08  # Feature.id = 1, varint
_FEATURE_TAGS = 0x12  # Feature.tags = 2, packed uint32
_FEATURE_TYPE = 0x18  # Feature.type = 3, varint
_FEATURE_GEOMETRY = 0x22  # Feature.geometry = 4, packed uint32
_POLYGON = 3
_VALUE_STRING = 0x0A  # Value.string_value = 1
_VALUE_DOUBLE = 0x19  # Value.double_value = 3, 64-bit
_VALUE_UINT = 0x28  # Value.uint_value = 5, varint
_VALUE_SINT = 0x30  # Value.sint_value = 6, zigzag varint

# Geometry command integers (spec 4.3.1): id | count << 3.
_MOVE_TO_ONE = 1 | 1 << 3
_LINE_TO = 2
_CLOSE_PATH = 7 | 1 << 3

# One dtype per Value type, so np.unique compares like with like across property columns.
_KIND_DTYPES: dict[str, type] = {"int": np.int64, "float": np.float64, "str": np.str_}


def varint_sizes(values: UIntArray) -> IntArray:
    """Bytes each value takes as a protobuf varint (7 payload bits per byte)."""
    values = np.asarray(values, dtype=np.uint64)
    sizes = np.ones(values.shape, dtype=np.int64)
    top = int(values.max(initial=0))
    for shift in range(7, max(top.bit_length(), 1), 7):
        sizes += values >= np.uint64(1 << shift)
    return sizes


def encode_varints(values: UIntArray) -> ByteArray:
    """Protobuf varints of all ``values`` back to back.

    Writes the low 7 bits of every value, then continues only with the values that have more:
    most integers of a tile (commands, small deltas, tags) take one byte, so the passes shrink fast.
    """
    values = np.asarray(values, dtype=np.uint64)
    sizes = varint_sizes(values)
    ends = np.cumsum(sizes)
    out = np.empty(int(ends[-1]) if ends.size else 0, dtype=np.uint8)
    position = ends - sizes
    rest = values
    while rest.size:
        continues = rest > 0x7F
        out[position] = (rest & np.uint64(0x7F)).astype(np.uint8) | (continues.astype(np.uint8) << 7)
        rest = rest[continues] >> np.uint64(7)
        position = position[continues] + 1
    return out


def zigzag(values: npt.ArrayLike) -> UIntArray:
    """Map signed to unsigned so small magnitudes stay small varints (0, -1, 1, -2 -> 0, 1, 2, 3)."""
    signed = np.asarray(values, dtype=np.int64)
    return ((signed << 1) ^ (signed >> 63)).view(np.uint64)


def concat_layers(*tiles: bytes) -> bytes:
    """One tile holding the layers of all ``tiles`` (protobuf repeated fields concatenate)."""
    return b"".join(tiles)


def encode_hexagon_layer(
    name: str,
    rings_xy: npt.ArrayLike,
    properties: Mapping[str, npt.ArrayLike],
    extent: int = EXTENT,
    *,
    ids: npt.ArrayLike | None = None,
) -> bytes:
    """Encode one polygon per row of ``rings_xy`` as the layer ``name`` of a tile.

    ``rings_xy`` is ``(n, k, 2)``: k vertices per ring in tile coordinates (y down, 0..extent plus
    buffer), not closed (the first vertex is not repeated). Floats are rounded to the tile grid.
    Rings with fewer vertices (a pentagon among hexagons, a clipped hexagon in a wider array) are
    padded by repeating a vertex: consecutive duplicates are dropped, as are rings that collapse to
    fewer than three vertices or zero area (a hexagon smaller than a tile unit at low zoom). Every
    kept ring is oriented to positive area (clockwise on screen), the exterior winding of the spec.

    ``properties`` maps key -> array of n values: integers (uint/sint values), floats (doubles;
    NaN means "no value" and leaves the tag out) or strings. Equal values share one entry of
    the value table. ``ids`` (n non-negative integers) become feature ids; keep them below 2**53
    or JavaScript decoders round them. Returns ``EMPTY_TILE`` when no ring survives.
    """
    rings = _as_int_rings(rings_xy)
    n = rings.shape[0]
    columns = {key: np.asarray(column) for key, column in properties.items()}
    if any(column.shape != (n,) for column in columns.values()):
        raise ValueError(f"every property needs one value per ring ({n})")
    feature_ids = None if ids is None else np.asarray(ids).astype(np.uint64)
    if feature_ids is not None and feature_ids.shape != (n,):
        raise ValueError(f"ids needs one value per ring ({n})")

    rings, vertex_kept, feature_kept = _clean_rings(rings)
    if not feature_kept.any():
        return EMPTY_TILE
    columns = {key: column[feature_kept] for key, column in columns.items()}
    geometry, geometry_counts = _geometry_integers(rings[feature_kept], vertex_kept[feature_kept])
    value_indices, present, values_bytes = _value_table(columns, int(feature_kept.sum()))
    tags, tag_counts = _tags(value_indices, present)
    features = _features(
        geometry,
        geometry_counts,
        tags,
        tag_counts,
        None if feature_ids is None else feature_ids[feature_kept],
    )
    keys = b"".join(_length_delimited(_LAYER_KEYS, key.encode()) for key in columns)
    layer = b"".join(
        (
            _length_delimited(_LAYER_NAME, name.encode()),
            features.tobytes(),
            keys,
            values_bytes,
            bytes([_LAYER_EXTENT]) + _varint(extent),
            _LAYER_VERSION_2,
        )
    )
    return _length_delimited(_TILE_LAYERS, layer)


def _as_int_rings(rings_xy: npt.ArrayLike) -> IntArray:
    """Rings as an (n, k, 2) int64 array, rounding float coordinates to the tile grid."""
    rings = np.asarray(rings_xy)
    if rings.ndim != 3 or rings.shape[2] != 2 or rings.shape[1] < 3:
        raise ValueError(f"rings_xy must be (n, k>=3, 2), got {rings.shape}")
    if not np.issubdtype(rings.dtype, np.integer):
        rings = np.rint(rings)
    return rings.astype(np.int64)


def polygon_rings(rings_xy: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Which integer rings the encoder keeps: at least three distinct vertices and non-zero area.

    Callers that keep ids or values beside the rings filter with this, so their arrays match the
    features of the tile.
    """
    rings = _as_int_rings(rings_xy)
    return (_twice_area(rings) != 0) & (_distinct_vertices(rings).sum(axis=1) >= 3)


def _twice_area(rings: IntArray) -> IntArray:
    """Surveyor's formula, exact on integers: positive for rings clockwise on screen (y down)."""
    x, y = rings[..., 0], rings[..., 1]
    return (x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y).sum(axis=1)


def _distinct_vertices(rings: IntArray) -> npt.NDArray[np.bool_]:
    """Vertices that differ from their predecessor (padding and collapsed edges are False)."""
    return (rings != np.roll(rings, 1, axis=1)).any(axis=2)


def _clean_rings(rings: IntArray) -> tuple[IntArray, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Orient rings to positive area; mark distinct vertices and the rings that stay polygons.

    The checks run on the quantised integer geometry, the one decoders will see.
    """
    twice_area = _twice_area(rings)
    reversed_from_first = np.roll(rings[:, ::-1], 1, axis=1)  # v0, v(k-1), ..., v1 as shapely's orient
    rings = np.where((twice_area < 0)[:, None, None], reversed_from_first, rings)
    vertex_kept = _distinct_vertices(rings)
    feature_kept = (twice_area != 0) & (vertex_kept.sum(axis=1) >= 3)
    return rings, vertex_kept, feature_kept


def _geometry_integers(rings: IntArray, vertex_kept: npt.NDArray[np.bool_]) -> tuple[UIntArray, IntArray]:
    """Command and parameter integers of all rings, flattened, and how many belong to each ring.

    Per ring: MoveTo(1) x0 y0, LineTo(c-1) dx dy ..., ClosePath; deltas are zigzagged and the
    cursor starts at (0, 0) in every feature, so the first delta is the absolute first vertex.
    """
    vertices = rings[vertex_kept]  # (total, 2), ring after ring
    counts = vertex_kept.sum(axis=1)
    first = np.zeros(vertices.shape[0], dtype=bool)
    first[np.cumsum(counts) - counts] = True
    deltas = vertices - np.roll(vertices, 1, axis=0)
    deltas[first] = vertices[first]
    params = zigzag(deltas)
    n = rings.shape[0]
    head = np.column_stack(
        (
            np.full(n, _MOVE_TO_ONE, dtype=np.uint64),
            params[first],
            ((counts - 1) << 3 | _LINE_TO).astype(np.uint64),
        )
    )
    close = np.full((n, 1), _CLOSE_PATH, dtype=np.uint64)
    return _concat_rows((head,), (params[~first].ravel(), 2 * (counts - 1)), (close,))


def _value_table(columns: Mapping[str, np.ndarray], n: int) -> tuple[IntArray, npt.NDArray[np.bool_], bytes]:
    """Deduplicated Value messages of all properties of ``n`` features, and each feature's index into them.

    Values are deduplicated per type across keys (count 3 and rank 3 share one uint entry) with
    one ``np.unique`` per type. Returns ``(n, keys)`` value indices, the ``(n, keys)`` mask of
    present values (NaN floats are absent) and the encoded ``Layer.values`` fields.
    """
    column_list = list(columns.values())
    indices = np.zeros((n, len(columns)), dtype=np.int64)
    present = np.ones((n, len(columns)), dtype=bool)
    kinds: dict[str, list[int]] = {"str": [], "int": [], "float": []}
    for position, column in enumerate(column_list):
        kinds[_kind(column)].append(position)
        if column.dtype.kind == "f":
            present[:, position] = ~np.isnan(column)
    chunks = []
    offset = 0
    for kind, encode in (("str", _string_values), ("int", _int_values), ("float", _double_values)):
        positions = kinds[kind]
        if not positions:
            continue
        stacked: np.ndarray = np.stack([column_list[p] for p in positions], axis=1).astype(_KIND_DTYPES[kind])
        wanted = present[:, positions]
        table, inverse = np.unique(stacked[wanted], return_inverse=True)
        block = np.zeros(wanted.shape, dtype=np.int64)
        block[wanted] = inverse + offset
        indices[:, positions] = block
        chunks.append(encode(table))
        offset += table.size
    return indices, present, b"".join(chunks)


def _kind(column: np.ndarray) -> str:
    """Which Value type a property column encodes to."""
    if column.dtype.kind in "iu":
        return "int"
    if column.dtype.kind == "f":
        return "float"
    if column.dtype.kind in "UOT":
        return "str"
    raise TypeError(f"property dtype {column.dtype} is not int, float or str")


def _string_values(table: np.ndarray) -> bytes:
    """Value messages with string_value; a loop over the few unique strings."""
    return b"".join(
        _length_delimited(_LAYER_VALUES, _length_delimited(_VALUE_STRING, str(s).encode())) for s in table
    )


def _int_values(table: IntArray) -> bytes:
    """Value messages with uint_value (>= 0) or sint_value (< 0), all as one varint sequence."""
    negative = table < 0
    payload = np.where(negative, zigzag(table), table.astype(np.uint64))
    field = np.where(negative, _VALUE_SINT, _VALUE_UINT).astype(np.uint64)
    message_length = (1 + varint_sizes(payload)).astype(np.uint64)
    sequence = np.column_stack(
        (np.full(table.size, _LAYER_VALUES, np.uint64), message_length, field, payload)
    )
    return encode_varints(sequence.ravel()).tobytes()


def _double_values(table: npt.NDArray[np.float64]) -> bytes:
    """Value messages with double_value: fixed 11 bytes each (key, length 9, key, 8 bytes LE)."""
    out = np.empty((table.size, 11), dtype=np.uint8)
    out[:, :3] = (_LAYER_VALUES, 9, _VALUE_DOUBLE)
    out[:, 3:] = table.astype("<f8").view(np.uint8).reshape(-1, 8)
    return out.tobytes()


def _tags(value_indices: IntArray, present: npt.NDArray[np.bool_]) -> tuple[UIntArray, IntArray]:
    """Feature.tags of every feature flattened (key index, value index pairs) and their counts."""
    n, n_keys = value_indices.shape
    pairs = np.stack((np.broadcast_to(np.arange(n_keys), (n, n_keys)), value_indices), axis=2)
    return pairs[present].ravel().astype(np.uint64), 2 * present.sum(axis=1)


def _features(
    geometry: UIntArray,
    geometry_counts: IntArray,
    tags: UIntArray,
    tag_counts: IntArray,
    ids: UIntArray | None,
) -> ByteArray:
    """All ``Layer.features`` fields as bytes.

    Every byte of a feature (field keys, lengths, ids, packed integers) is a varint, so the whole
    run is one integer sequence interleaved per feature and varint-encoded in one pass. Byte
    lengths come from per-feature sums of varint sizes.
    """
    n = geometry_counts.size
    tag_bytes = _sum_per_row(varint_sizes(tags), tag_counts)
    geometry_bytes = _sum_per_row(varint_sizes(geometry), geometry_counts)
    head = [np.full(n, _FEATURE_TAGS), tag_bytes]
    if ids is not None:
        head = [np.full(n, _FEATURE_ID), ids, *head]
    middle = [np.full(n, _FEATURE_TYPE), np.full(n, _POLYGON), np.full(n, _FEATURE_GEOMETRY), geometry_bytes]
    head_array = np.column_stack(head).astype(np.uint64)
    middle_array = np.column_stack(middle).astype(np.uint64)
    feature_bytes = (
        varint_sizes(head_array).sum(axis=1)
        + tag_bytes
        + varint_sizes(middle_array).sum(axis=1)
        + geometry_bytes
    )
    start = np.column_stack((np.full(n, _LAYER_FEATURES), feature_bytes)).astype(np.uint64)
    sequence, _ = _concat_rows(
        (np.hstack((start, head_array)),), (tags, tag_counts), (middle_array,), (geometry, geometry_counts)
    )
    return encode_varints(sequence)


def _concat_rows(*blocks: tuple[np.ndarray] | tuple[np.ndarray, IntArray]) -> tuple[UIntArray, IntArray]:
    """Interleave per-row blocks: row 0 of every block, then row 1 of every block, and so on.

    A block is ``(array2d,)`` with the same width for every row, or ``(flat, counts)`` with
    ``counts[i]`` entries for row i. Returns the flat result and the length of each row.
    """
    parts = [(b[0].ravel(), np.full(b[0].shape[0], b[0].shape[1])) if len(b) == 1 else b for b in blocks]
    lengths = np.column_stack([counts for _, counts in parts])
    row_lengths = lengths.sum(axis=1)
    block_starts = np.cumsum(row_lengths) - row_lengths
    out = np.empty(int(row_lengths.sum()), dtype=np.uint64)
    within = np.cumsum(lengths, axis=1) - lengths
    for (flat, counts), start in zip(parts, (block_starts[:, None] + within).T, strict=True):
        positions = np.repeat(start - (np.cumsum(counts) - counts), counts) + np.arange(flat.size)
        out[positions] = flat
    return out, row_lengths


def _sum_per_row(sizes: IntArray, counts: IntArray) -> IntArray:
    """Sum consecutive runs of ``sizes`` of the given lengths (rows may be empty)."""
    return np.bincount(
        np.repeat(np.arange(counts.size), counts), weights=sizes, minlength=counts.size
    ).astype(np.int64)


def _varint(value: int) -> bytes:
    """One varint, for the few scalar lengths of a layer."""
    return encode_varints(np.array([value], dtype=np.uint64)).tobytes()


def _length_delimited(key: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field: key, payload length, payload."""
    return bytes([key]) + _varint(len(payload)) + payload

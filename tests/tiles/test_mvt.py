"""maps.mvt against two independent decoders (mapbox_vector_tile in Python, @mapbox/vector-tile in node),
the protobuf schema, and mapbox_vector_tile's own encoder."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from google.protobuf.internal.encoder import _VarintBytes
from mapbox_vector_tile.Mapbox import vector_tile_pb2

from maps import mvt
from tests.conftest import skip_or_fail

JS_DIR = Path(__file__).parent / "js"
Y_DOWN = {"y_coord_down": True}


def hexagons(n: int, seed: int = 0) -> np.ndarray:
    """n regular hexagons of radius 40-120 units, clockwise on screen, some past the tile edges (x, y < 0)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-40, 4136, size=(n, 1, 2))
    radius = rng.uniform(40, 120, size=(n, 1, 1))
    angles = np.radians(np.arange(6) * 60 + 30)[None, :]
    offsets = np.stack((np.cos(angles), np.sin(angles)), axis=2)  # angle grows clockwise with y down
    return np.rint(centres + radius * offsets).astype(np.int32)


def sample_properties(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    weight = rng.gamma(2.0, 1.5, n).round(2)
    weight[::7] = np.nan
    return {
        "count": rng.integers(-3, 300, n),
        "weight": weight,
        "category": rng.choice(np.array(["observed_dealing", "syringe_find", "tip"]), n),
    }


def expected_features(rings: np.ndarray, properties: dict[str, np.ndarray], ids: np.ndarray) -> list[dict]:
    """Features as a decoder should return them: closed rings, NaN properties left out."""
    features = []
    for i, ring in enumerate(rings):
        props: dict[str, Any] = {}
        for key, column in properties.items():
            value = column[i].item()
            if not (isinstance(value, float) and np.isnan(value)):
                props[key] = value
        closed = [[int(x), int(y)] for x, y in ring] + [[int(ring[0, 0]), int(ring[0, 1])]]
        features.append({"id": int(ids[i]), "properties": props, "rings": [closed]})
    return features


def python_decode(tile: bytes) -> dict[str, list[dict]]:
    """Features per layer as decoded by mapbox_vector_tile."""
    layers = {}
    for name, layer in mapbox_vector_tile.decode(tile, default_options=Y_DOWN).items():
        assert layer["extent"] == mvt.EXTENT and layer["version"] == 2
        assert {feature["geometry"]["type"] for feature in layer["features"]} == {"Polygon"}
        layers[name] = [
            {"id": f["id"], "properties": f["properties"], "rings": f["geometry"]["coordinates"]}
            for f in layer["features"]
        ]
    return layers


def javascript_decode(tile: bytes, tmp_path: Path) -> dict[str, list[dict]]:
    """Features per layer as decoded by @mapbox/vector-tile (tests/tiles/js/decode.mjs)."""
    node = shutil.which("node")
    if node is None:
        skip_or_fail("BROWSER", "node is not installed: cannot run the JavaScript decoder")
    if not (JS_DIR / "node_modules" / "@mapbox" / "vector-tile").is_dir():
        skip_or_fail("BROWSER", "JavaScript decoder not installed: run `npm ci --prefix tests/tiles/js`")
    path = tmp_path / "tile.mvt"
    path.write_bytes(tile)
    result = subprocess.run(
        [node, str(JS_DIR / "decode.mjs"), str(path)], capture_output=True, text=True, check=True, timeout=60
    )
    layers = {}
    for name, layer in json.loads(result.stdout).items():
        assert layer["extent"] == mvt.EXTENT and layer["version"] == 2
        assert {feature["type"] for feature in layer["features"]} == {3}  # polygon
        layers[name] = [{key: f[key] for key in ("id", "properties", "rings")} for f in layer["features"]]
    return layers


@pytest.fixture(params=["python", "javascript"])
def decode(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[bytes], dict[str, list[dict]]]:
    """Decode a tile into features per layer, with each of the two independent decoders."""
    if request.param == "python":
        return python_decode
    return lambda tile: javascript_decode(tile, tmp_path)


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    n = 400
    return hexagons(n), sample_properties(n), np.arange(n, dtype=np.uint64) * 2**40 + 5


def test_decoders_return_what_was_encoded(sample, decode):
    rings, properties, ids = sample
    tile = mvt.encode_hexagon_layer("hexagons", rings, properties, ids=ids)
    assert decode(tile) == {"hexagons": expected_features(rings, properties, ids)}


def test_same_features_as_mapbox_vector_tile_encoder(sample):
    rings, properties, ids = sample
    reference = expected_features(rings, properties, ids)
    theirs = mapbox_vector_tile.encode(
        [
            {
                "name": "hexagons",
                "features": [
                    {"geometry": shapely.Polygon(f["rings"][0]), "properties": f["properties"], "id": f["id"]}
                    for f in reference
                ],
            }
        ],
        default_options=Y_DOWN,
    )
    ours = mvt.encode_hexagon_layer("hexagons", rings, properties, ids=ids)
    assert python_decode(ours) == python_decode(theirs)


def test_protobuf_schema_fields_and_deduplicated_values(sample):
    rings, properties, ids = sample
    message = vector_tile_pb2.tile.FromString(
        mvt.encode_hexagon_layer("hexagons", rings, properties, ids=ids)
    )
    (layer,) = message.layers
    assert (layer.name, layer.version, layer.extent) == ("hexagons", 2, 4096)
    assert list(layer.keys) == ["count", "weight", "category"]
    assert {feature.type for feature in layer.features} == {vector_tile_pb2.tile.GeomType.Value("Polygon")}
    typed = [(field.name, v) for value in layer.values for field, v in value.ListFields()]
    assert len(typed) == len(layer.values)  # one field set per Value
    assert len(typed) == len(set(typed))
    counts = properties["count"]
    weights = properties["weight"][~np.isnan(properties["weight"])]
    assert {v for kind, v in typed if kind in ("uint_value", "sint_value")} == set(counts.tolist())
    assert {kind for kind, v in typed if kind in ("uint_value", "sint_value") and v < 0} == {"sint_value"}
    assert {v for kind, v in typed if kind == "double_value"} == set(weights.tolist())
    assert {v for kind, v in typed if kind == "string_value"} == set(properties["category"].tolist())


def test_counter_clockwise_rings_are_reversed_to_positive_area(decode):
    clockwise = hexagons(30, seed=3)
    tile = mvt.encode_hexagon_layer("h", clockwise[:, ::-1], {"n": np.arange(30)})
    features = decode(tile)["h"]
    assert len(features) == 30
    for feature in features:
        # Positive surveyor's area in y-down tile coordinates is what shapely calls counter-clockwise.
        assert shapely.LinearRing(feature["rings"][0]).is_ccw
        assert sorted(map(tuple, feature["rings"][0][:-1])) == sorted(
            map(tuple, clockwise[feature["properties"]["n"]].tolist())
        )


def test_degenerate_rings_are_dropped_with_their_values_and_pentagons_kept():
    good = hexagons(3, seed=5)
    point = np.full((1, 6, 2), 100)
    line = np.array([[[0, 0], [10, 10], [20, 20], [30, 30], [20, 20], [10, 10]]])
    pentagon = np.array([[[0, 0], [40, 0], [50, 30], [20, 50], [-10, 30], [-10, 30]]])
    float_pentagon = pentagon + 0.3
    rings = np.concatenate((good[:1], point, good[1:2], line, pentagon, float_pentagon, good[2:]))
    tile = mvt.encode_hexagon_layer("h", rings, {"n": np.arange(7)})
    decoded = python_decode(tile)["h"]
    assert [f["properties"]["n"] for f in decoded] == [0, 2, 4, 5, 6]
    assert decoded[2]["rings"][0] == decoded[3]["rings"][0] == [*pentagon[0, :5].tolist(), [0, 0]]
    assert mvt.polygon_rings(rings).tolist() == [True, False, True, False, True, True, True]


def test_empty_layers_are_the_empty_tile():
    no_rings = np.empty((0, 6, 2), dtype=np.int32)
    assert mvt.encode_hexagon_layer("h", no_rings, {"count": np.empty(0, dtype=int)}) == mvt.EMPTY_TILE == b""
    collapsed = np.zeros((4, 6, 2), dtype=np.int32)
    assert mvt.encode_hexagon_layer("h", collapsed, {"count": np.arange(4)}) == b""
    assert mapbox_vector_tile.decode(mvt.EMPTY_TILE) == {}


def test_concatenated_layers_decode_as_one_tile(sample, decode):
    rings, properties, _ = sample
    first = mvt.encode_hexagon_layer("hexagons", rings[:10], {"count": properties["count"][:10]})
    second = mvt.encode_hexagon_layer("outline", rings[10:13], {})
    layers = decode(mvt.concat_layers(first, second, mvt.EMPTY_TILE))
    assert set(layers) == {"hexagons", "outline"}
    assert [f["properties"] for f in layers["hexagons"]] == [
        {"count": c} for c in properties["count"][:10].tolist()
    ]
    assert [f["properties"] for f in layers["outline"]] == [{}, {}, {}]


def test_varints_match_protobuf():
    values = np.array(
        [0, 1, 127, 128, 300, 16383, 16384, 2**32 - 1, 2**35, 2**63 + 12345, 2**64 - 1], np.uint64
    )
    assert mvt.encode_varints(values).tobytes() == b"".join(_VarintBytes(int(v)) for v in values)
    assert mvt.zigzag(np.array([0, -1, 1, -2, 2**31 - 1, -(2**31)])).tolist() == [
        0,
        1,
        2,
        3,
        2**32 - 2,
        2**32 - 1,
    ]


def test_rejects_misshapen_input():
    with pytest.raises(ValueError, match="rings_xy"):
        mvt.encode_hexagon_layer("h", np.zeros((3, 6)), {})
    with pytest.raises(ValueError, match="one value per ring"):
        mvt.encode_hexagon_layer("h", hexagons(3), {"count": np.arange(2)})
    with pytest.raises(TypeError, match="not int, float or str"):
        mvt.encode_hexagon_layer("h", hexagons(3), {"flag": np.array([True, False, True])})

"""An :class:`~hotspots.analysis.compute.Analysis` as bytes and back: what a snapshot stores.

An npz archive (``numpy.savez``, loaded with ``allow_pickle=False``, compressed with Zstandard) of every array
the analysis holds, plus one JSON entry describing how they fit together. Never a pickle: a snapshot is read by every worker
and host, and a pickle in a shared table would run whatever code it names. Only the types an analysis is
made of are accepted (arrays, CSR weights, data frames, a period index, dates, the statistic classes), and
anything else fails loudly when the snapshot is *written*, not when it is read.

>>> # data = encode(analysis); again = decode(data, areas); digest(again) == digest(analysis)

The statistic objects are rebuilt without recomputing: their attributes are restored as stored
(``object.__new__`` and the instance dictionary), so a decoded analysis serves exactly the same numbers.
"""

from __future__ import annotations

import dataclasses
import io
import json
import struct
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from hotspots.analysis.compute import Analysis, ReportPoints
from hotspots.analysis.lattice import Lattice
from hotspots.analysis.params import AnalysisParams
from hotspots.geo.areas import Areas
from hotspots.stats.change import WeekOverWeek
from hotspots.stats.emerging import EmergingHotspots
from hotspots.stats.gistar import GiStar
from hotspots.stats.inference import Tails
from hotspots.stats.moran import LocalMoran

#: Classes restored attribute by attribute (their constructors compute; decoding must not).
_OBJECTS: dict[str, type] = {c.__name__: c for c in (GiStar, LocalMoran, EmergingHotspots, WeekOverWeek)}
#: Dataclasses and named tuples restored through their constructors.
_RECORDS: dict[str, type] = {c.__name__: c for c in (AnalysisParams, Lattice, ReportPoints, Tails)}
_META = "__meta__"
#: Zstandard at level 1 (pyarrow's): the 33 MB of mostly-zero weekly arrays of the dense demo become
#: 1.7 MB in 20 ms and come back in 25 ms, where zlib took 100 and 50 ms; every worker decodes each
#: snapshot while its requests wait for the interpreter lock, so decoding is what counts.
_ZSTD = pa.Codec("zstd", compression_level=1)
_SIZE = struct.Struct("<Q")  # the uncompressed size, which zstd's decompressor wants up front


class _Encoder:
    """Walks a value, moving arrays into ``arrays`` and returning the JSON node that points at them."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        # id -> (value, node): shared weights are stored once; the value is held so its id is not reused
        self._seen: dict[int, tuple[Any, Any]] = {}

    def array(self, values: np.ndarray) -> str:
        name = f"a{len(self.arrays)}"
        self.arrays[name] = np.ascontiguousarray(values)
        return name

    def node(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float | str):
            return {"v": value}
        if isinstance(value, np.generic):
            return {"v": value.item()}
        if isinstance(value, datetime):
            return {"datetime": value.isoformat()}
        if isinstance(value, date):
            return {"date": value.isoformat()}
        if id(value) in self._seen:
            return self._seen[id(value)][1]
        node = self._composite(value)
        self._seen[id(value)] = (value, node)
        return node

    def _composite(self, value: Any) -> Any:
        if isinstance(value, np.ndarray):
            if value.dtype == object:  # area ids and labels: strings with missing values
                missing = np.array([v is None for v in value.tolist()], dtype=bool)
                text = np.array(["" if v is None else str(v) for v in value.tolist()], dtype=str)
                return {"objects": self.array(text), "missing": self.array(missing)}
            return {"array": self.array(value)}
        if sp.issparse(value):
            csr = sp.csr_matrix(value)
            parts = [self.array(csr.data), self.array(csr.indices), self.array(csr.indptr)]
            return {"csr": parts, "shape": list(csr.shape), "array_api": isinstance(value, sp.sparray)}
        if isinstance(value, pd.PeriodIndex):
            return {"periods": self.array(value.asi8), "freq": value.freqstr}
        if isinstance(value, pd.DataFrame):
            return {
                "frame": [[self.node(name), self.node(value[name].to_numpy())] for name in value.columns],
                "index": self.node(value.index.to_numpy()),
                "index_name": self.node(value.index.name),
                "columns_name": self.node(value.columns.name),
            }
        if isinstance(value, tuple) and type(value).__name__ in _RECORDS:  # named tuples
            fields = {k: self.node(v) for k, v in value._asdict().items()}  # type: ignore[attr-defined]
            return {"record": type(value).__name__, "fields": fields}
        if dataclasses.is_dataclass(value) and type(value).__name__ in _RECORDS:
            fields = {f.name: self.node(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return {"record": type(value).__name__, "fields": fields}
        if isinstance(value, tuple):
            return {"tuple": [self.node(v) for v in value]}
        if type(value).__name__ in _OBJECTS and type(value) is _OBJECTS[type(value).__name__]:
            return {
                "object": type(value).__name__,
                "fields": {k: self.node(v) for k, v in vars(value).items()},
            }
        raise TypeError(f"an analysis snapshot cannot hold a {type(value).__name__}")


class _Decoder:
    def __init__(self, arrays: Any) -> None:
        self.arrays = arrays
        self._built: dict[str, Any] = {}  # JSON of a shared node -> the one object built for it

    def value(self, node: Any) -> Any:
        if "v" in node:
            return node["v"]
        if "datetime" in node:
            return datetime.fromisoformat(node["datetime"])
        if "date" in node:
            return date.fromisoformat(node["date"])
        key = json.dumps(node, sort_keys=True)
        if key not in self._built:
            self._built[key] = self._composite(node)
        return self._built[key]

    def _composite(self, node: dict[str, Any]) -> Any:
        if "array" in node:
            return self.arrays[node["array"]]
        if "objects" in node:
            out = self.arrays[node["objects"]].astype(object)
            out[self.arrays[node["missing"]]] = None
            return out
        if "csr" in node:
            data, indices, indptr = (self.arrays[name] for name in node["csr"])
            kind = sp.csr_array if node["array_api"] else sp.csr_matrix
            return kind((data, indices, indptr), shape=tuple(node["shape"]))
        if "periods" in node:
            ordinals = self.arrays[node["periods"]]
            return pd.PeriodIndex.from_ordinals(ordinals, freq=node["freq"])  # type: ignore[attr-defined]
        if "frame" in node:
            columns = {self.value(name): self.value(values) for name, values in node["frame"]}
            index = pd.Index(self.value(node["index"]), name=self.value(node["index_name"]))
            frame = pd.DataFrame(columns, index=index, columns=list(columns))
            frame.columns.name = self.value(node["columns_name"])
            return frame
        if "tuple" in node:
            return tuple(self.value(v) for v in node["tuple"])
        if "record" in node:
            return _RECORDS[node["record"]](**{k: self.value(v) for k, v in node["fields"].items()})
        if "object" in node:
            instance: Any = object.__new__(_OBJECTS[node["object"]])
            vars(instance).update({k: self.value(v) for k, v in node["fields"].items()})
            return instance
        raise ValueError(f"unknown node in an analysis snapshot: {sorted(node)}")


def encode(analysis: Analysis) -> bytes:
    """The analysis as an npz archive (its areas are configuration, not data: not stored)."""
    encoder = _Encoder()
    fields = {
        f.name: encoder.node(getattr(analysis, f.name))
        for f in dataclasses.fields(analysis)
        if f.name != "areas"
    }
    meta = np.frombuffer(json.dumps(fields).encode(), dtype=np.uint8)
    out = io.BytesIO()
    np.savez(out, **(encoder.arrays | {_META: meta}))  # type: ignore[arg-type]
    raw = out.getbuffer()
    return _SIZE.pack(raw.nbytes) + _ZSTD.compress(raw, asbytes=True)


def decode(data: bytes, areas: Areas) -> Analysis:
    """The analysis stored by :func:`encode`, with the caller's ``areas``."""
    (size,) = _SIZE.unpack_from(data)
    raw = _ZSTD.decompress(memoryview(data)[_SIZE.size :], decompressed_size=size, asbytes=True)
    with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    fields = json.loads(arrays.pop(_META).tobytes())
    decoder = _Decoder(arrays)
    return Analysis(areas=areas, **{name: decoder.value(node) for name, node in fields.items()})

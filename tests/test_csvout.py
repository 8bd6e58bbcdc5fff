"""CSV for Swedish Excel: semicolons, a BOM, decimal comma on request, formulas neutralised."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from hotspots.csvout import to_csv


def rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_starts_with_bom_and_splits_on_semicolons() -> None:
    data = to_csv(pd.DataFrame({"plats": ["Örebro; centrum"], "antal": [3]}))
    assert data.startswith(b"\xef\xbb\xbf")
    assert rows(data) == [["plats", "antal"], ["Örebro; centrum", "3"]]


@pytest.mark.parametrize("cell", ["=1+1", "+46701234567", "-2+3", "@SUM(A1)", "\t=cmd", "\r=cmd"])
def test_formula_like_text_is_shown_as_text(cell: str) -> None:
    data = to_csv(pd.DataFrame({"anteckning": [cell, "vanlig text"]}))
    assert rows(data)[1:] == [["'" + cell], ["vanlig text"]]


def test_negative_numbers_stay_numbers_and_decimal_comma_is_optional() -> None:
    frame = pd.DataFrame({"z": [-2.5, 1.25]})
    assert rows(to_csv(frame))[1:] == [["-2.5"], ["1.25"]]
    assert rows(to_csv(frame, decimal_comma=True))[1:] == [["-2,5"], ["1,25"]]


def test_preamble_is_skipped_by_comment_aware_readers_and_neutralised() -> None:
    data = to_csv(pd.DataFrame({"a": ["x"]}), preamble={"fönster": "=HACK()"})
    assert data.decode("utf-8-sig").splitlines()[0] == "# fönster;'=HACK()"
    back = pd.read_csv(io.BytesIO(data), sep=";", comment="#", encoding="utf-8-sig")
    assert back.to_dict("list") == {"a": ["x"]}

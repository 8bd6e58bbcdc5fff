"""The word tables: both languages say the same thing with the same numbers, and every code has a label."""

from __future__ import annotations

import string

import pytest

from hotspots import words
from hotspots.stats.emerging import CATEGORIES
from hotspots.words import Language

#: Every table indexed TABLE[lang][key].
TABLES = {
    name: table
    for name, table in vars(words).items()
    if name.isupper()
    and isinstance(table, dict)
    and set(table) == {lang.value for lang in Language}
    and all(isinstance(part, dict) for part in table.values())
}


def fields(text: str) -> set[str]:
    """The ``{placeholders}`` a string expects from ``str.format``."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_tables_are_found() -> None:
    assert {"REASONS", "PRIORITY_LIST", "MAP", "REPORT", "CHART", "CHART_LEGEND", "CLI"} <= set(TABLES)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_word_has_both_languages_with_the_same_placeholders(name: str) -> None:
    sv, en = TABLES[name][Language.sv], TABLES[name][Language.en]
    assert set(sv) == set(en)
    for key in sv:
        if isinstance(sv[key], str):
            assert sv[key].strip() and en[key].strip(), (name, key)
            assert fields(sv[key]) == fields(en[key]), (name, key)


def test_wdq_readings_have_both_languages() -> None:
    for code, text in words.WDQ_READINGS.items():
        assert set(text) == {"sv", "en"} and all(text.values()), code


def test_every_emerging_code_has_a_label_in_each_language() -> None:
    for lang in Language:
        labels = [words.emerging_label(code, lang) for code in CATEGORIES]
        assert all(label != code for label, code in zip(labels, CATEGORIES, strict=True))
        assert len(set(labels)) == len(CATEGORIES)  # no two patterns read the same
    assert words.emerging_label("intensifying_hot", Language.sv) == "intensifierande hotspot"
    assert words.emerging_label("unknown_code", Language.en) == "unknown_code"


def test_language_is_its_string() -> None:
    assert Language("sv") is Language.sv and f"{Language.en}" == "en"
    assert words.REPORT["sv"] is words.REPORT[Language.sv]

"""CSV that Swedish Excel opens as a table: one writer for every CSV the service hands out.

Excel in a Swedish locale splits on ``;`` (``,`` is the decimal separator there) and only detects UTF-8
when the file starts with a byte-order mark; without it "Örebro" arrives as "Ã–rebro". Text cells that
start like a formula (``=``, ``+``, ``-``, ``@``, or a tab / carriage return that Excel strips before
looking) would be *evaluated* on opening (CSV injection, OWASP): they get a leading apostrophe, which
Excel shows as text. Numeric columns are left alone, so ``-3`` stays the number minus three.

>>> import pandas as pd
>>> data = to_csv(pd.DataFrame({"plats": ["=HYPERLINK(1)", "Vivalla"], "poäng": [1.5, -2.0]}), decimal_comma=True)
>>> data.decode("utf-8-sig").splitlines()  # lines end in CRLF
['plats;poäng', "'=HYPERLINK(1);1,5", 'Vivalla;-2,0']
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

#: Cell starts that a spreadsheet treats as a formula (tab and CR are stripped by Excel before it looks).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def neutralise(values: pd.Series) -> pd.Series:
    """Text with an apostrophe in front where a spreadsheet would run it as a formula; missing -> ''."""
    text = values.astype(object).where(values.notna(), "").astype(str)
    return text.where(~text.str.startswith(FORMULA_PREFIXES), "'" + text)


def to_csv(
    frame: pd.DataFrame, *, decimal_comma: bool = False, preamble: Mapping[str, object] | None = None
) -> bytes:
    """``frame`` as semicolon CSV, UTF-8 with BOM, text cells and headers neutralised; optional decimal comma.

    ``preamble`` adds ``# key;value`` lines before the header (metadata such as the window and the data
    version); ``pandas.read_csv(..., sep=";", comment="#")`` skips them.
    """
    safe = frame.copy()
    for name in safe.columns:
        if not (pd.api.types.is_numeric_dtype(safe[name].dtype) or pd.api.types.is_bool_dtype(safe[name])):
            safe[name] = neutralise(safe[name])
    safe.columns = neutralise(pd.Series([str(name) for name in safe.columns]))  # headers come from config
    lines = ""
    if preamble:
        keys = neutralise(pd.Series([str(k) for k in preamble]))
        values = neutralise(pd.Series([str(v) for v in preamble.values()]))
        lines = "".join(f"# {k};{v}\r\n" for k, v in zip(keys, values, strict=True))
    # CRLF (RFC 4180): the csv writer then quotes every field holding a CR or LF, so a stray CR inside a
    # note cannot end the row early and start a new one with "=..." (with LF endings a CR goes unquoted).
    body = safe.to_csv(sep=";", decimal="," if decimal_comma else ".", index=False, lineterminator="\r\n")
    return (BOM + lines + body).encode("utf-8")

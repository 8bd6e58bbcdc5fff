"""Import timestamps: ISO 8601 with any offset form (``Z``, ``+00``, ``+0100``, ``+01:00``) or none (local
time in the deployment's zone), ``YYYY/MM/DD`` as well as ``YYYY-MM-DD``; times a DST change makes ambiguous
or non-existent are resolved by a policy (earlier, later) or refused.

>>> parse_timestamps(pd.Series(["2020/06/27 04:00:00+00"]), "Europe/Stockholm")[0].iloc[0]
Timestamp('2020-06-27 04:00:00+0000', tz='UTC')
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hotspots.ingest.validation import mask, text

#: A time of day followed by a UTC offset in any ISO 8601 form: Z, +HH, +HHMM, +HH:MM.
OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s?(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"
Instants = npt.NDArray[np.datetime64]


class DstPolicy(StrEnum):
    """What a local time that a DST change makes ambiguous (autumn) or non-existent (spring) means."""

    REFUSE = "refuse"  # a row error naming the row: give a UTC offset
    EARLIER = "earlier"  # the earlier of the two instants the wall-clock time can mean
    LATER = "later"  # the later one


def _normalised(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """YYYY/MM/DD as YYYY-MM-DD, and every offset as +HH:MM, so one ISO 8601 parser reads them all."""
    text = pc.replace_substring_regex(text, r"^(\d{4})/(\d{2})/(\d{2})", r"\1-\2-\3")
    text = pc.replace_substring_regex(text, r"\s?([+-]\d{2})(\d{2})$", r"\1:\2")
    return pc.replace_substring_regex(
        text, r"(\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)\s?([+-]\d{2})$", r"\1\2:00"
    )


def _localized(local: pd.Series, tz: str, policy: DstPolicy) -> pd.Series:
    if policy is DstPolicy.REFUSE:
        return local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    earlier = policy is DstPolicy.EARLIER
    # Ambiguous (autumn): True is the first, summer-time reading, the earlier instant. Non-existent
    # (spring): 02:30 read as 01:30 standard time is the earlier instant, as 03:30 summer time the later.
    return local.dt.tz_localize(
        tz,
        ambiguous=np.full(len(local), earlier),
        nonexistent=pd.Timedelta(hours=-1 if earlier else 1),
    )


def utc_us(values: pd.Series) -> Instants:
    """tz-aware timestamps -> naive UTC datetime64[us]."""
    return values.dt.tz_convert(None).to_numpy(dtype="datetime64[us]")


def instants(
    text: pa.ChunkedArray, tz: str, policy: DstPolicy = DstPolicy.REFUSE
) -> tuple[Instants, npt.NDArray[np.object_]]:
    """UTC instants of trimmed ISO 8601 text (NaT where invalid) and the reason (None for good rows)."""
    n = len(text)
    text = _normalised(text)
    has_offset = mask(pc.match_substring_regex(text, OFFSET))
    blank = mask(pc.equal(text, ""))
    out = np.full(n, np.datetime64("NaT", "us"))
    if has_offset.any():
        with_offset = text.filter(pa.array(has_offset))
        try:  # Arrow's ISO 8601 cast covers what exports contain, ~10x faster than pandas
            out[has_offset] = pc.cast(with_offset, pa.timestamp("us", tz="UTC")).to_numpy(
                zero_copy_only=False
            )
        except pa.ArrowInvalid:  # anything rarer (or invalid): pandas' parser, NaT for the invalid
            parsed = pd.to_datetime(with_offset.to_pandas(), format="ISO8601", utc=True, errors="coerce")
            out[has_offset] = utc_us(parsed)
    naive = ~has_offset & ~blank
    dst = np.zeros(n, dtype=bool)
    if naive.any():
        local_text = text.filter(pa.array(naive)).to_pandas()
        local = pd.to_datetime(local_text, format="ISO8601", errors="coerce")
        try:
            localized = _localized(local, tz, policy)
        except (TypeError, AttributeError):  # mixed/odd values: element-wise, an aware one is invalid here
            local = pd.to_datetime(local_text, errors="coerce")
            if getattr(local.dtype, "tz", None) is not None or local.dtype == object:
                local = pd.Series(pd.NaT, index=local_text.index, dtype="datetime64[us]")
            localized = _localized(local, tz, policy)
        out[naive] = utc_us(localized)
        dst[naive] = localized.isna().to_numpy() & local.notna().to_numpy()
    reason = np.empty(n, dtype=object)  # None for good rows: only failing rows' reasons are ever read
    reason[np.isnat(out)] = "not a date/time; use ISO 8601, e.g. 2026-03-14T21:35:00+01:00"
    reason[dst] = (
        f"local time that does not exist or is ambiguous in {tz} (DST change); give a UTC offset, or set "
        "HOTSPOTS_DST_POLICY to earlier or later"
    )
    reason[blank] = "missing"
    return out, reason


def parse_timestamps(
    values: pd.Series, tz: str, policy: DstPolicy = DstPolicy.REFUSE
) -> tuple[pd.Series, pd.Series]:
    """UTC timestamps from ISO 8601 strings; local time (``tz``) where no offset is given.

    Returns (timestamps, reason) where reason is '' for good rows. Month-only dates ("2026-03") and
    day-only dates are accepted (their first instant, local time).
    """
    out, reason = instants(text(values), tz, policy)
    reason[~np.isnat(out)] = ""
    return pd.Series(out, index=values.index).dt.tz_localize("UTC"), pd.Series(reason, index=values.index)

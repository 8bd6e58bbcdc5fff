"""Text that came from outside (login names, notes, actor names) made safe to print or log.

Kept apart from :mod:`hotspots.access.audit` so the CLI can escape its output without importing SQLAlchemy
(``hotspots --help`` loads nothing heavy).

>>> clean_text("evil\x1b]0;title\x07name", 64)
'evil]0;titlename'
"""

from __future__ import annotations

_CONTROL = {c: None for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))} | {
    c: None for c in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
}


def clean_text(value: str, limit: int) -> str:
    """``value`` without control characters (C0, DEL, C1: terminal escapes, NUL) and bidi overrides, cut
    to ``limit`` characters: what may be written to the log and shown on an admin's terminal."""
    cleaned = value.translate(_CONTROL)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"

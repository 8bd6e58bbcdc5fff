"""Reasons in words: why a place is on the list, each sentence derived from the entry's own numbers.

The words are in :mod:`hotspots.words`; this module only chooses and fills them.
"""

from __future__ import annotations

from hotspots.config import Taxonomy
from hotspots.ranking.priorities.entries import PriorityEntry
from hotspots.words import PLURALS, REASONS, Language

#: Confidence level (%) of each positive Gi_Bin.
CONFIDENCE = {3: 99, 2: 95, 1: 90}
#: Emerging patterns that say "more and more": beside a falling count they need their time scale said.
RISING = ("new_hot", "consecutive_hot", "intensifying_hot")


def number(value: float, lang: Language, digits: int = 2) -> str:
    """A decimal as the language writes it (Swedish: decimal comma, true minus sign)."""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",").replace("-", "−") if lang == "sv" else text


def reasons_for(entry: PriorityEntry, *, days: int, taxonomy: Taxonomy, lang: Language) -> list[str]:
    """The entry's reasons in words, each derived from the entry's own numbers."""
    words = REASONS[lang]

    def plural(key: str, n: int) -> str:
        return PLURALS[lang][key][0 if n == 1 else 1]

    recent = words["recent"].format(n=entry.reports, reports=plural("report", entry.reports), days=days)
    if entry.counts:
        severity = {t.id: t.severity for t in taxonomy.categories}
        top = max(entry.counts, key=lambda c: (entry.counts[c], severity.get(c, 0.0), c))
        label = next((t.label(lang) for t in taxonomy.categories if t.id == top), top)
        recent += f" ({entry.counts[top]} {label})"
    reasons = [recent]
    change = None if entry.previous_reports is None else entry.reports - entry.previous_reports
    if entry.previous_reports is not None:
        text = words["previous"].format(days=days, n=entry.previous_reports)
        if change:
            signed = ("+" if change > 0 else "") + number(change, lang, 0)
            text += f" ({words['change'].format(change=signed)})"
        reasons.append(text)
    if entry.gi_bin > 0:
        reasons.append(words["hotspot"].format(conf=CONFIDENCE[entry.gi_bin]))
    if entry.emerging.endswith("_hot"):
        text = entry.emerging_label
        if entry.emerging in RISING and change is not None and change < 0:
            # a rising pattern beside a falling count: say the pattern's time scale, not a contradiction
            weeks = max(entry.hot_weeks, 1)
            text = words["rising_over"].format(pattern=text, weeks=weeks, days=days)
        elif entry.hot_weeks:
            text += f" {entry.hot_weeks} {plural('week', entry.hot_weeks)}"
        reasons.append(text)
    for m in entry.measures:
        key = "measure" if m.get("end") is None else "ended"
        text = words[key].format(type=m["type"], org=m["organisation"], start=m["start"], end=m.get("end"))
        follow = m.get("follow_up") or {}
        if follow.get("wdq") is not None:
            text += "; " + words["wdq"].format(
                wdq=number(follow["wdq"], lang), reading=follow["reading"][lang]
            )
        reasons.append(text)
    return reasons

"""Every word a person reads, in Swedish and English: one home, so a translation is one edit here.

The core (``hotspots``), the renderers (``maps``), the API and the CLI take a :class:`Language` and look
their words up in these tables; none of them hard-codes Swedish. Each entry puts its Swedish and English
side by side (``key: (sv, en)``), so a missing translation cannot happen. Category and source names are
configuration, not code: they live in ``data/taxonomy.toml``.

It is a table of strings, not logic: should it grow past the ~400-line guideline, it stays one module,
since splitting it would give words several homes again.

>>> REPORT[Language.sv]["title"]
'Lägesbild öppen narkotikahandel'
>>> emerging_label("intensifying_hot", "en"), emerging_label("persistent_cold", "sv")
('intensifying hot spot', 'ihållande kall fläck')
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

K = TypeVar("K")


class Language(StrEnum):
    """The interface languages: Swedish (the default everywhere) and English.

    A ``str`` enum, so ``Language.sv == "sv"`` and the tables below answer to either.
    """

    sv = "sv"
    en = "en"


def _table(pairs: Mapping[K, tuple[str, str]]) -> dict[str, dict[K, str]]:
    """``{key: (sv, en)}`` as ``{lang: {key: text}}``, the shape callers index: ``TABLE[lang][key]``."""
    return {lang.value: {key: pair[i] for key, pair in pairs.items()} for i, lang in enumerate(Language)}


def _by_key(pairs: Mapping[str, tuple[str, str]]) -> dict[str, dict[str, str]]:
    """``{key: (sv, en)}`` as ``{key: {lang: text}}``, for words that travel with both languages."""
    return {key: {lang.value: pair[i] for i, lang in enumerate(Language)} for key, pair in pairs.items()}


# ------------------------------------------------------------------------------- emerging hot spots

#: Pattern names of the emerging hot spot analysis (codes in :data:`hotspots.stats.emerging.PATTERNS`).
PATTERN_WORDS = _table(
    {
        "new": ("ny", "new"),
        "consecutive": ("på varandra följande", "consecutive"),
        "intensifying": ("intensifierande", "intensifying"),
        "persistent": ("ihållande", "persistent"),
        "diminishing": ("avtagande", "diminishing"),
        "sporadic": ("sporadisk", "sporadic"),
        "oscillating": ("oscillerande", "oscillating"),
        "historical": ("historisk", "historical"),
    }
)
SPOT_WORDS = _table({"hot": ("hotspot", "hot spot"), "cold": ("kall fläck", "cold spot")})
NO_PATTERN = _table({"no_pattern": ("inget mönster", "no pattern detected")})

#: Label of every emerging category code ("intensifying_hot" -> "intensifierande hotspot"), per language.
CATEGORY_LABELS: dict[str, dict[str, str]] = {
    lang: {
        **{
            f"{pattern}_{spot}": f"{word} {SPOT_WORDS[lang][spot]}"
            for spot in ("hot", "cold")
            for pattern, word in PATTERN_WORDS[lang].items()
        },
        **NO_PATTERN[lang],
    }
    for lang in PATTERN_WORDS
}


def emerging_label(code: str, lang: Language = Language.sv) -> str:
    """Human label of an emerging-hotspot category code (the code itself when unknown)."""
    return CATEGORY_LABELS.get(lang, CATEGORY_LABELS[Language.en]).get(code, code)


#: Compass points clockwise from north, for a place label like "300 m NO om Vivalla centrum".
COMPASS: dict[str, tuple[str, ...]] = {
    Language.sv.value: ("N", "NO", "O", "SO", "S", "SV", "V", "NV"),
    Language.en.value: ("N", "NE", "E", "SE", "S", "SW", "W", "NW"),
}
PLACE_LABEL = _table({"far": ("{distance} m {direction} om {name}", "{distance} m {direction} of {name}")})
#: Reports outside every area (partnership or RegSO).
OUTSIDE_AREAS = _table({"name": ("utanför områden", "outside areas")})
#: The summary's key for cells outside every area: a stable id in API output, not a word to translate.
OUTSIDE_KEY = "(utanför)"

# --------------------------------------------------------------------------------- priority lists

#: (singular, plural) of the counted nouns in reasons.
PLURALS: dict[str, dict[str, tuple[str, str]]] = {
    Language.sv.value: {"report": ("rapport", "rapporter"), "week": ("vecka", "veckor")},
    Language.en.value: {"report": ("report", "reports"), "week": ("week", "weeks")},
}
#: Reasons in words beside each ranked place; the numbers come from the entry (hotspots.reasons).
REASONS = _table(
    {
        "recent": ("{n} {reports} senaste {days} dagarna", "{n} {reports} in the last {days} days"),
        "previous": ("föregående {days} dagar: {n}", "previous {days} days: {n}"),
        "change": ("nu {change}", "now {change}"),
        "rising_over": (
            "{pattern} räknat över {weeks} veckor, trots färre rapporter de senaste {days} dagarna",
            "{pattern} counted over {weeks} weeks, despite fewer reports in the last {days} days",
        ),
        "hotspot": ("signifikant hotspot {conf} %", "significant hot spot {conf} %"),
        "measure": (
            "pågående insats: {type} ({org}) sedan {start}",
            "ongoing measure: {type} ({org}) since {start}",
        ),
        "ended": ("insats: {type} ({org}) {start} – {end}", "measure: {type} ({org}) {start} – {end}"),
        "wdq": ("WDQ {wdq}: {reading}", "WDQ {wdq}: {reading}"),
    }
)
#: The list's columns (CSV, CLI table) and the phone page's words.
PRIORITY_LIST = _table(
    {
        "rank": ("rang", "rank"),
        "score": ("poäng", "score"),
        "area": ("område", "area"),
        "place": ("plats", "place"),
        "reports": ("rapporter", "reports"),
        "previous": ("föregående", "previous"),
        "pattern": ("mönster", "pattern"),
        "reasons": ("skäl", "reasons"),
        "map": ("karta", "map"),
        "cells": ("celler", "cells"),
        "window": ("fönster", "window"),
        "all_areas": ("Alla områden", "All areas"),
        "title": ("Prioriterade platser", "Priority places"),
        "days": ("dagar", "days"),
        "open_in_maps": ("Öppna i kartappen", "Open in maps app"),
        "empty": ("Inga platser med rapporter i perioden.", "No places with reports in the period."),
        "generated": ("Data per", "Data as of"),
        "dataset_version": ("dataversion", "data version"),
        "score_short": ("poäng", "score"),
        "show_on_map": ("Visa på kartan", "Show on map"),
        "data_as_of": ("Data t.o.m. {last} (import {imported})", "Data up to {last} (import {imported})"),
        "no_data": ("Inga rapporter i databasen", "No reports in the store"),
        "fetched": ("Hämtad", "Fetched"),
        "offline": (
            "Ingen uppkoppling – listan visas som den senast hämtades. Besök och observationer sparas på "
            "telefonen och skickas när nätet är tillbaka.",
            "Offline – the list as last fetched. Visits and observations are kept on the phone and sent "
            "when the network is back.",
        ),
        "areas": ("Områden", "Areas"),
        "visited": (
            "Besökt {n} gånger senaste 7 dagarna ({minutes} min)",
            "Visited {n} times in 7 days ({minutes} min)",
        ),
        "not_visited": ("Inte besökt senaste 7 dagarna", "Not visited in the last 7 days"),
        "evidence": (
            "Listan tar slut där underlaget tar slut: en plats visas om den är en signifikant hotspot eller har "
            "fler rapporter än slumpen ger någon av områdets {cells} celler (minst {n} i en cell).",
            "The list stops where the evidence stops: a place is shown if it is a significant hot spot or has "
            "more reports than chance gives any of the {cells} cells (at least {n} in one cell).",
        ),
        "log_visit": ("Logga besök", "Log visit"),
        "start_visit": ("Starta besök", "Start visit"),
        "end_visit": ("Avsluta besök", "End visit"),
        "observe": ("Rapportera observation", "Report observation"),
        "minutes": ("Minuter", "Minutes"),
        "note": ("Kommentar (valfri)", "Note (optional)"),
        "category": ("Vad", "What"),
        "save": ("Spara", "Save"),
        "relocate": ("Hämta position igen", "Locate again"),
        "not_your_area": ("Området finns inte i dina områden", "The area is not one of yours"),
        "not_your_area_text": (
            "Du kan bara se listor för dina egna områden. Välj ett av dem:",
            "You can only see the lists of your own areas. Choose one of them:",
        ),
    }
)

#: Words the phone list's script shows (queue, position, network), sent to it with the page.
FIELD_SCRIPT = _table(
    {
        "fetched": ("Hämtad", "Fetched"),
        "saved": ("sparad på telefonen", "kept on the phone"),
        "waiting": ("{n} inskick väntar på nätet", "{n} submissions waiting for the network"),
        "sent": ("Skickat", "Sent"),
        "rejected": ("Avvisat:", "Rejected:"),
        "start": ("Starta besök", "Start visit"),
        "end": ("Avsluta besök", "End visit"),
        "chooseOutcome": ("Välj vad som hände", "Choose what happened"),
        "noPosition": (
            "Telefonen ger ingen position; platsens position används",
            "No position; the place's is used",
        ),
        "locating": ("Hämtar position …", "Locating …"),
        "position": ("Position", "Position"),
        "placePosition": ("Ingen position; platsens position används", "No position; the place's is used"),
    }
)

#: What a field team saw or did at a place (codes: :class:`hotspots.field.visits.Outcome`).
VISIT_OUTCOMES = _table(
    {
        "nothing_observed": ("Inget observerat", "Nothing observed"),
        "dealing_observed": ("Langning observerad", "Dealing observed"),
        "dispersed": ("Personer skingrades", "People dispersed"),
        "contact_made": ("Kontakt tagen", "Contact made"),
        "other": ("Annat", "Other"),
    }
)

#: The CLI's tables (``hotspots compute``, ``status``, ``measures follow-up``).
CLI = _table(
    {
        "area": ("område", "area"),
        "reports": ("rapporter", "reports"),
        "hot_99": ("hot 99 %", "hot 99 %"),
        "hot_95": ("hot 95 %", "hot 95 %"),
        "hot_90": ("hot 90 %", "hot 90 %"),
        "patterns": ("framväxande mönster", "emerging patterns"),
        "status_title": (
            "{n} rapporter i lagret, {first} – {last}",
            "{n} reports in the store, {first} – {last}",
        ),
        "reports_all_time": ("rapporter, all tid", "reports, all time"),
        "follow_up_title": (
            "Uppföljning: {type} ({org}), {days} dagar före/efter {start}",
            "Follow-up: {type} ({org}), {days} days before/after {start}",
        ),
        "zone": ("zon", "zone"),
        "before": ("före", "before"),
        "after": ("efter", "after"),
        "target": ("målområde", "target"),
        "buffer": ("buffert {m} m", "buffer {m} m"),
        "control": ("kontroll", "control"),
        "net_effect": ("Total nettoeffekt: {n} rapporter", "Total net effect: {n} reports"),
        "incomplete": (
            "Efterperioden är inte slut än: siffrorna kan ändras.",
            "The after period has not ended yet: the figures may change.",
        ),
    }
)

# ------------------------------------------------------------------------------ measures follow-up

#: What a measure's Weighted Displacement Quotient means (code from hotspots.measures.follow_up.reading_of).
WDQ_READINGS = _by_key(
    {
        "no_reduction": (
            "ingen minskning i målområdet jämfört med kontrollområdet (WDQ tolkas inte)",
            "no reduction in the target relative to the control (WDQ not interpreted)",
        ),
        "diffusion_larger": (
            "spridning av positiva effekter, större än den direkta effekten",
            "diffusion of benefit, larger than the direct effect",
        ),
        "diffusion": (
            "spridning av positiva effekter till buffertzonen",
            "diffusion of benefit into the buffer",
        ),
        "neither": ("varken förflyttning eller spridning", "neither displacement nor diffusion"),
        "displacement_smaller": (
            "viss förflyttning, mindre än den direkta effekten (nettovinst)",
            "some displacement, smaller than the direct effect (net benefit)",
        ),
        "displacement_larger": (
            "förflyttning större än den direkta effekten (nettoförlust)",
            "displacement larger than the direct effect (net loss)",
        ),
        "no_control": (
            "inga rapporter i kontrollområdet i en av perioderna: kan inte beräknas",
            "no reports in the control in one of the periods: cannot be computed",
        ),
    }
)

# ------------------------------------------------------------------------------------ the map page

MAP = _table(
    {
        "title": ("Öppen narkotikahandel – lägesbild", "Open drug trade – situation picture"),
        "period": (
            "{days} dagar t.o.m. {end} · data per {as_of}",
            "{days} days to {end} · data as of {as_of}",
        ),
        "basemap": ("Bakgrundskarta", "Basemap"),
        "areas": ("Områden (partnerskap och RegSO)", "Areas (partnership and RegSO)"),
        "hotspots": ("Hotspots (Gi*)", "Hot spots (Gi*)"),
        "cells": ("Rapporter per hexagon", "Reports per hexagon"),
        "heat": ("Täthet (KDE)", "Density (KDE)"),
        "emerging": ("Framväxande hotspots", "Emerging hot spots"),
        "priorities": ("Prioriterade platser", "Priority places"),
        "visits_layer": ("Besök senaste 7 dagarna", "Visits, last 7 days"),
        "visited": (
            "Besökt {n} gånger senaste 7 dagarna ({minutes} min)",
            "Visited {n} times in 7 days ({minutes} min)",
        ),
        "not_visited": ("Inte besökt senaste 7 dagarna", "Not visited in the last 7 days"),
        "evidence": (
            "Listan tar slut där underlaget tar slut: en plats visas om den är en signifikant hotspot eller har "
            "fler rapporter än slumpen ger någon av områdets {cells} celler (minst {n} i en cell).",
            "The list stops where the evidence stops: a place is shown if it is a significant hot spot or has "
            "more reports than chance gives any of the {cells} cells (at least {n} in one cell).",
        ),
        "measures": ("Insatser", "Measures"),
        "window": ("Period", "Window"),
        "category": ("Kategori", "Category"),
        "source": ("Källa", "Source"),
        "all_categories": ("Alla kategorier", "All categories"),
        "all_sources": ("Alla källor", "All sources"),
        "week": ("Vecka", "Week"),
        "whole_window": ("Hela perioden", "Whole window"),
        "reports": ("Rapporter", "Reports"),
        "cells_in": ("Hexagoner", "Hexagons"),
        "hot_cells": ("Varav hotspots", "Of which hot spots"),
        "z": ("Gi* z", "Gi* z"),
        "legend_gi": ("Hotspot-analys (Gi*)", "Hot spot analysis (Gi*)"),
        "hot_99": ("Hotspot 99 % säkerhet", "Hot spot, 99 % confidence"),
        "hot_95": ("Hotspot 95 % säkerhet", "Hot spot, 95 % confidence"),
        "hot_90": ("Hotspot 90 % säkerhet", "Hot spot, 90 % confidence"),
        "cold_90": ("Kall fläck 90 % säkerhet", "Cold spot, 90 % confidence"),
        "cold_95": ("Kall fläck 95 % säkerhet", "Cold spot, 95 % confidence"),
        "cold_99": ("Kall fläck 99 % säkerhet", "Cold spot, 99 % confidence"),
        "legend_count": ("Rapporter per hexagon", "Reports per hexagon"),
        "legend_heat": ("Relativ täthet", "Relative density"),
        "other_language": ("English", "Svenska"),
        "days": ("dagar", "days"),
        "legend": ("Teckenförklaring", "Legend"),
        "filters": ("Filter", "Filters"),
        "organisation": ("Organisation", "Organisation"),
        "dates": ("Period", "Period"),
        "ongoing": ("pågår", "ongoing"),
        "follow_up": ("Uppföljning", "Follow-up"),
        "wdq": ("WDQ", "WDQ"),
        "no_follow_up": ("ingen uppföljning ännu", "no follow-up yet"),
        "week_note": (
            "Veckans Gi* (rum–tid). Hexagoner utan rapporter veckan visas inte som hotspots.",
            "The week's Gi* (space-time). Hexagons without reports that week are not shown as hot spots.",
        ),
        "window_note": ("Hela perioden, oavsett vald vecka.", "The whole window, whichever week is chosen."),
    }
)
#: The map's legend key of each Gi_Bin.
BIN_KEYS = {3: "hot_99", 2: "hot_95", 1: "hot_90", -1: "cold_90", -2: "cold_95", -3: "cold_99"}

# ------------------------------------------------------------------------------- the weekly report

#: Legend of the report's area maps, by Gi_Bin (0: cells with reports, not significant).
CHART_LEGEND = _table(
    {
        3: ("hotspot 99 %", "hot spot 99 %"),
        2: ("hotspot 95 %", "hot spot 95 %"),
        1: ("hotspot 90 %", "hot spot 90 %"),
        -1: ("kall fläck 90 %", "cold spot 90 %"),
        -2: ("kall fläck 95 %", "cold spot 95 %"),
        -3: ("kall fläck 99 %", "cold spot 99 %"),
        0: ("rapporter, ej signifikant", "reports, not significant"),
    }
)
CHART = _table(
    {
        "reports": ("rapporter per vecka", "reports per week"),
        "week": ("v.", "W"),
        "mean": ("medel 4 föreg. veckor", "mean of 4 previous weeks"),
    }
)
REPORT = _table(
    {
        "title": ("Lägesbild öppen narkotikahandel", "Situation report: open drug trade"),
        "week": ("vecka", "week"),
        "subtitle": (
            "EST Örebro – gemensam lägesbild för kommunen och polisen",
            "EST Örebro – joint situation picture of the municipality and the police",
        ),
        "period": ("Period", "Period"),
        "freshness": ("Dataläge", "Data status"),
        "last_report": ("Senaste rapport (händelsetid)", "Latest report (time of event)"),
        "last_import": ("Senaste import", "Latest import"),
        "dataset_version": ("Dataversion", "Dataset version"),
        "reports_in_store": ("Rapporter i databasen", "Reports in the store"),
        "generated": ("Genererad", "Generated"),
        "in_progress": (
            "Veckan pågår: siffrorna för veckan är inte kompletta.",
            "The week is still in progress: its figures are incomplete.",
        ),
        "late_data": (
            "Rapporter kommer ofta in med några dagars fördröjning; veckans siffror kan öka.",
            "Reports often arrive a few days late; this week's figures may still rise.",
        ),
        "overview": ("Översikt", "Overview"),
        "area": ("Område", "Area"),
        "this_week": ("Denna vecka", "This week"),
        "last_week": ("Förra veckan", "Last week"),
        "mean4": ("Medel 4 v.", "4-wk mean"),
        "change_vs_mean": ("Förändring mot medel", "Change vs mean"),
        "hot_cells": ("Hotspot-celler ≥\u00a095\u00a0%", "Hot spot cells ≥\u00a095\u00a0%"),
        "municipality": ("Hela kommunen", "Whole municipality"),
        "rest": ("Övriga kommunen", "Rest of the municipality"),
        "category": ("Kategori", "Category"),
        "total": ("Totalt", "Total"),
        "new_report": ("ny", "new"),
        "map_caption": (
            "Hotspots (Getis-Ord Gi*, FDR-korrigerat) för veckan; hexagoner i H3-upplösning {res}.",
            "Hot spots (Getis-Ord Gi*, FDR-corrected) for the week; hexagons at H3 resolution {res}.",
        ),
        "chart_caption": (
            "Rapporter per vecka, senaste {n} veckorna; rött = rapportveckan.",
            "Reports per week, last {n} weeks; red = the reported week.",
        ),
        "hotspots": (
            "Nya, intensifierande och ihållande hotspots",
            "New, intensifying and persistent hot spots",
        ),
        "hotspots_intro": (
            "Framväxande hotspot-analys (Mann-Kendall på veckovisa Gi*) över {weeks} veckor. Angränsande "
            "celler med samma mönster räknas som en plats; platsen namnges efter närmaste namngivna plats.",
            "Emerging hot spot analysis (Mann-Kendall on weekly Gi*) over {weeks} weeks. Adjacent cells with "
            "the same pattern count as one place, named after the nearest named place.",
        ),
        "no_hotspots": (
            "Inga nya, intensifierande eller ihållande hotspots.",
            "No new, intensifying or persistent hot spots.",
        ),
        "pattern": ("Mönster", "Pattern"),
        "headline": (
            "{current} rapporter denna vecka (förra veckan {previous}, medel {baseline}: {change}). "
            "{hot} hotspot-celler på minst 95\u00a0% konfidensnivå.",
            "{current} reports this week (last week {previous}, mean {baseline}: {change}). "
            "{hot} hot spot cells at 95\u00a0% confidence or more.",
        ),
        "place": ("Plats", "Place"),
        "cells": ("Celler", "Cells"),
        "reports_week": ("Rapporter veckan", "Reports this week"),
        "reports_4w": ("Rapporter 4 veckor", "Reports 4 weeks"),
        "hot_weeks": ("Hot i rad (veckor)", "Hot in a row (weeks)"),
        "coordinates": ("Koordinater", "Coordinates"),
        "more": ("… och {n} till", "… and {n} more"),
        "method": ("Metod och parametrar", "Method and parameters"),
        "baseline_note": (
            "Medel 4 v. = medelvärdet av de fyra veckorna före rapportveckan (v. {first}–{last}).",
            "4-wk mean = the mean of the four weeks before the reported week (W{first}–W{last}).",
        ),
        "area_note": (
            "Rapporter räknas till det område de registrerades i; övriga kommunen omfattar allt utanför "
            "partnerskapsområdena.",
            "Reports count in the area they were filed under; the rest of the municipality is everything "
            "outside the partnership areas.",
        ),
        "window": ("Hotspotfönster", "Hot spot window"),
        "resolution": ("H3-upplösning", "H3 resolution"),
        "neighbourhood": ("Grannskap (k-ring)", "Neighbourhood (k-ring)"),
        "permutations": ("Permutationer", "Permutations"),
        "fdr": ("Multipeltestning", "Multiple testing"),
        "fdr_value": ("Benjamini-Hochberg (FDR)", "Benjamini-Hochberg (FDR)"),
        "cube": ("Vecko-kub för framväxande hotspots", "Weekly cube for emerging hot spots"),
        "weeks_unit": ("veckor", "weeks"),
        "days_unit": ("dagar", "days"),
        "page": ("Sida", "Page"),
        "of": ("av", "of"),
        "priority_window": ("Prioriteringsfönster", "Priority window"),
        "priorities": ("Prioriterade platser", "Priority places"),
        "priorities_area": ("Prioriterade platser i området", "Priority places in the area"),
        "priorities_intro": (
            "Rangordnade efter prioritetspoäng (tidsviktade rapporter, allvarlighet, hotspot och trend) "
            "under de {days} dagarna fram till veckans slut.",
            "Ranked by priority score (time-decayed reports, severity, hot spot and trend) over the {days} "
            "days up to the end of the week.",
        ),
        "no_priorities": (
            "Inga platser med rapporter under perioden.",
            "No places with reports in the period.",
        ),
        "rank": ("Rang", "Rank"),
        "score": ("Poäng", "Score"),
        "reasons": ("Skäl", "Reasons"),
        "measures": ("Pågående insatser och uppföljning", "Ongoing measures and follow-up"),
        "measures_area": ("Insatser i området", "Measures in the area"),
        "measures_intro": (
            "Lika långa perioder före och efter insatsens start jämförs i målområdet, en buffertzon runt det "
            "och resten av kommunen (kontroll), till och med veckans sista dag. WDQ (Weighted Displacement "
            "Quotient, Bowers & Johnson 2003): över 0 = spridning av positiva effekter, under 0 = förflyttning.",
            "Equal periods before and after each measure's start are compared in the target, a buffer ring "
            "around it and the rest of the municipality (control), up to the week's last day. WDQ (Weighted "
            "Displacement Quotient, Bowers & Johnson 2003): above 0 = diffusion of benefit, below 0 = "
            "displacement.",
        ),
        "no_measures": ("Inga insatser registrerade under veckan.", "No measures recorded for the week."),
        "measure": ("Insats", "Measure"),
        "since": ("Period", "Period"),
        "target": ("Mål före → efter", "Target before → after"),
        "buffer": ("Buffert före → efter", "Buffer before → after"),
        "reading": ("Tolkning", "Reading"),
        "ongoing": ("pågår", "ongoing"),
        "visits": ("Besök per prioriterad plats", "Visits per priority place"),
        "visits_intro": (
            "Fältgruppernas loggade besök under veckan vid platserna på prioriteringslistan ovan (planerat) "
            "och vad de såg (utfört). Korta, regelbundna besök om 10–15 minuter är det som forskningen om "
            "hotspotpatrullering visar effekt av.",
            "Field teams' logged visits during the week at the places on the priority list above (planned) "
            "and what they saw (done). Short, regular visits of 10–15 minutes are what hot spot patrol "
            "research shows to work.",
        ),
        "visits_count": ("Besök", "Visits"),
        "visits_minutes": ("Minuter", "Minutes"),
        "visits_outcomes": ("Utfall", "Outcomes"),
        "visits_summary": (
            "{visited} av {planned} prioriterade platser besökta; {elsewhere} besök på andra platser.",
            "{visited} of {planned} priority places visited; {elsewhere} visits at other places.",
        ),
    }
)

# ------------------------------------------------------------------------------------- API errors

#: The API's error messages. A program reads both languages in one string (:func:`both`); a browser's
#: error page shows the Swedish half.
API_ERRORS = _by_key(
    {
        "auth_required": (
            "Inloggning krävs",
            "authentication required (X-API-Key header or session cookie)",
        ),
        "role_not_allowed": ("Rollen {role} saknar behörighet", "role {role} not allowed"),
        "unknown_area": ("Okänt område", "unknown area"),
        "invalid_request": ("Ogiltig förfrågan", "invalid request"),
        "misconfigured": ("Serverns konfiguration är felaktig", "server misconfigured"),
        "store_unavailable": ("Databasen svarar inte", "store unavailable"),
        "internal_error": ("Internt fel", "internal error"),
        "too_many_logins": ("För många inloggningar just nu", "too many logins at once, try again"),
        "body_too_large": ("Förfrågan är större än {limit} byte", "request body too large"),
        "no_measure": ("Ingen insats {id}", "no measure {id}"),
    }
)


def both(key: str, **values: object) -> str:
    """An API error message in Swedish and English, ``"sv / en"``.

    >>> both("role_not_allowed", role="field")
    'Rollen field saknar behörighet / role field not allowed'
    """
    words = API_ERRORS[key]
    return f"{words[Language.sv.value].format(**values)} / {words[Language.en.value].format(**values)}"

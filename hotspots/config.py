"""Settings in one place: read once from ``HOTSPOTS_*`` environment variables (or ``.env``), passed down.

>>> from hotspots.config import get_settings
>>> get_settings().analysis_resolution
10
"""

from __future__ import annotations

import tomllib
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hotspots.errors import ConfigError
from hotspots.words import Language

#: The shipped data folder (boundaries, places, taxonomy): the checkout's data/, installed as the package
#: hotspots.data (pyproject.toml), so an installed wheel finds it wherever it runs.
DATA_DIR = Path(str(resources.files("hotspots.data")))


class Term(NamedTuple):
    """A configured category or source: stable id, Swedish and English labels, import aliases."""

    id: str
    sv: str
    en: str
    severity: float
    aliases: tuple[str, ...]

    def label(self, lang: Language = Language.sv) -> str:
        return self.sv if lang == Language.sv else self.en


class Taxonomy(NamedTuple):
    """Categories and sources as configured in the taxonomy file."""

    categories: tuple[Term, ...]
    sources: tuple[Term, ...]

    @staticmethod
    def _lookup(terms: tuple[Term, ...]) -> dict[str, str]:
        table: dict[str, str] = {}
        for t in terms:
            for name in (t.id, t.sv, t.en, *t.aliases):
                table[name.strip().lower()] = t.id
        return table

    def category_lookup(self) -> dict[str, str]:
        """Lower-cased id, label or alias -> category id."""
        return self._lookup(self.categories)

    def source_lookup(self) -> dict[str, str]:
        """Lower-cased id, label or alias -> source id."""
        return self._lookup(self.sources)

    def category(self, cid: str) -> Term:
        return next(t for t in self.categories if t.id == cid)


def load_taxonomy(path: Path) -> Taxonomy:
    """Read categories and sources from a TOML file (see data/taxonomy.toml)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read taxonomy file {path}: {exc}") from exc

    def terms(key: str) -> tuple[Term, ...]:
        items = raw.get(key) or []
        if not items:
            raise ConfigError(f"taxonomy file {path} defines no {key}")
        return tuple(
            Term(
                id=str(i["id"]),
                sv=str(i.get("sv", i["id"])),
                en=str(i.get("en", i["id"])),
                severity=float(i.get("severity", 1.0)),
                aliases=tuple(str(a) for a in i.get("aliases", [])),
            )
            for i in items
        )

    return Taxonomy(categories=terms("categories"), sources=terms("sources"))


class Settings(BaseSettings):
    """Every tunable of the service. Environment: ``HOTSPOTS_<FIELD>`` (e.g. ``HOTSPOTS_DATABASE_URL``)."""

    model_config = SettingsConfigDict(
        env_prefix="HOTSPOTS_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    database_url: str = Field(
        "sqlite:///var/hotspots.db",
        description="SQLAlchemy URL. SQLite file (embedded default) or postgresql+psycopg://…",
    )
    stored_resolution: int = Field(12, ge=7, le=15, description="H3 resolution stored per report (finest)")
    analysis_resolution: int = Field(10, ge=5, le=13, description="H3 resolution of the statistics lattice")
    timezone: str = Field("Europe/Stockholm", description="Local time zone: ISO weeks and day boundaries")
    areas_file: Path = Field(DATA_DIR / "areas.geojson", description="Area polygons (GeoJSON, WGS84)")
    places_file: Path = Field(DATA_DIR / "places.csv", description="Named places for human-readable labels")
    taxonomy_file: Path = Field(DATA_DIR / "taxonomy.toml", description="Categories and sources")
    dst_policy: Literal["refuse", "earlier", "later"] = Field(
        "refuse", description="Import: a local time a DST change makes ambiguous or non-existent (row error)"
    )
    extent_buffer_m: float = Field(
        500.0, ge=0, description="Reports farther than this outside every area are rejected on import"
    )
    study_extent_m: float = Field(
        500.0,
        gt=0,
        description="Statistics cover the areas' cells within this distance of any report (> 0: at 0 the "
        "lattice would shrink to the reported cells and their ring, dropping reports near the edge)",
    )
    metric_crs: str = Field(
        "",
        description="CRS for distances (kernels, extents); '' = SWEREF 99 TM in Sweden, else an azimuthal "
        "equidistant projection centred on the areas",
    )
    neighbourhood_k: int = Field(1, ge=1, le=10, description="H3 k-ring of the Gi* neighbourhood")
    permutations: int = Field(999, ge=0, description="Conditional randomisation draws for pseudo p-values")
    # Priority score weights (formula in hotspots/priorities/scoring.py); chosen on the demo data. The list
    # ranks by this score until `hotspots backtest --select` chooses a ranking by evidence (hotspots.ranking).
    score_weight_neighbours: float = Field(
        4.0, ge=0, description="Priority score: weight of the neighbouring cells' mean intensity"
    )
    score_weight_significance: float = Field(
        0.0, ge=0, description="Priority score: bonus for a significant Gi* hot spot (at 99 %)"
    )
    score_weight_emerging: float = Field(
        0.0, ge=0, description="Priority score: bonus for a new, consecutive or intensifying hot spot"
    )
    score_weight_recency: float = Field(
        0.0, ge=0, description="Priority score: bonus for reports in the current week (halves per week)"
    )
    place_label_distance_m: float = Field(
        150.0, ge=0, description="A place gets a named place's label within this distance, else 'N m NO om …'"
    )
    measure_buffer_m: float = Field(
        400.0, gt=0, description="Follow-up of a measure: width of the buffer ring around its target"
    )
    suppression_threshold: int = Field(5, ge=0, description="Planner exports drop cells under this count")
    retention_months: int = Field(
        36, ge=1, description="`hotspots purge` default: reports older than this many months are deleted"
    )
    basemap_url: str = Field(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="XYZ template of the map background ('' for none); the map works without it when offline",
    )
    basemap_attribution: str = Field(
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
        description="Attribution shown for the basemap (HTML)",
    )
    max_staleness_s: float = Field(
        3.0,
        ge=0,
        description="Derived data (statistics, lists, tiles) may lag a write by about this many seconds: the "
        "analysis is recomputed in the background a third of it apart, and reads wait for a computation only "
        "past twice it; 0 = every read waits for it (tests, `hotspots compute`)",
    )
    analysis_process: bool = Field(
        True,
        description="Compute analyses in a child process of each server worker, so a computation never "
        "holds the interpreter lock its reads need; off = in the worker (tests, one-off tools)",
    )
    max_upload_bytes: int = Field(
        50_000_000, ge=1, description="Largest request body the API accepts (uploads, batches); larger -> 413"
    )
    session_max_age: int = Field(8 * 3600, ge=60, description="Seconds a browser login stays valid")
    session_cookie_secure: bool = Field(
        False, description="Send the session cookie over HTTPS only (set true behind TLS)"
    )
    # --- security (docs/security.md) ---
    secret_key: str = Field(
        "dev-insecure-change-me",
        description="Signs session cookies: at least 32 random bytes; the built-in value is refused",
    )
    secret_key_file: Path | None = Field(
        None, description="File holding the session key (`hotspots secret-key FILE` creates it, mode 0600)"
    )
    login_rate_limit: int = Field(
        5, ge=1, description="Failed logins per user name and client address before a minute's wait"
    )
    login_account_free: int = Field(
        20, ge=1, description="Failed logins per user name (any client) before each try waits 2^n s (≤ 5 min)"
    )
    login_client_limit: int = Field(
        30, ge=1, description="Failed logins per client address (any name) before a minute's wait"
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated proxy addresses whose X-Forwarded-For is believed ('' trusts none)",
    )
    password_workers: int = Field(
        2, ge=1, le=16, description="Threads that check passwords (scrypt), apart from the request threads"
    )
    measure_max_area_km2: float = Field(
        2.0, gt=0, description="Largest target area of a measure (point radius, cells or polygon)"
    )

    @model_validator(mode="after")
    def _key_from_file(self) -> Settings:
        """``secret_key_file`` wins over ``secret_key``: the key then never sits in the environment."""
        if self.secret_key_file is not None:
            try:
                self.secret_key = self.secret_key_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(f"cannot read secret_key_file {self.secret_key_file}: {exc}") from exc
        return self

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @cached_property
    def taxonomy(self) -> Taxonomy:
        return load_taxonomy(self.taxonomy_file)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, created once (tests build their own ``Settings(...)`` instead)."""
    return Settings()

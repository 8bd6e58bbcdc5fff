"""``hotspots serve``: run the HTTP API with uvicorn (loopback by default); ``hotspots secret-key``: make
the session key it needs.

    hotspots secret-key var/secret.key          # once: 48 random bytes, mode 0600 (kept if it exists)
    HOTSPOTS_SECRET_KEY_FILE=var/secret.key hotspots serve          # http://127.0.0.1:8000
    hotspots serve --host 0.0.0.0 --workers 4   # behind a TLS proxy (HOTSPOTS_TRUSTED_PROXIES)

The store is migrated once here, before the workers start, so they never race to migrate it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated

import typer

from hotspots.cli.app import app, console, fail
from hotspots.config import get_settings
from hotspots.errors import ConfigError
from hotspots.store.engine import open_store


def write_secret_key(path: Path) -> bool:
    """Create ``path`` holding a random session key, readable by its owner only; False if it exists.

    ``O_EXCL`` with mode 0600: the key is never readable by others, not even for a moment, and an
    existing key (and with it every session) is never replaced by accident."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(48) + "\n")
    return True


@app.command("secret-key")
def secret_key_command(
    path: Annotated[Path, typer.Argument(help="File to create (an existing one is kept).")],
) -> None:
    """Create a random session key file (mode 0600) for HOTSPOTS_SECRET_KEY_FILE."""
    made = write_secret_key(path)
    console.print(f"{'created' if made else 'kept existing'} session key file {path}", markup=False)


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Serve the API, the login page and the map."""
    import uvicorn

    from api.security import check_secret_key

    settings = get_settings()
    try:
        check_secret_key(settings)
    except ConfigError as exc:
        raise fail(exc) from exc
    open_store(settings).dispose()
    proxies = settings.trusted_proxies.strip()
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # X-Forwarded-For is believed only from the listed proxies: anyone else could name any address
        # and so dodge the per-client login limit and write that address into the audit log.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        server_header=False,
        log_level="info",
    )

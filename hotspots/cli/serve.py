"""``hotspots serve``: run the HTTP API with uvicorn (loopback by default).

    hotspots serve                              # http://127.0.0.1:8000
    hotspots serve --host 0.0.0.0 --workers 4   # behind a TLS proxy; set HOTSPOTS_SECRET_KEY

The store is migrated once here, before the workers start, so they never race to migrate it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from hotspots.cli.app import app, err_console
from hotspots.config import Settings, get_settings
from hotspots.store import open_store

DEFAULT_SECRET = Settings.model_fields["secret_key"].default


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Serve the API, the login page and the map."""
    import uvicorn

    settings = get_settings()
    if settings.secret_key == DEFAULT_SECRET and host not in {"127.0.0.1", "localhost", "::1"}:
        err_console.print("[red]error:[/] set HOTSPOTS_SECRET_KEY before listening beyond loopback")
        raise typer.Exit(1)
    open_store(settings).dispose()
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        server_header=False,
        log_level="info",
    )

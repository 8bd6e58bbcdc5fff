"""The app's HTML templates (``api/templates``): one Jinja environment for the login, start and error pages.

Pages link their stylesheet and icon from ``/static`` and carry no inline style or script, so they run
under the app's ``default-src 'self'`` policy as they are.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")

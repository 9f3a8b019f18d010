"""HTTP routes of the calendar capability."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []

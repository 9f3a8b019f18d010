"""Sealing at rest: the key ring, sealed settings and per-user preferences, rotation; the Zoom
grant's lifecycle built on them is :mod:`linkzoom.grant`."""

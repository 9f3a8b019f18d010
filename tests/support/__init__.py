"""Shared test helpers: databases, clocks, processes."""

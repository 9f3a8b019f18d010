"""The compose capability."""

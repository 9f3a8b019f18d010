"""Encrypted per-user preferences (the ``Zoom``/``oauth`` grant and its siblings), key ring, rotation."""

"""Encrypted per-user preferences (the ``Zoom``/``oauth`` grant and more), key ring, rotation."""

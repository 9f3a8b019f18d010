"""The controller capability."""

"""linkzoom: the server half of a mail and calendar add-in that puts Zoom meetings into messages."""

__version__ = "0.1.0"

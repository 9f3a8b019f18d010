"""The HTTP edge shared by every capability: problem rendering, body parsing, auth, middleware."""

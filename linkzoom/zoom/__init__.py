"""Zoom: the REST and OAuth client (``client``, ``oauth``, ``auth``), its values (``models``)
and pure helpers (``pkce``, ``ratelimit``, ``retry``, ``webhook_signature``), plus the use cases
built on them. Import from the submodules; this package re-exports nothing so that importing one
piece never drags in the others."""

"""Zoom: the REST and OAuth client (``client``, ``oauth``, ``auth``), its values (``models``)
and pure helpers (``pkce``, ``ratelimit``, ``retry``, ``webhook_signature``), the meetings port
with its daily-cap accounting (``meetings``, ``quota``), and the consent pages and webhook
(``routes``, ``webhooks``). The grant's lifecycle is :mod:`linkzoom.grant`. Import from the
submodules; this package re-exports nothing so that importing one piece never drags in the
others."""

"""A user's Zoom grant, from consent to revocation: one story, one module per step.

1. **Consent** (:mod:`linkzoom.grant.consent`): the add-in (or My Account) asks for an
   authorization and gets a one-time URL; the pass goes ticket → OAuth ``state`` + PKCE → Zoom's
   consent page → code exchanged at ``/oauth/zoom/callback`` → a pending grant, sealed on the
   pass, which only the party that asked can claim. The HTTP side is :mod:`linkzoom.zoom.routes`.
2. **Stored sealed** (:mod:`linkzoom.grant.store`): the claimed tokens are sealed by the vault in
   the user's ``Zoom``/``oauth`` preference; what is not secret (Zoom user and account, deadlines,
   the refresh lease) sits in the clear in ``zoom_grants``. The period after which the user must
   consent again is :mod:`linkzoom.grant.reauthorization`'s.
3. **Refreshed single-flight** (:mod:`linkzoom.grant.refresh`): Zoom rotates refresh tokens, so
   one refresh at a time per user, across coroutines (a lock) and processes (a lease on the
   ``zoom_grants`` row); :class:`~linkzoom.grant.refresh.TokenRefresher` is the
   ``TokenProvider`` behind every call the Zoom client makes for a user.
4. **Kept alive** (:meth:`linkzoom.grant.refresh.TokenRefresher.keep_alive`, run by the worker):
   a grant unused for half its refresh token's lifetime is refreshed before it lapses.
5. **Revoked** (:mod:`linkzoom.grant.service`, :mod:`linkzoom.grant.revocations`): disconnecting
   (My Account, the console, a different Zoom account claimed) erases the local tokens first and
   records the revocation Zoom still owes in the same transaction (an outbox); it is tried at
   once and retried by the worker until Zoom confirms.
6. **Deauthorized** (:mod:`linkzoom.grant.service`): Zoom's ``app_deauthorized`` webhook (the
   user removed our app at Zoom) erases the grant; nothing is left to revoke.

The tables are in :mod:`linkzoom.store.grant_tables`. The vault (:mod:`linkzoom.vault`) only seals
and opens; the Zoom client (:mod:`linkzoom.zoom`) only speaks to Zoom.
"""

"""Who may call the cloud's and the edge's APIs (CL-6, CL-14, APP-5).

- :mod:`.principal`: :class:`~omdp.auth.principal.Principal`, its
  :class:`~omdp.auth.principal.Scope` set, the :class:`~omdp.auth.principal.Authenticator`
  port and a chain of authenticators;
- :mod:`.static`: static bearer tokens of the settings, known by their SHA-256;
- :mod:`.jwt_auth`: JWT access tokens of the embedded issuer or of external OpenID Connect
  issuers;
- :mod:`.settings`: the settings of all of these.

The cloud API and the edge both build their authenticators from here; the token issuer itself
lives in :mod:`omdp.security.issuer`.
"""

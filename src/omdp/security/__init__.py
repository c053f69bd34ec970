"""Security of the platform (CM-1, AD-5, CL-6, CL-7, CL-14, APP-5).

- :mod:`.users`: users, service clients and issued tokens (SQLite, scrypt hashes);
- :mod:`.keys`: the embedded issuer's signing keys and their JWKS;
- :mod:`.issuer`: the embedded OAuth 2.0 / OpenID Connect token issuer;
- :mod:`.limits`: request-body size limit and rate limiting;
- :mod:`.pki`: a site's private CA, server and client certificates;
- :mod:`.https`: serving the API over TLS with a plain-HTTP redirect (:mod:`.settings`: its
  settings);
- :mod:`.broker`: Mosquitto password, ACL and configuration files;
- :mod:`.protect`: signed and encrypted adapter configuration files;
- :mod:`.files`: private files and folders (0600, 0700), refusing readable keys.

Who may call an API (tokens to principals) is :mod:`omdp.auth`'s; the cloud API puts the
issuer and the authenticators together in :mod:`omdp.cloud.api.security`.
"""

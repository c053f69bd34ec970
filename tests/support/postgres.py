"""A throwaway PostgreSQL cluster: own folder, own port, trust auth on 127.0.0.1.

Each test gets a fresh database in the one cluster. The implementation is shared with the
benchmarks in :mod:`omdp.testing.services`.
"""

from __future__ import annotations

from omdp.testing.services import PostgresCluster

__all__ = ["PostgresCluster"]

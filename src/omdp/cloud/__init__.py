"""The cloud (CL): ingest of ``concentrator/#``, storage, rollups, retention and erasure."""

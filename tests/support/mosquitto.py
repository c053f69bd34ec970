"""A throwaway Mosquitto broker: own port, own config, own persistence folder.

Tests can stop, kill and restart it to prove that nothing is lost across broker outages. The
implementation is shared with the benchmarks in :mod:`omdp.testing.services`.
"""

from __future__ import annotations

from omdp.testing.services import MOSQUITTO, Mosquitto

__all__ = ["MOSQUITTO", "Mosquitto"]

"""Garbled telegrams never crash the decoder: every failure is a precise WMBusDecodeError.

A receiver hears noise, collisions and truncated transmissions; the adapter must log and drop
them and go on (AD-1, "bad input gets a precise error and never crashes a service").
"""

from __future__ import annotations

import random

from omdp.decoders.wmbus import WMBusDecodeError, decode
from omdp.decoders.wmbus.drivers import drivers
from omdp.simulators.wmbus_meters import SimulatedRadio, radio_meters

T0 = 1_717_243_200.0


def _seeds() -> list[tuple[bytes, bytes | None]]:
    specs = radio_meters(["water", "heat", "gas"], origin=T0 - 3600)
    radio = SimulatedRadio(specs)
    out: list[tuple[bytes, bytes | None]] = [(radio.telegram(s, T0), s.key) for s in specs]
    out += [(bytes.fromhex(t["telegram"]), None) for d in drivers() for t in d.tests]
    return out


def test_mutated_telegrams_fail_only_with_decode_errors() -> None:
    rng = random.Random(20)
    decoded = refused = 0
    reasons: set[bool] = set()
    for base, key in _seeds():
        for _ in range(400):
            b = bytearray(base)
            op = rng.randrange(4)
            if op == 0:
                del b[rng.randrange(1, len(b)) :]
            elif op == 1:
                for _ in range(rng.randrange(1, 4)):
                    b[rng.randrange(len(b))] = rng.randrange(256)
            elif op == 2:
                b += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 20)))
                b[0] = (len(b) - 1) & 0xFF
            else:
                b.insert(rng.randrange(1, len(b)), rng.randrange(256))
            try:
                decode(bytes(b), key=key if rng.random() < 0.7 else None)
            except WMBusDecodeError as exc:
                reasons.add(bool(str(exc)))  # a reason, with the offset where there is one
                refused += 1
            else:
                decoded += 1
    assert decoded
    assert refused
    assert reasons == {True}

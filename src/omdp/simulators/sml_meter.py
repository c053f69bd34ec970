"""A simulated SML eHZ meter (German household meter, optical D0 interface).

``SmlMeter.file_at(t)`` is pure: the SML file the meter sends at unix time ``t`` with 1.8.0 and
2.8.0 (Wh, scaler -1), 16.7.0 (W, signed: negative when exporting) and per-phase powers 36.7.0,
56.7.0, 76.7.0. Serve it with :class:`~omdp.simulators.dsmr_meter.MeterStreamServer` (TCP or pty).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from omdp.decoders.obis_values import ObisValue
from omdp.decoders.sml.encoder import encode_sml
from omdp.domain.obis import ObisCode
from omdp.simulators.dsmr_meter import MeterStreamServer
from omdp.simulators.profiles import HouseholdProfile

__all__ = ["MeterStreamServer", "SmlMeter"]

_SHARES = ((36, Decimal("0.5")), (56, Decimal("0.3")), (76, Decimal("0.2")))


def _tenth(value: float) -> Decimal:
    return Decimal(value).quantize(Decimal("0.1"))


@dataclass(slots=True)
class SmlMeter:
    """An eHZ meter driven by a load profile.

    Attributes:
        profile: the household.
        server_id: the meter's server id (DIN 43863-5: 0a, 01, "EMH", serial).
        manufacturer: the 129-129:199.130.3 text.
    """

    profile: HouseholdProfile = field(default_factory=HouseholdProfile)
    server_id: str = "0a01454d480000bc614e"
    manufacturer: str = "EMH"

    def values_at(self, t: float) -> list[ObisValue]:
        """The list entries at unix time ``t``."""
        energy = self.profile.energy(t)
        power = self.profile.power(t)
        net = power.import_w - power.export_w
        values = [
            ObisValue(ObisCode.parse("129-129:199.130.3"), self.manufacturer),
            ObisValue(ObisCode.parse("1-0:0.0.9"), self.server_id),
            ObisValue(ObisCode.parse("1-0:1.8.0"), _tenth(energy.import_wh), "Wh"),
            ObisValue(ObisCode.parse("1-0:2.8.0"), _tenth(energy.export_wh), "Wh"),
            ObisValue(ObisCode.parse("1-0:16.7.0"), _tenth(net), "W"),
        ]
        values += [
            ObisValue(ObisCode(1, 0, c, 7, 0), _tenth(float(share) * net), "W")
            for c, share in _SHARES
        ]
        return values

    def file_at(self, t: float) -> bytes:
        """The SML file sent at unix time ``t`` (sensor time as a seconds index).

        Args:
            t: unix time, s; not before the profile's origin.

        Returns:
            One escaped SML transport file with valid CRCs.
        """
        sec_index = int(t - self.profile.origin)
        return encode_sml(
            self.values_at(t), server_id=self.server_id, sec_index=sec_index, transaction=sec_index
        )

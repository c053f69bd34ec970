"""A simulated DLMS/COSEM push meter (Austrian, Nordic or Swiss customer interface).

``DlmsMeter.frame_at(t)`` is pure: the push the meter sends at unix time ``t``, ciphered with the
household's key (AES-128-GCM; authenticated too when an authentication key is set), framed as the
profile's link (wired M-Bus segments or HDLC). The frame counter is the unix second, so it rises
with every push. Values follow the household's load profile: 1.8.0/2.8.0 (Wh), 1.7.0/2.7.0 (W),
per-phase voltage (V, scaler -1) and current (A, scaler -2). Where the profile declares a list
layout (values without OBIS codes), the push sends bare values in that order with the profile's
scalers, as such meters do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from omdp.adapter.sources.dlms import dlms_hints
from omdp.decoders.dlms.cosem import DlmsHints
from omdp.decoders.dlms.encoder import PushValue, hdlc_frames, mbus_segments, notification
from omdp.decoders.dlms.security import AUTHENTICATED, ENCRYPTED, DlmsKeys, encrypt
from omdp.domain.obis import ObisCode
from omdp.simulators.profiles import HouseholdProfile

_PHASES: Final = ((32, 31, 0.5), (52, 51, 0.3), (72, 71, 0.2))
DEMO_KEY: Final = "000102030405060708090A0B0C0D0E0F"


@dataclass(slots=True)
class DlmsMeter:
    """A push meter driven by a load profile.

    Attributes:
        profile: the household.
        meter_profile: a shipped DLMS profile (its link and list layout are used).
        keys: the household's keys; None sends plain pushes.
        system_title: the meter's 8-byte system title.
        meter_number: its 0-0:96.1.0 identifier.
        link: ``mbus`` or ``hdlc`` (default: the profile's, else mbus).
    """

    profile: HouseholdProfile = field(default_factory=HouseholdProfile)
    meter_profile: str = "dlms-kaifa-ma309"
    keys: DlmsKeys | None = None
    system_title: bytes = b"KFM\x10\x00\x00\x00\x01"
    meter_number: str = "1KFM0200000001"
    link: str | None = None
    _hints: DlmsHints = field(init=False)

    def __post_init__(self) -> None:
        self._hints = dlms_hints(self.meter_profile)

    def values_at(self, t: float) -> list[PushValue]:
        """The register values at unix time ``t`` (raw integers with their scalers)."""
        energy = self.profile.energy(t)
        power = self.profile.power(t)
        moment = datetime.fromtimestamp(int(t), UTC)
        values = [
            PushValue(ObisCode.parse("0-0:1.0.0"), moment),
            PushValue(ObisCode.parse("0-0:96.1.0"), self.meter_number),
            PushValue(ObisCode.parse("1-0:1.8.0"), int(energy.import_wh), 0, "Wh"),
            PushValue(ObisCode.parse("1-0:2.8.0"), int(energy.export_wh), 0, "Wh"),
            PushValue(ObisCode.parse("1-0:1.7.0"), int(power.import_w), 0, "W"),
            PushValue(ObisCode.parse("1-0:2.7.0"), int(power.export_w), 0, "W"),
        ]
        for volt_c, amp_c, share in _PHASES:
            amps = (power.import_w + power.export_w) * share / 230.0
            values.append(PushValue(ObisCode(1, 0, volt_c, 7, 0), 2301, -1, "V"))
            values.append(PushValue(ObisCode(1, 0, amp_c, 7, 0), int(amps * 100), -2, "A"))
        return values

    def _positional(self, values: list[PushValue]) -> list[PushValue] | None:
        if not self._hints.layouts:
            return None
        layout = max(self._hints.layouts, key=lambda la: len(la.items))
        by_code = {v.obis: v for v in values}
        out = []
        for code in layout.items:
            have = by_code.get(code) if code is not None else None
            scaling = self._hints.scaling_for(code) if code is not None else None
            if have is None:  # a register we do not simulate: zero, or an empty text
                filler: int | str = 0 if scaling is not None else ""
                out.append(PushValue(code or ObisCode(0, 0, 96, 13, 0), filler))
                continue
            if scaling is not None and isinstance(have.value, int) and have.scaler is not None:
                raw = round(have.value * 10 ** (have.scaler - scaling.scaler))
                have = PushValue(have.obis, raw, scaling.scaler, scaling.unit)
            out.append(PushValue(have.obis, have.value, have.scaler, have.unit))
        return out

    def apdu_at(self, t: float) -> bytes:
        """The (ciphered) APDU sent at unix time ``t``."""
        values = self.values_at(t)
        positional = self._positional(values)
        moment = datetime.fromtimestamp(int(t), UTC)
        if positional is not None and len(positional) > 2:
            plain = notification(positional, moment=moment, labelled=False)
        else:
            plain = notification(values, moment=moment)
        if self.keys is None:
            return plain
        sc = ENCRYPTED | (AUTHENTICATED if self.keys.authentication else 0)
        return encrypt(
            plain,
            self.keys,
            system_title=self.system_title,
            frame_counter=int(t) & 0xFFFFFFFF,
            security_control=sc,
        )

    def frame_at(self, t: float) -> bytes:
        """The bytes on the wire at unix time ``t``."""
        link = self.link or ("hdlc" if self.meter_profile != "dlms-kaifa-ma309" else "mbus")
        apdu = self.apdu_at(t)
        return mbus_segments(apdu) if link == "mbus" else hdlc_frames(apdu)

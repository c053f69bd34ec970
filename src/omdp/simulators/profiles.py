"""A household load profile for meter simulators: deterministic for a seed, energy consistent.

Power is piecewise constant over steps of ``step_s`` seconds: a base load, a morning and an evening
peak (Gaussian bumps in local time), multiplicative noise drawn per step from the seed, and, when
``pv_peak_w`` is set, photovoltaic production around noon. Import is the positive part of load
minus PV, export the negative part. Cumulative registers are the exact integral of that power
(plus the initial values), split by tariff (DSMR: tariff 1 = low, 23:00-07:00 and weekends), so
``energy(t2) - energy(t1)`` equals the integral of ``power`` over ``[t1, t2]``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class PowerSample:
    """Instantaneous power at one moment, W.

    Attributes:
        import_w: power drawn from the grid (>= 0).
        export_w: power fed into the grid (>= 0); one of the two is zero.
    """

    import_w: float
    export_w: float


@dataclass(frozen=True, slots=True)
class EnergySample:
    """Cumulative registers at one moment, Wh, by tariff (1 low, 2 normal)."""

    import_t1_wh: float
    import_t2_wh: float
    export_t1_wh: float
    export_t2_wh: float

    @property
    def import_wh(self) -> float:
        """Total import over both tariffs."""
        return self.import_t1_wh + self.import_t2_wh

    @property
    def export_wh(self) -> float:
        """Total export over both tariffs."""
        return self.export_t1_wh + self.export_t2_wh


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((hour - centre) / width) ** 2)


@dataclass(slots=True)
class HouseholdProfile:
    """Deterministic household load with optional PV.

    Attributes:
        seed: noise seed; same seed, same curve.
        origin: unix time at which the registers hold their initial values.
        base_w: constant load.
        morning_peak_w: extra load around 07:30 local.
        evening_peak_w: extra load around 19:00 local.
        pv_peak_w: PV production at 13:00 local; 0 means no PV.
        noise: relative noise amplitude of the load per step.
        step_s: length of a constant-power step, s.
        initial: registers at ``origin``.
        tz: local time zone of the household.
    """

    seed: int = 0
    origin: float = 1_704_067_200.0  # 2024-01-01T00:00:00Z
    base_w: float = 250.0
    morning_peak_w: float = 900.0
    evening_peak_w: float = 1800.0
    pv_peak_w: float = 0.0
    noise: float = 0.15
    step_s: float = 10.0
    initial: EnergySample = EnergySample(1000.0, 1500.0, 0.0, 0.0)
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Amsterdam"))
    _cumulative: list[tuple[float, float, float, float]] = field(
        default_factory=list, init=False, repr=False
    )

    def _local(self, t: float) -> datetime:
        return datetime.fromtimestamp(t, UTC).astimezone(self.tz)

    def _step_power(self, step: int) -> PowerSample:
        t = self.origin + step * self.step_s
        local = self._local(t)
        hour = local.hour + local.minute / 60 + local.second / 3600
        load = (
            self.base_w
            + self.morning_peak_w * _bump(hour, 7.5, 1.0)
            + self.evening_peak_w * _bump(hour, 19.0, 1.5)
        )
        rng = random.Random(self.seed * 1_000_003 + step)  # noqa: S311 - simulation, not crypto
        load *= max(0.0, 1.0 + self.noise * rng.uniform(-1.0, 1.0))
        pv = self.pv_peak_w * max(0.0, math.cos((hour - 13.0) / 6.0 * math.pi / 2)) ** 1.5
        net = load - pv
        return PowerSample(import_w=max(net, 0.0), export_w=max(-net, 0.0))

    def low_tariff(self, t: float) -> bool:
        """Whether DSMR tariff 1 (low) applies at ``t``: nights 23-07 and weekends."""
        local = self._local(t)
        return local.weekday() >= 5 or local.hour >= 23 or local.hour < 7

    def power(self, t: float) -> PowerSample:
        """Power at unix time ``t`` (constant over each step).

        Args:
            t: unix time, s; not before ``origin``.

        Returns:
            Import and export power, W.
        """
        return self._step_power(self._step(t))

    def _step(self, t: float) -> int:
        if t < self.origin:
            msg = f"time {t} is before the profile origin {self.origin}"
            raise ValueError(msg)
        return int((t - self.origin) // self.step_s)

    def _increment(self, step: int, seconds: float) -> tuple[float, float, float, float]:
        sample = self._step_power(step)
        low = self.low_tariff(self.origin + step * self.step_s)
        imp, exp = sample.import_w * seconds / 3600, sample.export_w * seconds / 3600
        return (imp, 0.0, exp, 0.0) if low else (0.0, imp, 0.0, exp)

    def energy(self, t: float) -> EnergySample:
        """Cumulative registers at unix time ``t``: initial values plus the integral of power.

        Args:
            t: unix time, s; not before ``origin``.

        Returns:
            The four registers, Wh.
        """
        step = self._step(t)
        cumulative = self._cumulative
        if not cumulative:
            cumulative.append((0.0, 0.0, 0.0, 0.0))
        while len(cumulative) <= step:
            last = cumulative[-1]
            inc = self._increment(len(cumulative) - 1, self.step_s)
            cumulative.append(tuple(a + b for a, b in zip(last, inc, strict=True)))  # type: ignore[arg-type]
        whole = cumulative[step]
        part = self._increment(step, t - self.origin - step * self.step_s)
        i1, i2, e1, e2 = (a + b for a, b in zip(whole, part, strict=True))
        start = self.initial
        return EnergySample(
            start.import_t1_wh + i1,
            start.import_t2_wh + i2,
            start.export_t1_wh + e1,
            start.export_t2_wh + e2,
        )

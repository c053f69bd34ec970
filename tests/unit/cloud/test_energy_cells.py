"""The pure parts of energy and series: spreading a gap, integrating power, decimating (APP-2)."""

from __future__ import annotations

import pytest

from omdp.cloud.storage.energy import Cell, integral_cells, register_cells, spread
from omdp.cloud.storage.series import decimate

H = 3600 * 1_000_000


def test_app2_spread_is_pro_rata_and_leaves_out_what_lies_before_the_span() -> None:
    """APP-2: 3 kWh over 1.5 hours from 00:30 fall 1 and 2 into the two hours; the part before
    the span's start is dropped."""
    cells: dict[int, list[float]] = {}
    spread(cells, t0=H // 2, t1=2 * H, amount=3.0, width_us=H, floor=0)
    assert cells == {0: [0.0, pytest.approx(1.0)], H: [0.0, pytest.approx(2.0)]}
    late: dict[int, list[float]] = {}
    spread(late, t0=H // 2, t1=2 * H, amount=3.0, width_us=H, floor=H)
    assert late == {H: [0.0, pytest.approx(2.0)]}


def test_app2_a_register_step_across_a_gap_is_estimated_a_reset_counts_from_zero() -> None:
    """APP-2: a step into the next hour is measured; one across an empty hour is spread; a
    register that falls back (exchange, rollover) counts its new value from zero."""
    cells = [
        Cell(0, 0, 10.0, H - 1, 11.0, 1.0),
        Cell(H, H, 11.5, 2 * H - 1, 12.0, 0.5),
        Cell(3 * H, 3 * H, 1.0, 4 * H - 1, 2.0, 1.0),  # after an empty hour, and reset
    ]
    out = register_cells(None, cells, width_us=H, floor=0)
    assert out[0] == [1.0, 0.0]
    assert out[H][0] == pytest.approx(1.0)  # 0.5 into the hour, 0.5 inside it
    assert out[2 * H][1] == pytest.approx(1.0, rel=1e-6)  # the reset's 1.0, spread
    assert out[3 * H] == [1.0, 0.0]
    assert sum(a + b for a, b in out.values()) == pytest.approx(4.0)


def test_app2_power_holds_until_the_next_reading_and_a_long_gap_is_unknown() -> None:
    """APP-2: 2 kW read every 15 minutes is 2 kWh an hour; across a 5-hour silence the last
    value holds for one usual interval only."""
    q = H // 4
    values = [(i * q, 2.0) for i in range(9)] + [(9 * q + 5 * H, 2.0), (10 * q + 5 * H, 2.0)]
    out = integral_cells(values, part="all", width_us=H, floor=0, ceiling=10 * H)
    assert out[0][0] == pytest.approx(2.0)
    assert out[H][0] == pytest.approx(2.0)
    assert out[2 * H][0] == pytest.approx(0.5)  # 02:00-02:15, then unknown
    assert 3 * H not in out
    negative = integral_cells(
        [(0, -3.0), (q, -3.0)], part="negative", width_us=H, floor=0, ceiling=H
    )
    assert negative[0][0] == pytest.approx(0.75)


def test_app2_decimation_keeps_the_peak_and_marks_a_gap() -> None:
    """APP-2: 1,000 values into 50 pixels keep the one spike as a max; a silence becomes a
    None between its neighbours; few values come back as they are."""
    us = 1_000_000
    values = [(i * 60 * us, 9.0 if i == 500 else 1.0) for i in range(1000) if not 700 <= i < 800]
    out = decimate(values, start=0, step=60 * 20, points=50, part="all")
    assert out.resolution == "minmax"
    assert max(v for v in out.max or [] if v is not None) == 9.0
    assert None in out.mean
    few = decimate(values[:40], start=0, step=60 * 20, points=50, part="all")
    assert few.resolution == "raw"
    assert len(few.t) == 40

"""Household tariffs, price series and meter roles in both stores (migration 5).

A tariff is one JSON document per household; a price series is one row per (household, time);
a meter's role (grid, pv, battery, submeter) is one row per meter. All three go with their
household or meter when it is erased (CL-13).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from omdp.cloud.storage.database import SqlRole, scalar
from omdp.cloud.tariffs import MeterRole, PricePoint, Tariff


class SqlTariffs(SqlRole):
    """The tariff role (:class:`~omdp.cloud.storage.port.TariffStore`) in the shared SQL."""

    def get_tariff(self, household_id: str) -> Tariff | None:
        """The household's tariff, or None when none is set."""
        with self._tx() as tx:
            body = scalar(tx, "SELECT body FROM tariffs WHERE household_id = ?", [household_id])
        return None if body is None else Tariff.model_validate_json(body)

    def put_tariff(self, household_id: str, tariff: Tariff) -> None:
        """Set (replace) the household's tariff."""
        body = tariff.model_dump_json(by_alias=True)
        now = self.dialect.ts(datetime.now(UTC))
        with self._tx() as tx:
            tx.count(
                "INSERT INTO tariffs (household_id, body, updated) VALUES (?, ?, ?)"
                " ON CONFLICT (household_id) DO UPDATE SET body = excluded.body,"
                " updated = excluded.updated",
                [household_id, body, now],
            )

    def delete_tariff(self, household_id: str) -> bool:
        """Remove the household's tariff; False when it had none."""
        with self._tx() as tx:
            return tx.count("DELETE FROM tariffs WHERE household_id = ?", [household_id]) > 0

    def put_prices(self, household_id: str, points: Sequence[PricePoint]) -> int:
        """Store a price series (sorted by time), replacing the stored prices from its first to
        its last time; returns how many points were stored."""
        if not points:
            return 0
        d = self.dialect
        with self._tx() as tx:
            tx.count(
                "DELETE FROM prices WHERE household_id = ? AND t >= ? AND t <= ?",
                [household_id, d.ts(points[0].t), d.ts(points[-1].t)],
            )
            tx.many(
                "INSERT INTO prices (household_id, t, price) VALUES (?, ?, ?)",
                [(household_id, d.ts(p.t), p.price) for p in points],
            )
        return len(points)

    def prices(
        self, household_id: str, *, start: datetime | None = None, end: datetime | None = None
    ) -> list[PricePoint]:
        """The price points in ``[start, end)``, with the one in force at ``start`` first."""
        d = self.dialect
        with self._tx() as tx:
            first: list[PricePoint] = []
            if start is not None:
                row = tx.one(
                    "SELECT t, price FROM prices WHERE household_id = ? AND t <= ?"
                    " ORDER BY t DESC LIMIT 1",
                    [household_id, d.ts(start)],
                )
                if row is not None:
                    t, price = row
                    first = [PricePoint(d.dt(t), float(price))]
            sql = "SELECT t, price FROM prices WHERE household_id = ?"
            params: list[object] = [household_id]
            if start is not None:
                sql += " AND t > ?"
                params.append(d.ts(start))
            if end is not None:
                sql += " AND t < ?"
                params.append(d.ts(end))
            rows = tx.run(sql + " ORDER BY t", params)
        return first + [PricePoint(d.dt(t), float(p)) for t, p in rows]

    def delete_prices(self, household_id: str) -> int:
        """Remove the household's whole price series; returns how many points went."""
        with self._tx() as tx:
            return tx.count("DELETE FROM prices WHERE household_id = ?", [household_id])

    def meter_roles(self, household_id: str) -> dict[str, MeterRole]:
        """The roles set for the household's meters (unset ones are absent)."""
        with self._tx() as tx:
            rows = tx.run(
                "SELECT r.meter_id, r.role FROM meter_roles r JOIN meters m"
                " ON m.meter_id = r.meter_id WHERE m.household_id = ? ORDER BY r.meter_id",
                [household_id],
            )
        return {meter: MeterRole(role) for meter, role in rows}

    def set_meter_roles(self, roles: Mapping[str, MeterRole]) -> None:
        """Set the roles of meters (the caller checked that they belong to the household)."""
        with self._tx() as tx:
            tx.many(
                "INSERT INTO meter_roles (meter_id, role) VALUES (?, ?)"
                " ON CONFLICT (meter_id) DO UPDATE SET role = excluded.role",
                [(meter, role.value) for meter, role in roles.items()],
            )

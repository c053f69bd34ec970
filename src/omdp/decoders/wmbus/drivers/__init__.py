"""Declarative drivers (placeholder until the engine lands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omdp.decoders.wmbus.telegram import Telegram


def apply_driver(tele: Telegram) -> Telegram:
    """Return the telegram with the values of the driver that matches it."""
    return tele

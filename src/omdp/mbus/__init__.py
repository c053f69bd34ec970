"""M-Bus master: reads wired M-Bus meters over a serial level converter or a TCP gateway."""

from omdp.mbus.master import MBusMaster, SecondaryAddress
from omdp.mbus.transport import (
    MBusTimeoutError,
    MBusTransportError,
    SerialTransport,
    TcpTransport,
    Transport,
)

__all__ = [
    "MBusMaster",
    "MBusTimeoutError",
    "MBusTransportError",
    "SecondaryAddress",
    "SerialTransport",
    "TcpTransport",
    "Transport",
]

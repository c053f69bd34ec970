"""IEC 62056-21 (D0 optical heads) data readouts, modes A-D: decode with BCC or CRC checked."""

from omdp.decoders.iec62056_21.decoder import bcc, decode_readout, is_readout

__all__ = ["bcc", "decode_readout", "is_readout"]

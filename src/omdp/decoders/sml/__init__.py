"""SML 1.04 (eHZ meters): decode transport files over ``smllib``, encode them for simulators."""

from omdp.decoders.sml.crc import crc16_x25
from omdp.decoders.sml.decoder import SmlStreamDecoder, decode_sml
from omdp.decoders.sml.encoder import encode_sml
from omdp.decoders.sml.units import unit_name

__all__ = ["SmlStreamDecoder", "crc16_x25", "decode_sml", "encode_sml", "unit_name"]

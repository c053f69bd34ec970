"""DSMR P1 telegrams: decode (over ``dsmr_parser``), split a byte stream, encode for simulators."""

from omdp.decoders.dsmr.crc import crc16_arc
from omdp.decoders.dsmr.decoder import decode_telegram
from omdp.decoders.dsmr.encoder import dsmr_timestamp, encode_telegram
from omdp.decoders.dsmr.specs import SPECS, detect_spec, spec_by_name
from omdp.decoders.dsmr.splitter import TelegramSplitter

__all__ = [
    "SPECS",
    "TelegramSplitter",
    "crc16_arc",
    "decode_telegram",
    "detect_spec",
    "dsmr_timestamp",
    "encode_telegram",
    "spec_by_name",
]

"""Pure protocol decoders: bytes in, frozen frames out, no I/O."""

"""The one error hierarchy of omdp.

Every error the platform raises on purpose derives from :class:`OmdpError`, so that a caller can
tell our own precise errors from bugs. Errors carry fields; ``__str__`` formats them.
"""

from __future__ import annotations


class OmdpError(Exception):
    """Root of every error omdp raises on purpose."""


class ValidationFailure(OmdpError):
    """A message or file does not satisfy the data model.

    ``problems`` holds ``(json_path, reason)`` pairs, one per problem found.
    """

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(source)

    def __str__(self) -> str:
        lines = [f"{self.source}: {len(self.problems)} problem(s)"]
        lines.extend(f"  {path}: {reason}" for path, reason in self.problems)
        return "\n".join(lines)


class DecodeError(OmdpError):
    """Bytes from a meter could not be decoded."""

    def __init__(self, reason: str, *, offset: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        super().__init__(reason)

    def __str__(self) -> str:
        if self.offset is None:
            return self.reason
        return f"at byte {self.offset}: {self.reason}"


class ChecksumError(DecodeError):
    """A frame's checksum or CRC does not match its contents."""


class TopicError(OmdpError):
    """A topic or an identifier meant for a topic is malformed."""


class ConfigError(OmdpError):
    """A configuration file or setting is unusable."""


class CatalogError(OmdpError):
    """An operational-property catalogue is malformed or names an unknown property."""


class StorageError(OmdpError):
    """The storage backend failed."""


class BrokerError(OmdpError):
    """The MQTT broker could not be reached or refused us."""


class SourceIOError(OmdpError):
    """The link to a meter (TCP bridge, serial line, receiver, broker) failed; the source
    reconnects."""

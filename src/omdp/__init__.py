"""omdp, the Open Meter Data Platform: smart-meter data from the meter to the bill."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("omdp")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]

"""labrram: characterize resistive memories, keep every measurement in SQL, predict network accuracy."""

from importlib.metadata import PackageNotFoundError, version

from labrram.errors import (
    ConfigError,
    DeviceSelectionError,
    InstrumentError,
    LabrramError,
    SafetyLimitError,
)

try:
    __version__ = version("labrram")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "ConfigError",
    "DeviceSelectionError",
    "InstrumentError",
    "LabrramError",
    "SafetyLimitError",
    "__version__",
]

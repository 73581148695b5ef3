"""The one exception hierarchy of labrram: every error a user can meet derives from LabrramError."""


class LabrramError(Exception):
    """Base of every error raised on purpose by labrram."""


class ConfigError(LabrramError):
    """A bench configuration or parameter set is invalid; the message names the offending key."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}")


class SafetyLimitError(LabrramError):
    """A requested stimulus exceeds a configured safety limit or is not a valid value; nothing applied."""

    def __init__(
        self,
        quantity: str,
        value: float,
        limit: float | None = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.quantity = quantity
        self.value = value
        self.limit = limit
        self.key = key
        problem = reason or f"exceeds the safety limit {limit:g} ({key})"
        super().__init__(f"refused: {quantity} {value:g} {problem}; nothing was applied to the device")


class InstrumentError(LabrramError):
    """An instrument reported an error, timed out or answered unexpectedly."""

    def __init__(self, instrument: str, command: str, message: str) -> None:
        self.instrument = instrument
        self.command = command
        self.message = message
        super().__init__(f"{instrument}: command {command!r} failed: {message}")


class DeviceSelectionError(LabrramError):
    """A device address lies outside the array, or no device is selected."""


class DatabaseError(LabrramError):
    """The database cannot be used as asked."""


class SchemaVersionError(DatabaseError):
    """The database's schema is not the one this labrram version writes; upgrade it first."""


class RecordConflictError(DatabaseError):
    """A write broke a uniqueness or reference rule of the database; nothing of it was kept."""


class ParameterError(LabrramError, ValueError):
    """A procedure parameter is invalid; the message names the parameter."""

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        self.problem = problem
        super().__init__(f"parameter {name}: {problem}")


class AnalysisError(LabrramError):
    """Data cannot be fitted as asked (none selected, NaN reads, too few records); says what to change."""


class ModelFileError(LabrramError):
    """A device-model or jump-table file cannot be read: not one, corrupt, or from a newer labrram."""


class ImportFormatError(LabrramError):
    """A file to import does not have the layout its format promises; the message names file and column."""

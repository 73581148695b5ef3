"""Bench configuration: one TOML file per bench, validated on load; each error names its key.

Layout::

    [bench]
    name = "sim-bench"
    seed = 7                          # seeds the simulated chip
    read_duration_s = 10e-6
    read_current_range_a = 1e-3       # optional: a fixed current range for reads (else autorange)
    database_url = "sqlite:///labrram.db"   # optional

    [sample]
    chip = "chip-01"
    preset = "tio2-passive-8x8"       # see labrram.physics.PRESETS
    temperature_c = 25.0

    fitted = ["steps.toml", "relaxation.toml"]   # optional: `labrram fit` files (beside this file)

    [sample.overrides]                # any DeviceParameters field (over the fitted ones)
    read_noise_rel = 0.002

    [[sample.arrays]]                 # optional; defaults to one array "A1" of the preset's size
    name = "A1"
    rows = 8
    cols = 8
    bias_scheme = "V/3"               # V/2, V/3 or grounded
    read_scheme = "grounded"

    [safety]
    max_positive_v = 2.5
    max_negative_v = 2.5
    max_read_v = 0.5
    max_width_s = 1e-3
    max_compliance_a = 1e-2

    [instruments]                     # optional: the instruments of a matrix bench (else: direct)
    visa_library = "@sim"             # "@sim", "@py" or "" (the system VISA)
    matrix = { driver = "keithley707b", resource = "GPIB0::16::INSTR" }
    smu1 = { driver = "keithley2600b", resource = "GPIB0::26::INSTR" }
    smu2 = { driver = "keithley2600b", resource = "GPIB0::27::INSTR" }   # or tsp_link_node = 2
    # or, instead of smu1 and smu2, seed 002's pulse bench: a 4200A-SCS whose PMU channels 1-4 play the
    # four roles below from matrix rows A-D (pulses from 40 ns, no current compliance)
    # pulser = { driver = "keithley4200a", resource = "TCPIP0::192.0.2.1::1225::SOCKET" }

    [wiring]                          # optional: the cabling (default: the roles below, lines in order)
    selected_row = { smu = "smu1.a", matrix_row = "A" }
    selected_col = { smu = "smu1.b", matrix_row = "B" }
    unselected_rows = { smu = "smu2.a", matrix_row = "C" }   # leave out a role: those lines float
    unselected_cols = { smu = "smu2.b", matrix_row = "D" }

    [wiring.lines.A1]                 # the matrix column of word line 0, 1, ... and of bit line 0, 1, ...
    rows = ["1-01", "1-02", "1-03", "1-04", "1-05", "1-06", "1-07", "1-08"]
    cols = ["1-09", "1-10", "1-11", "1-12", "2-01", "2-02", "2-03", "2-04"]
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labrram.bench.base import ArrayGeometry
from labrram.bench.matrix import (
    DEFAULT_ROLES,
    MATRIX_COLUMN,
    MATRIX_ROWS,
    ROLES,
    SMU_CHANNEL,
    LineWiring,
    MatrixWiring,
    RoleWiring,
    consecutive_columns,
)
from labrram.bench.safety import SafetyLimits
from labrram.errors import ConfigError
from labrram.physics.parameters import BiasScheme, DeviceParameters
from labrram.physics.presets import ChipPreset, get_preset


@dataclass(frozen=True)
class SampleConfig:
    """The chip on the bench: its technology (preset + overrides), arrays and temperature."""

    chip: str
    preset: ChipPreset
    parameters: DeviceParameters
    arrays: tuple[ArrayGeometry, ...]
    temperature_c: float = 25.0

    @property
    def technology(self) -> str:
        """The technology the database files the chip under: the preset's name."""
        return self.preset.name


@dataclass(frozen=True)
class InstrumentsConfig:
    """The bench's instruments: VISA resource of the matrix and of both SMUs, and the VISA library.

    ``visa_library`` "@sim" serves the resources from simulated instruments in this process, "@py" is
    pyvisa-py (e.g. for ``labrram sim-server`` sockets), "" the system's VISA. Going from simulated to
    real instruments changes these strings only. ``clock`` "instrument" keeps time with the first SMU's
    timer and waits with its ``delay`` (simulated instruments: their clock is the chip's); "host" uses
    this computer's clock (real benches). ``smu2_tsp_link_node`` set: the second SMU has no connection of
    its own but is that node on the first SMU's TSP-Link, commanded through it (a pulse and the bias of
    the lines around it then go in one message).
    """

    resources: dict[str, str]
    visa_library: str = "@sim"
    clock: str = "host"
    smu2_tsp_link_node: int | None = None
    extra: dict[str, ExtraInstrument] = field(default_factory=dict)


@dataclass(frozen=True)
class ExtraInstrument:
    """An instrument beside the bench's own ([instruments.extra.NAME]): a Keysight B1500A or B2900 whose
    SMU channels are cabled to matrix rows, so the 707B reaches array lines with them too. The bench's
    procedures do not use it; `labrram sim-server` serves it, for a client of the user's choice."""

    driver: str
    resource: str
    channels: dict[int, str]  # SMU channel (slot) -> matrix row A-H


@dataclass(frozen=True)
class BenchConfig:
    """Everything needed to build a bench and record its runs."""

    name: str
    seed: int | None
    read_duration_s: float
    sample: SampleConfig
    safety: SafetyLimits = field(default_factory=SafetyLimits)
    database_url: str | None = None
    instruments: InstrumentsConfig | None = None
    wiring: MatrixWiring | None = None  # None: the default cabling (labrram.bench.factory.matrix_wiring)
    read_current_range_a: float | None = None  # a fixed current range for reads; None: autorange


INSTRUMENT_DRIVERS = {
    "matrix": "keithley707b",
    "smu1": "keithley2600b",
    "smu2": "keithley2600b",
    "pulser": "keithley4200a",  # instead of the SMUs: a 4200A-SCS's PMU channels on matrix rows A-D
}
EXTRA_DRIVERS = {"keysight_b1500a": range(1, 11), "keysight_b2900": range(1, 3)}  # and their channels
_TOP_KEYS = {"bench", "sample", "safety", "instruments", "wiring"}
_BENCH_KEYS = {"name", "seed", "read_duration_s", "read_current_range_a", "database_url"}
_SAMPLE_KEYS = {"chip", "preset", "temperature_c", "overrides", "arrays", "fitted"}
_ARRAY_KEYS = {"name", "rows", "cols", "bias_scheme", "read_scheme"}


def load_config(path: str | Path) -> BenchConfig:
    """Read and validate a bench TOML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(str(path), f"cannot read the bench file: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            str(path), f"is not UTF-8 text (byte {error.start}): save the bench file as UTF-8"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(path), f"is not valid TOML: {error}") from None
    return parse_config(data, path.parent)


def parse_config(data: Mapping[str, Any], folder: Path | None = None) -> BenchConfig:
    """Validate a parsed bench TOML document; ``folder`` is where relative file names in it start."""
    _reject_unknown(data, _TOP_KEYS, "")
    bench = _table(data, "bench")
    _reject_unknown(bench, _BENCH_KEYS, "bench.")
    sample = _table(data, "sample")
    _reject_unknown(sample, _SAMPLE_KEYS, "sample.")
    safety = _table(data, "safety", required=False)
    _reject_unknown(safety, set(SafetyLimits.__dataclass_fields__), "safety.")
    limits = SafetyLimits(**safety)
    seed = bench.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        raise ConfigError("bench.seed", f"must be a non-negative integer, got {seed!r}")
    database_url = bench.get("database_url")
    if database_url is not None and not isinstance(database_url, str):
        raise ConfigError("bench.database_url", f"must be a string, got {database_url!r}")
    parsed_sample = _sample(sample, folder or Path.cwd())
    instruments = _instruments(data["instruments"]) if "instruments" in data else None
    wiring = _table(data, "wiring", required=False)
    if instruments is not None and "pulser" in instruments.resources and set(wiring) - {"lines"}:
        raise ConfigError("wiring", "with a pulser, PMU channels 1-4 play the roles from matrix rows A-D")
    return BenchConfig(
        name=_string(bench, "name", "bench."),
        seed=seed,
        read_duration_s=_positive(bench, "read_duration_s", "bench.", default=10e-6),
        sample=parsed_sample,
        safety=limits,
        database_url=database_url,
        instruments=instruments,
        wiring=_wiring(wiring, parsed_sample.arrays),
        read_current_range_a=(
            _positive(bench, "read_current_range_a", "bench.", 1.0)
            if "read_current_range_a" in bench
            else None
        ),
    )


def _wiring(table: Mapping[str, Any], arrays: tuple[ArrayGeometry, ...]) -> MatrixWiring | None:
    """The [wiring] table: each role's SMU channel and matrix row, and the matrix column of each line.

    Without the table: None, the default cabling (worked out when a matrix bench is built).
    """
    if not table:
        return None
    _reject_unknown(table, {*ROLES, "lines"}, "wiring.")
    roles = _role_wiring(table) if any(role in table for role in ROLES) else dict(DEFAULT_ROLES)
    lines = _line_wiring(_table(table, "lines"), arrays) if "lines" in table else default_lines(arrays)
    return MatrixWiring(roles, lines)


def default_lines(arrays: tuple[ArrayGeometry, ...]) -> dict[str, LineWiring]:
    """Every array's word lines, then bit lines, on consecutive matrix columns."""
    try:
        return consecutive_columns([(array.name, array.rows, array.cols) for array in arrays])
    except ValueError as error:
        raise ConfigError("sample.arrays", str(error)) from None


def _role_wiring(table: Mapping[str, Any]) -> dict[str, RoleWiring]:
    roles: dict[str, RoleWiring] = {}
    for role in ROLES:
        if role not in table:
            if role.startswith("selected"):
                raise ConfigError(f"wiring.{role}", 'is missing (smu = "smu1.a", matrix_row = "A")')
            continue
        entry, prefix = table[role], f"wiring.{role}."
        if not isinstance(entry, Mapping):
            raise ConfigError(f"wiring.{role}", 'must be a table (smu = "smu1.a", matrix_row = "A")')
        _reject_unknown(entry, {"smu", "matrix_row"}, prefix)
        smu = SMU_CHANNEL.match(_string(entry, "smu", prefix))
        if smu is None:
            raise ConfigError(
                prefix + "smu", f"must be smu1.a, smu1.b, smu2.a or smu2.b, got {entry['smu']!r}"
            )
        matrix_row = _string(entry, "matrix_row", prefix)
        if len(matrix_row) != 1 or matrix_row not in MATRIX_ROWS:
            raise ConfigError(prefix + "matrix_row", f"must be one of A-H, got {matrix_row!r}")
        for other, wiring in roles.items():
            if (wiring.instrument, wiring.channel) == smu.groups():
                raise ConfigError(prefix + "smu", f"{entry['smu']} already plays {other}")
            if wiring.matrix_row == matrix_row:
                raise ConfigError(prefix + "matrix_row", f"row {matrix_row} already carries {other}")
        roles[role] = RoleWiring(smu.group(1), smu.group(2), matrix_row)
    return roles


def _line_wiring(table: Mapping[str, Any], arrays: tuple[ArrayGeometry, ...]) -> dict[str, LineWiring]:
    _reject_unknown(table, {array.name for array in arrays}, "wiring.lines.")
    lines: dict[str, LineWiring] = {}
    used: dict[str, str] = {}
    for array in arrays:
        entry = table.get(array.name)
        if not isinstance(entry, Mapping):
            raise ConfigError(
                f"wiring.lines.{array.name}", "is missing: every array needs rows = [...], cols = [...]"
            )
        _reject_unknown(entry, {"rows", "cols"}, f"wiring.lines.{array.name}.")
        columns = {}
        for axis, count in (("rows", array.rows), ("cols", array.cols)):
            key = f"wiring.lines.{array.name}.{axis}"
            names = entry.get(axis)
            if not isinstance(names, list) or len(names) != count:
                raise ConfigError(key, f"must list {count} matrix columns, one per line in order")
            for index, name in enumerate(names):
                if not isinstance(name, str) or not MATRIX_COLUMN.match(name):
                    raise ConfigError(
                        key, f"{name!r} is not a matrix column (slot 1-6 - column 01-12, e.g. 1-07)"
                    )
                if name in used:
                    raise ConfigError(key, f"column {name} is already wired to {used[name]}")
                used[name] = f"{array.name} {axis[:-1]} {index}"
            columns[axis] = tuple(names)
        lines[array.name] = LineWiring(columns["rows"], columns["cols"])
    return lines


def _instruments(table: Any) -> InstrumentsConfig:
    """The [instruments] table: visa_library and one {driver, resource} table per instrument."""
    if not isinstance(table, Mapping):
        raise ConfigError("instruments", "must be a table")
    _reject_unknown(table, {*INSTRUMENT_DRIVERS, "visa_library", "clock", "extra"}, "instruments.")
    clock = table.get("clock", "instrument" if table.get("visa_library", "@sim") == "@sim" else "host")
    if clock not in ("host", "instrument"):
        raise ConfigError("instruments.clock", f"must be 'host' or 'instrument', got {clock!r}")
    library = table.get("visa_library", "@sim")
    if not isinstance(library, str):
        raise ConfigError("instruments.visa_library", f"must be a string, got {library!r}")
    resources = {}
    node = None
    pulser = "pulser" in table
    if pulser and ("smu1" in table or "smu2" in table):
        raise ConfigError(
            "instruments.pulser", "drives the lines instead of smu1 and smu2: give one or the other"
        )
    for name, driver in INSTRUMENT_DRIVERS.items():
        if (name == "pulser") != pulser and name != "matrix":
            continue
        entry = table.get(name)
        if not isinstance(entry, Mapping):
            raise ConfigError(
                f"instruments.{name}", f'table is missing (driver = "{driver}", resource = ...)'
            )
        linkable = name == "smu2"
        _reject_unknown(
            entry,
            {"driver", "resource", "tsp_link_node"} if linkable else {"driver", "resource"},
            f"instruments.{name}.",
        )
        if entry.get("driver") != driver:
            raise ConfigError(
                f"instruments.{name}.driver", f"must be {driver!r}, got {entry.get('driver')!r}"
            )
        if linkable and "tsp_link_node" in entry:
            node = entry["tsp_link_node"]
            if not isinstance(node, int) or isinstance(node, bool) or not 2 <= node <= 32:
                raise ConfigError(
                    "instruments.smu2.tsp_link_node", f"must be a TSP-Link node number 2-32, got {node!r}"
                )
            if "resource" in entry:
                raise ConfigError(
                    "instruments.smu2.resource", "give either a resource or tsp_link_node (reached via smu1)"
                )
            continue
        resources[name] = _string(entry, "resource", f"instruments.{name}.")
    return InstrumentsConfig(resources, library, clock, node, _extra_instruments(table.get("extra", {})))


def _extra_instruments(table: Any) -> dict[str, ExtraInstrument]:
    """[instruments.extra.NAME] tables: driver, resource and channels = { "1" = "E", ... }."""
    if not isinstance(table, Mapping):
        raise ConfigError("instruments.extra", "must be a table of instruments")
    extra, rows_used = {}, {}
    for name, entry in table.items():
        prefix = f"instruments.extra.{name}."
        if name in INSTRUMENT_DRIVERS or not isinstance(entry, Mapping):
            raise ConfigError(f"instruments.extra.{name}", "must be a table with a name of its own")
        _reject_unknown(entry, {"driver", "resource", "channels"}, prefix)
        driver = _string(entry, "driver", prefix)
        if driver not in EXTRA_DRIVERS:
            raise ConfigError(prefix + "driver", f"must be one of {', '.join(EXTRA_DRIVERS)}, got {driver!r}")
        channels = entry.get("channels", {})
        if not isinstance(channels, Mapping) or not channels:
            raise ConfigError(prefix + "channels", 'must map SMU channels to matrix rows, e.g. { "1" = "E" }')
        wired = {}
        for channel, row in channels.items():
            number = int(channel) if str(channel).isdigit() else None
            if number not in EXTRA_DRIVERS[driver]:
                raise ConfigError(prefix + f"channels.{channel}", f"{driver} has no channel {channel!r}")
            if not isinstance(row, str) or row not in "ABCDEFGH" or len(row) != 1:
                raise ConfigError(prefix + f"channels.{channel}", f"must be a matrix row A-H, got {row!r}")
            if row in rows_used:
                raise ConfigError(
                    prefix + f"channels.{channel}", f"matrix row {row} is already {rows_used[row]}'s"
                )
            rows_used[row] = name
            wired[number] = row
        extra[name] = ExtraInstrument(driver, _string(entry, "resource", prefix), wired)
    return extra


def _sample(sample: Mapping[str, Any], folder: Path) -> SampleConfig:
    preset_name = _string(sample, "preset", "sample.")
    preset = get_preset(preset_name)
    overrides = sample.get("overrides", {})
    if not isinstance(overrides, Mapping):
        raise ConfigError("sample.overrides", "must be a table of parameter = value")
    parameters = preset.parameters
    for path in _fitted_files(sample.get("fitted", [])):
        fitted = _fitted_overrides(folder / path, preset)
        parameters = parameters.with_overrides(fitted, key_prefix="sample.fitted.")
    parameters = parameters.with_overrides(overrides, key_prefix="sample.overrides.")
    temperature_c = sample.get("temperature_c", 25.0)
    if not _is_number(temperature_c) or temperature_c <= -273.15:
        raise ConfigError("sample.temperature_c", f"must be a temperature in C, got {temperature_c!r}")
    raw_arrays = sample.get("arrays", [{}])
    if not isinstance(raw_arrays, list) or not raw_arrays:
        raise ConfigError("sample.arrays", "must be a non-empty array of tables ([[sample.arrays]])")
    arrays = tuple(_array(raw, preset, i) for i, raw in enumerate(raw_arrays))
    names = [array.name for array in arrays]
    if len(set(names)) != len(names):
        raise ConfigError("sample.arrays", f"array names must be unique, got {names}")
    return SampleConfig(
        chip=_string(sample, "chip", "sample."),
        preset=preset,
        parameters=parameters,
        arrays=arrays,
        temperature_c=float(temperature_c),
    )


def _fitted_files(value: Any) -> list[str]:
    """``fitted``: one file name or a list of them (each fit part writes its own; later ones win)."""
    files = [value] if isinstance(value, str) else value
    if not isinstance(files, list) or not all(isinstance(f, str) and f for f in files):
        raise ConfigError("sample.fitted", f"must be a file name or a list of file names, got {value!r}")
    return files


def _fitted_overrides(path: Path, preset: ChipPreset) -> Mapping[str, Any]:
    """The ``[sample.overrides]`` of a `labrram fit` file, which must have fitted this preset's version."""
    try:
        fitted = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError("sample.fitted", f"cannot read {path}: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError("sample.fitted", f"{path} is not valid TOML: {error}") from None
    table = fitted.get("sample", {})
    name = table.get("preset")
    if not isinstance(name, str) or not isinstance(table.get("overrides"), Mapping):
        raise ConfigError("sample.fitted", f"{path} has no [sample] preset and [sample.overrides]")
    if get_preset(name) is not preset:
        raise ConfigError(
            "sample.fitted", f"{path} was fitted to preset {name!r}, not to {preset.pinned_name!r}"
        )
    return table["overrides"]


def _array(raw: Any, preset: ChipPreset, position: int) -> ArrayGeometry:
    prefix = f"sample.arrays[{position}]."
    if not isinstance(raw, Mapping):
        raise ConfigError(prefix.rstrip("."), "must be a table")
    _reject_unknown(raw, _ARRAY_KEYS, prefix)
    dims = {}
    for key, default in (("rows", preset.rows), ("cols", preset.cols)):
        value = raw.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 4096:
            raise ConfigError(prefix + key, f"must be an integer from 1 to 4096, got {value!r}")
        dims[key] = value
    schemes = {}
    for key, default in (("bias_scheme", preset.bias_scheme), ("read_scheme", "grounded")):
        value = raw.get(key, default)
        try:
            schemes[key] = BiasScheme(value)
        except ValueError:
            allowed = ", ".join(s.value for s in BiasScheme)
            raise ConfigError(prefix + key, f"must be one of {allowed}, got {value!r}") from None
    return ArrayGeometry(
        name=str(raw.get("name", f"A{position + 1}")),
        rows=dims["rows"],
        cols=dims["cols"],
        kind=preset.kind,
        bias_scheme=schemes["bias_scheme"],
        read_scheme=schemes["read_scheme"],
    )


def _table(data: Mapping[str, Any], key: str, required: bool = True) -> Mapping[str, Any]:
    if key not in data:
        if required:
            raise ConfigError(key, "table is missing")
        return {}
    value = data[key]
    if not isinstance(value, Mapping):
        raise ConfigError(key, "must be a table")
    return value


def _reject_unknown(table: Mapping[str, Any], known: set[str], prefix: str) -> None:
    for key in table:
        if key not in known:
            allowed = ", ".join(sorted(known))
            raise ConfigError(f"{prefix}{key}", f"is not a known key (expected one of: {allowed})")


def _string(table: Mapping[str, Any], key: str, prefix: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(prefix + key, f"must be a non-empty string, got {value!r}")
    return value


def _is_number(value: Any) -> bool:
    """A finite int or float (not a bool, not an int too large for a float)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _positive(table: Mapping[str, Any], key: str, prefix: str, default: float) -> float:
    value = table.get(key, default)
    if not _is_number(value) or value <= 0:
        raise ConfigError(prefix + key, f"must be a positive number, got {value!r}")
    return float(value)

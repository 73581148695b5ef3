"""The Bench: the one interface procedures speak to a chip, whatever drives it.

Subclasses supply the hardware side (`_route`, `_apply_pulse`, `_measure`, `_wait`, `now`,
`_safe_state`; `_apply_pulses` and `_measure_devices` where independent devices can be driven in
parallel); this class owns device selection, the safety checks made before anything is applied,
and the return to a safe state (outputs at 0 V and off, matrix open) on any exception or Ctrl-C.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, NamedTuple, TypeVar

import numpy as np

from labrram.bench.safety import SMU_MATRIX_RATINGS, SafetyLimits
from labrram.errors import DeviceSelectionError, LabrramError, SafetyLimitError
from labrram.physics.parameters import ArrayKind, BiasScheme

if TYPE_CHECKING:
    from labrram.physics.tuning_loop import TuningRules, TuningTrace

T = TypeVar("T")
R = TypeVar("R")


class DeviceAddress(NamedTuple):
    """One device: array name, row (word line) and column (bit line), counted from 0.

    A named tuple, so that it hashes at C speed: records are keyed by device millions of times.
    """

    array: str
    row: int
    col: int

    def __str__(self) -> str:
        return f"{self.array} row {self.row} col {self.col}"


@dataclass(frozen=True, eq=False)
class DeviceBlock:
    """Several devices of one array as index arrays, for operations on all of them at once."""

    array: str
    rows: np.ndarray
    cols: np.ndarray

    @classmethod
    def of(cls, devices: Sequence[DeviceAddress]) -> DeviceBlock:
        """The block of devices that all lie on one array."""
        arrays = {device.array for device in devices}
        if len(arrays) != 1:
            raise ValueError(f"a device block lies on one array, not {sorted(arrays)}")
        rows = np.array([device.row for device in devices], dtype=np.intp)
        cols = np.array([device.col for device in devices], dtype=np.intp)
        return cls(arrays.pop(), rows, cols)

    def __len__(self) -> int:
        return self.rows.size

    def subset(self, which: np.ndarray) -> DeviceBlock:
        """The devices at positions ``which`` of this block."""
        return DeviceBlock(self.array, self.rows[which], self.cols[which])

    def address(self, position: int) -> DeviceAddress:
        return DeviceAddress(self.array, int(self.rows[position]), int(self.cols[position]))


@dataclass(frozen=True)
class ArrayGeometry:
    """An array as the bench sees it: size, access kind, and how unselected lines are biased."""

    name: str
    rows: int
    cols: int
    kind: ArrayKind
    bias_scheme: BiasScheme = BiasScheme.V_THIRD
    read_scheme: BiasScheme = BiasScheme.GROUNDED


@dataclass(frozen=True)
class PulseResult:
    """One applied pulse: start time, stimulus, and the current measured through the device."""

    device: DeviceAddress
    t_s: float
    amplitude_v: float
    width_s: float
    compliance_a: float | None
    current_a: float


@dataclass(frozen=True)
class ReadResult:
    """One read: time, read voltage, measured current and the conductance current / voltage."""

    device: DeviceAddress
    t_s: float
    voltage_v: float
    current_a: float
    conductance_s: float


class Bench(ABC):
    """Select a device, pulse it, read it, wait; refuse unsafe stimuli; end in a safe state."""

    min_pulse_width_s = 0.0  # the shortest pulse the bench's pulse source can make
    limits_current = True  # whether its pulse source has a current compliance (a pulse generator has none)
    ratings = SMU_MATRIX_RATINGS  # what its instruments can do: the limits may not exceed it

    def __init__(
        self,
        arrays: Mapping[str, ArrayGeometry],
        limits: SafetyLimits,
        read_duration_s: float = 10e-6,
        default_compliance_a: float | None = None,
        read_current_range_a: float | None = None,
    ) -> None:
        if not arrays:
            raise ValueError("a bench needs at least one array")
        if read_current_range_a is not None and not read_current_range_a > 0:
            raise ValueError(f"read_current_range_a must be positive, got {read_current_range_a}")
        self.arrays = dict(arrays)
        limits.check_against(self.ratings)
        self._limits = limits
        self.read_duration_s = read_duration_s
        self.default_compliance_a = default_compliance_a
        # A fixed current range for reads (faster on a real SMU than autorange); None: autorange.
        # A read beyond it fails as over range instead of returning a number.
        self.read_current_range_a = read_current_range_a
        self._selected: DeviceAddress | None = None

    @property
    def limits(self) -> SafetyLimits:
        """The safety limits, fixed when the bench was built."""
        return self._limits

    # -- selection -------------------------------------------------------------------------
    @property
    def selected(self) -> DeviceAddress:
        """The device pulses and reads go to."""
        if self._selected is None:
            raise DeviceSelectionError("no device selected: call bench.select(row, col) first")
        return self._selected

    def select(self, row: int, col: int, array: str | None = None) -> DeviceAddress:
        """Route the instruments to one device; ``array`` defaults to the bench's first array."""
        name = array if array is not None else next(iter(self.arrays))
        address = DeviceAddress(name, int(row), int(col))
        self._check_address(address)
        self._guarded(self._route, address)
        self._selected = address
        return address

    def _check_block(self, devices: DeviceBlock) -> None:
        """Raise DeviceSelectionError unless every device of the block is on the bench."""
        if len(devices):
            rows, cols = devices.rows, devices.cols
            corner = (int(rows.min()), int(cols.min()))
            far = (int(rows.max()), int(cols.max()))
            for row, col in (corner, far):
                self._check_address(DeviceAddress(devices.array, row, col))

    def _check_address(self, device: DeviceAddress) -> None:
        """Raise DeviceSelectionError unless the device is on one of the bench's arrays."""
        if device.array not in self.arrays:
            known = ", ".join(self.arrays)
            raise DeviceSelectionError(f"no array named {device.array!r} on this bench (arrays: {known})")
        geometry = self.arrays[device.array]
        if not (0 <= device.row < geometry.rows and 0 <= device.col < geometry.cols):
            raise DeviceSelectionError(
                f"device ({device.row}, {device.col}) lies outside array {device.array!r} of "
                f"{geometry.rows}x{geometry.cols} (rows and columns count from 0)"
            )

    # -- stimuli ---------------------------------------------------------------------------
    def pulse(self, amplitude_v: float, width_s: float, compliance_a: float | None = None) -> PulseResult:
        """Apply one rectangular voltage pulse to the selected device (positive = SET)."""
        if compliance_a is None:
            compliance_a = self._pulse_limit_a()
        self.limits.check_pulse(amplitude_v, width_s, compliance_a)
        device = self.selected
        t_s, current_a = self._guarded(self._apply_pulse, device, amplitude_v, width_s, compliance_a)
        return PulseResult(device, t_s, amplitude_v, width_s, compliance_a, current_a)

    def _pulse_limit_a(self) -> float | None:
        """The current limit of a pulse that names none. Every pulse sets its own, never the last
        pulse's: the bench's default compliance, else the safety maximum (an SMU always limits; unset,
        it would keep its own 0.1 A); None for a pulse source without a compliance."""
        if not self.limits_current:
            return None
        return self.default_compliance_a or self.limits.max_compliance_a

    def pulse_devices(
        self, devices: DeviceBlock, amplitudes_v: np.ndarray, width_s: float
    ) -> tuple[float, np.ndarray, float | None]:
        """One pulse on each of several independent devices at once, each at its own amplitude, on a
        bench that can drive them in parallel; when it began, each device's current and the compliance.

        Every amplitude is checked against the limits first; a bench that pulses one device at a time
        (or whose devices disturb each other) refuses.
        """
        amplitudes = np.asarray(amplitudes_v, dtype=float)
        if amplitudes.shape != (len(devices),):
            raise ValueError(f"{len(devices)} devices but {amplitudes.size} amplitudes")
        compliance_a = self._pulse_limit_a()
        for amplitude_v in (amplitudes.max(initial=0.0), amplitudes.min(initial=0.0)):
            self.limits.check_pulse(float(amplitude_v), width_s, compliance_a)
        self._check_block(devices)
        t_s, currents_a = self._guarded(self._apply_pulses, devices, amplitudes, width_s, compliance_a)
        return t_s, currents_a, compliance_a

    def read_devices(self, devices: DeviceBlock, voltage_v: float = 0.2) -> tuple[float, np.ndarray]:
        """Read several independent devices at once (a sense line each); when, and each current (A)."""
        self.limits.check_read(voltage_v)
        self._check_block(devices)
        return self._guarded(self._measure_devices, devices, voltage_v)

    def _apply_pulses(
        self, devices: DeviceBlock, amplitudes_v: np.ndarray, width_s: float, compliance_a: float | None
    ) -> tuple[float, np.ndarray]:
        raise LabrramError(f"{type(self).__name__} pulses one device at a time: use select and pulse")

    def _measure_devices(self, devices: DeviceBlock, voltage_v: float) -> tuple[float, np.ndarray]:
        raise LabrramError(f"{type(self).__name__} reads one device at a time: use select and read")

    def read(self, voltage_v: float = 0.2) -> ReadResult:
        """Measure the selected device's current at a read voltage; conductance = I / V."""
        self.limits.check_read(voltage_v)
        device = self.selected
        t_s, current_a = self._guarded(self._measure, device, voltage_v)
        return ReadResult(device, t_s, voltage_v, current_a, current_a / voltage_v)

    def run_tuning_loop(
        self, target_s: float, rules: TuningRules, band_s: tuple[float, float]
    ) -> TuningTrace | None:
        """Tune the selected device with the whole read-decide-pulse loop run on the bench's side, where
        the bench can (as an SMU runs a tuning script); None where it cannot: the procedure then steps
        the loop itself. Refused (None) unless the read voltage and the ends of both ramps, which bound
        every amplitude the loop applies, pass the safety limits: stepped, the loop stops at the pulse
        that breaks one."""
        compliance_a = self._pulse_limit_a()
        try:
            self.limits.check_read(rules.read_voltage_v)
            for amplitude_v in (rules.set_start_v, rules.set_stop_v, rules.reset_start_v, rules.reset_stop_v):
                self.limits.check_pulse(amplitude_v, rules.width_s, compliance_a)
        except SafetyLimitError:
            return None
        return self._guarded(self._tuning_loop, self.selected, target_s, rules, band_s, compliance_a)

    def wait(self, seconds: float) -> None:
        """Let time pass with outputs at 0 V (simulated clock or wall clock)."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"wait needs a finite, non-negative number of seconds, got {seconds}")
        self._guarded(self._wait, seconds)

    @property
    def temperature_c(self) -> float:
        """Sample temperature in degrees Celsius."""
        return self._get_temperature()

    @temperature_c.setter
    def temperature_c(self, value: float) -> None:
        if not math.isfinite(value) or value < -273.15:
            raise ValueError(f"temperature must be a finite value above absolute zero, got {value}")
        self._set_temperature(value)

    # -- safe state ------------------------------------------------------------------------
    def safe_state(self) -> None:
        """Outputs to 0 V and off, switch matrix open."""
        self._safe_state()

    def safeguarded(self, records: Iterable[R]) -> Iterator[R]:
        """A procedure's stream that puts the bench in its safe state before any exception leaves it.

        The safe state then comes first, before whoever consumes the stream (a database write) reacts.
        """
        try:
            yield from records
        except BaseException:
            self._safe_state()
            raise

    def __enter__(self) -> Bench:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._safe_state()

    def _guarded(self, operation: Callable[..., T], *args: object) -> T:
        """Run a hardware operation; on any exception or Ctrl-C go to the safe state, re-raise."""
        try:
            return operation(*args)
        except BaseException:
            self._safe_state()
            raise

    # -- hardware side -----------------------------------------------------------------------
    @abstractmethod
    def now(self) -> float:
        """Bench time in seconds."""

    @abstractmethod
    def _route(self, device: DeviceAddress) -> None:
        """Connect the instruments to the device."""

    @abstractmethod
    def _apply_pulse(
        self, device: DeviceAddress, amplitude_v: float, width_s: float, compliance_a: float | None
    ) -> tuple[float, float]:
        """Apply the pulse; return when it began (bench time, s) and the measured current (A).

        The output ends at 0 V. The operation takes its own time stamp so that an instrument can report
        it in the same message.
        """

    @abstractmethod
    def _measure(self, device: DeviceAddress, voltage_v: float) -> tuple[float, float]:
        """Apply the read voltage for the read duration; return when it began (s) and the current (A)."""

    @abstractmethod
    def _wait(self, seconds: float) -> None:
        """Let time pass."""

    @abstractmethod
    def _safe_state(self) -> None:
        """Outputs to 0 V and off, switch matrix open; must not raise."""

    def _tuning_loop(
        self,
        device: DeviceAddress,
        target_s: float,
        rules: TuningRules,
        band_s: tuple[float, float],
        compliance_a: float | None,
    ) -> TuningTrace | None:
        """Run a tuning loop bench-side (`run_tuning_loop`); a bench that cannot returns None."""
        return None

    def _get_temperature(self) -> float:
        raise LabrramError(f"{type(self).__name__} has no temperature control")

    def _set_temperature(self, value: float) -> None:
        raise LabrramError(f"{type(self).__name__} has no temperature control")

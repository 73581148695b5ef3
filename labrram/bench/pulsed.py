"""Seed 002's crossbar bench: a Keithley 4200A-SCS with 4225-PMU channels behind a 707B matrix.

Four PMU channels (two cards), each on its own matrix row, play the four line roles of the matrix bench:
the selected word line, the selected bit line (at 0 V; it senses the read current), the unselected word
lines and the unselected bit lines (the bias scheme's fractions of the pulse, as seed 002's pulse
divider makes them). A pulse or a read is one PMU test: every channel pulses together from 0 V to its
level for the width, and the spot mean of the top is the reading. A read beyond its fixed current range
(a stuck-on device on seed 002's 100 uA range) is taken again one range up, as far as 10 mA. Pulses go
down to the PMU's 40 ns, so seed 002's 200 ns Alibart tuning runs as published. The PMU has no current
compliance: a pulse that asks for one (or a technology whose preset sets a default compliance) is
refused. Time is the 707B's timer (simulated benches) or the host's.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass

from labrram.bench.base import ArrayGeometry, Bench, DeviceAddress
from labrram.bench.matrix import LineWiring, check_cabling, device_crosspoints
from labrram.bench.safety import SafetyLimits
from labrram.bench.talking import talking
from labrram.drivers.keithley707b import Keithley707B
from labrram.drivers.keithley4200a import MIN_EDGE_S, MIN_PULSE_WIDTH_S, Keithley4200A, SpotMean
from labrram.errors import InstrumentError
from labrram.physics.bias import unselected_levels
from labrram.physics.parameters import BiasScheme

MIN_OFF_S = 1e-6  # at 0 V after each pulse, before the next can start
MAX_RANGE_A = 10e-3  # the RPM's largest current range (ranges are decades from 100 nA)


@dataclass(frozen=True)
class PulseRole:
    """The PMU channel (1, 2: card 1; 3, 4: card 2) that plays a role and the matrix row it is cabled to."""

    channel: int
    matrix_row: str


DEFAULT_PULSE_ROLES = {
    "selected_row": PulseRole(1, "A"),
    "selected_col": PulseRole(2, "B"),
    "unselected_rows": PulseRole(3, "C"),
    "unselected_cols": PulseRole(4, "D"),
}


def edge_s(width_s: float) -> float:
    """Rise and fall time for a pulse: a tenth of its width, from the PMU's 20 ns up to 1 ms."""
    return min(max(MIN_EDGE_S, width_s / 10), 1e-3)


class PulseMeasureBench(Bench):
    """A Bench on a 4200A-SCS's PMU channels and a 707B, through their drivers only."""

    min_pulse_width_s = MIN_PULSE_WIDTH_S
    limits_current = False  # the PMU's 50 ohm output bounds a pulse's current, nothing else does

    def __init__(
        self,
        arrays: Mapping[str, ArrayGeometry],
        limits: SafetyLimits,
        matrix: Keithley707B,
        analyzer: Keithley4200A,
        roles: Mapping[str, PulseRole],
        lines: Mapping[str, LineWiring],
        read_duration_s: float = 10e-6,
        default_compliance_a: float | None = None,
        instrument_clock: bool = False,
        off_s: float = MIN_OFF_S,
        read_current_range_a: float | None = None,
    ) -> None:
        super().__init__(arrays, limits, read_duration_s, default_compliance_a, read_current_range_a)
        check_cabling(arrays, roles, lines, "PMU channels")
        if read_duration_s < MIN_PULSE_WIDTH_S or off_s < MIN_OFF_S:
            raise ValueError(f"reads of {MIN_PULSE_WIDTH_S:g} s and off times of {MIN_OFF_S:g} s or more")
        self.matrix = matrix
        self.analyzer = analyzer
        self.roles = dict(roles)
        self.lines = dict(lines)
        self.instrument_clock = instrument_clock
        self.off_s = off_s
        self._sent: dict[tuple[str, int], tuple[float, ...]] = {}  # what each channel was last given

    def now(self) -> float:
        if not self.instrument_clock:
            return time.monotonic()
        with talking(self.matrix.name, "read the timer", self.matrix):
            return self.matrix.timer_s()

    def _route(self, device: DeviceAddress) -> None:
        rows = {name: role.matrix_row for name, role in self.roles.items()}
        closed = device_crosspoints(self.lines[device.array], device.row, device.col, rows)
        with talking(self.matrix.name, f"exclusive close for {device}", self.matrix):
            self.matrix.exclusive_close(closed)
        if not self._sent:  # first use since the safe state: standard pulse mode, every channel on
            with talking(self.analyzer.name, "PMU setup", self.analyzer):
                self.analyzer.pmu_standard_pulse(max(role.channel for role in self.roles.values()))
                for role in self.roles.values():
                    self.analyzer.output(role.channel, True)
            self._sent[("setup", 0)] = ()

    def _configure(self, kind: str, channel: int, *values: float) -> None:
        """Send a channel setting unless the instrument has it already."""
        if self._sent.get((kind, channel)) == values:
            return
        if kind == "train":
            self.analyzer.pulse_train(channel, 0.0, values[0])
        elif kind == "times":
            self.analyzer.pulse_times(channel, *values)
        else:
            self.analyzer.measure_range(channel, values[0] if values else None)
        self._sent[(kind, channel)] = values

    def _run(
        self, levels_v: Mapping[str, float], width_s: float, sense: str, range_a: float | None, command: str
    ) -> tuple[float, SpotMean]:
        """One PMU test: each role's channel to its level for ``width_s``; when it began and ``sense``'s
        spot mean."""
        edges_s = edge_s(width_s)
        period_s = width_s + edges_s + self.off_s
        started_s = self.now()
        with talking(self.analyzer.name, command, self.analyzer):
            for name, role in self.roles.items():
                level_v = levels_v.get(name, 0.0)
                self._configure("train", role.channel, level_v)
                if level_v or name == sense:  # a channel at 0 V that does not measure has no timing to keep
                    self._configure("times", role.channel, period_s, width_s, edges_s)
            sensing = self.roles[sense].channel
            self._configure("range", sensing, *(() if range_a is None else (range_a,)))
            return started_s, self.analyzer.run(sensing)

    def _levels(self, voltage_v: float, scheme: BiasScheme) -> dict[str, float]:
        rows_v, cols_v = unselected_levels(scheme, voltage_v)
        return {"selected_row": voltage_v, "unselected_rows": rows_v, "unselected_cols": cols_v}

    def _apply_pulse(
        self, device: DeviceAddress, amplitude_v: float, width_s: float, compliance_a: float | None
    ) -> tuple[float, float]:
        compliance_a = compliance_a or self.default_compliance_a
        if compliance_a is not None:
            raise InstrumentError(
                self.analyzer.name,
                f"pulse {amplitude_v:g} V with a {compliance_a:g} A compliance",
                "the 4225-PMU has no current compliance; pulse under compliance on an SMU bench",
            )
        levels = self._levels(amplitude_v, self.arrays[device.array].bias_scheme)
        started_s, point = self._run(
            levels, width_s, "selected_row", None, f"pulse {amplitude_v:g} V for {width_s:g} s"
        )
        return started_s, point.high_a

    def _measure(self, device: DeviceAddress, voltage_v: float) -> tuple[float, float]:
        """A read on the fixed range if one is set; a current beyond it is read again a range up."""
        levels = self._levels(voltage_v, self.arrays[device.array].read_scheme)
        range_a = self.read_current_range_a
        while True:
            started_s, point = self._run(
                levels, self.read_duration_s, "selected_col", range_a, f"read at {voltage_v:g} V"
            )
            if not point.high_status:
                return started_s, -point.high_a  # the device's current flows into the bit line
            if range_a is None or range_a * 10 > MAX_RANGE_A:
                raise InstrumentError(
                    self.analyzer.name, f"read at {voltage_v:g} V", "current beyond the largest measure range"
                )
            range_a *= 10

    def _wait(self, seconds: float) -> None:
        if not self.instrument_clock:
            time.sleep(seconds)
            return
        with talking(self.matrix.name, f"delay {seconds:g} s", self.matrix):
            self.matrix.delay(seconds)

    def _safe_state(self) -> None:
        """Every PMU channel to 0 V and off, the matrix open; keeps going past failures, never raises."""
        self._sent = {}
        for role in self.roles.values():
            with contextlib.suppress(Exception):  # the other outputs must still go off
                self.analyzer.output(role.channel, False)
            with contextlib.suppress(Exception):
                self.analyzer.pulse_train(role.channel, 0.0, 0.0)
        with contextlib.suppress(Exception):
            self.matrix.open_all()
        with contextlib.suppress(Exception):  # waits until the matrix has executed the open
            self.matrix.error_count()

    def disconnect(self) -> None:
        """Close the connections to both instruments (after the safe state)."""
        self._safe_state()
        for adapter in (self.matrix.adapter, self.analyzer.adapter):
            with contextlib.suppress(Exception):
                adapter.close()

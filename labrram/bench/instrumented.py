"""The driver-backed Bench: a 707B switching matrix and 2600B SMU channels, real or simulated alike.

Four SMU channels, each on its own matrix row, play four roles: the selected word line (it pulses and
sources the read), the selected bit line (held at 0 V; it senses the read current), the unselected word
lines and the unselected bit lines (at the bias scheme's fractions: V/3 and 2V/3, V/2 and V/2, or 0 V).
Selecting a device closes exactly the crosspoints that put each line on its role's SMU. The two
unselected roles are optional; without them those lines float. Every instrument error, timeout or
unexpected reply becomes an InstrumentError naming instrument and command, after the Bench has put
every output at 0 V, off, and opened the matrix.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from labrram.bench.base import ArrayGeometry, Bench, DeviceAddress
from labrram.bench.matrix import LineWiring, check_cabling, device_crosspoints
from labrram.bench.safety import SafetyLimits
from labrram.bench.talking import talking
from labrram.drivers.keithley707b import Keithley707B
from labrram.drivers.keithley2600b import MAX_NPLC, MIN_NPLC, MIN_PULSE_WIDTH_S, Keithley2600B, SMUChannel
from labrram.physics.bias import pulse_bias_v, unselected_levels
from labrram.physics.parameters import BiasScheme


@dataclass(frozen=True)
class Role:
    """An SMU channel, the matrix row it is wired to, and the name errors should carry."""

    channel: SMUChannel
    matrix_row: str
    instrument: str


class InstrumentBench(Bench):
    """A Bench that speaks to instruments through their drivers only."""

    min_pulse_width_s = MIN_PULSE_WIDTH_S  # the 2600B's pulse + measure

    def __init__(
        self,
        arrays: Mapping[str, ArrayGeometry],
        limits: SafetyLimits,
        matrix: Keithley707B,
        roles: Mapping[str, Role],
        lines: Mapping[str, LineWiring],
        read_duration_s: float = 10e-6,
        default_compliance_a: float | None = None,
        clock: Keithley2600B | None = None,
        line_frequency_hz: float = 50.0,
        pulse_off_s: float = MIN_PULSE_WIDTH_S,
        read_current_range_a: float | None = None,
    ) -> None:
        super().__init__(arrays, limits, read_duration_s, default_compliance_a, read_current_range_a)
        check_cabling(arrays, roles, lines, "SMU channels")
        self.matrix = matrix
        self.roles = dict(roles)
        self.lines = dict(lines)
        if pulse_off_s < MIN_PULSE_WIDTH_S:
            raise ValueError(
                f"pulse_off_s {pulse_off_s:g} s: the 2600B holds a pulse's bias for "
                f"{MIN_PULSE_WIDTH_S:g} s or more"
            )
        self.pulse_off_s = pulse_off_s  # at 0 V after each pulse (the pulse function's off time)
        self.clock = clock  # whose timer is the bench's time and whose delay waits; None: the host's
        self._levels: dict[str, float] = {}  # last level sent to each role's SMU
        self._nplc = read_duration_s * line_frequency_hz
        if not MIN_NPLC <= self._nplc <= MAX_NPLC:
            raise ValueError(
                f"read_duration_s {read_duration_s:g} s is {self._nplc:g} power-line cycles; the 2600B "
                f"integrates {MIN_NPLC:g} to {MAX_NPLC:g} ({MIN_NPLC / line_frequency_hz:g} s and up)"
            )

    def now(self) -> float:
        if self.clock is None:
            return time.monotonic()
        with talking(self.clock.name, "read the timer", self.clock):
            return self.clock.timer_s()

    def _stamp_before(self, instrument: Keithley2600B) -> float | None:
        """The bench time now, or None if ``instrument`` keeps it (its replies carry their start time)."""
        return None if self.clock is instrument else self.now()

    def _route(self, device: DeviceAddress) -> None:
        rows = {name: role.matrix_row for name, role in self.roles.items()}
        closed = device_crosspoints(self.lines[device.array], device.row, device.col, rows)
        with talking(self.matrix.name, f"exclusive close for {device}", self.matrix):
            self.matrix.exclusive_close(closed)
        for name, role in self.roles.items():
            current_range_a = self.read_current_range_a if name == "selected_col" else None  # it senses
            with talking(role.instrument, "source setup", role.channel):
                role.channel.start_voltage_source(self._nplc, current_range_a)
            self._levels[name] = 0.0

    def _set_levels(self, levels_v: Mapping[str, float], command: str) -> None:
        """Source each role's level unless it is there already: one message per instrument, executed
        (each instrument has its own connection and runs in its own time) before anything else is sent.
        """
        changes: dict[int, tuple[Role, dict[str, float]]] = {}
        for name, level_v in levels_v.items():
            role = self.roles.get(name)
            if role is None or self._levels.get(name) == level_v:
                continue
            changes.setdefault(id(role.channel.parent), (role, {}))[1][role.channel.id] = level_v
        for role, channel_levels in changes.values():
            with talking(role.instrument, command, role.channel):
                role.channel.parent.source_voltages(channel_levels)
        self._levels.update((name, level_v) for name, level_v in levels_v.items() if name in self.roles)

    def _bias(self, voltage_v: float, scheme: BiasScheme) -> None:
        """Unselected lines to the scheme's fractions of ``voltage_v``."""
        rows_v, cols_v = unselected_levels(scheme, voltage_v)
        levels = {"unselected_rows": rows_v, "unselected_cols": cols_v}
        self._set_levels(levels, f"bias the unselected lines for {voltage_v:g} V")

    def _bias_in_message(
        self, carrier: Role, voltage_v: float, scheme: BiasScheme
    ) -> dict[str, float] | None:
        """The unselected lines' levels by channel, if they can go in ``carrier``'s message, else None.

        They can when every unselected role's SMU is commanded through the carrier's instrument (the same
        2600B, or a TSP-Link node of it) and sits at 0 V; the message then returns them to 0 V itself.
        """
        rows_v, cols_v = unselected_levels(scheme, voltage_v)
        levels = {}
        for name, level_v in (("unselected_rows", rows_v), ("unselected_cols", cols_v)):
            role = self.roles.get(name)
            if role is None:
                continue
            if role.channel.parent is not carrier.channel.parent or self._levels.get(name) != 0.0:
                return None
            if level_v:
                levels[role.channel.id] = level_v
        return levels

    @contextmanager
    def _biased(
        self, carrier: Role, voltage_v: float, scheme: BiasScheme
    ) -> Iterator[dict[str, float] | None]:
        """Unselected lines biased around an operation of ``carrier``: yields their levels when they go in
        its message (see `_bias_in_message`), else None after setting them; cleared afterwards if set here.
        """
        in_message = self._bias_in_message(carrier, voltage_v, scheme)
        if in_message is None:
            self._bias(voltage_v, scheme)
        yield in_message
        if in_message is None:
            self._bias(0.0, scheme)

    def _apply_pulse(
        self, device: DeviceAddress, amplitude_v: float, width_s: float, compliance_a: float | None
    ) -> tuple[float, float]:
        pulser = self.roles["selected_row"]
        geometry = self.arrays[device.array]
        with self._biased(pulser, amplitude_v, geometry.bias_scheme) as in_message:
            started_s = self._stamp_before(pulser.channel.parent)
            with talking(pulser.instrument, f"pulse {amplitude_v:g} V for {width_s:g} s", pulser.channel):
                reading = pulser.channel.pulse_voltage_measure_current(
                    amplitude_v,
                    width_s,
                    bias_v=pulse_bias_v(geometry.kind, geometry.bias_scheme, amplitude_v),
                    off_s=self.pulse_off_s,
                    compliance_a=compliance_a,
                    others_v=in_message,
                )
        return (reading.timer_s if started_s is None else started_s), reading.current_a

    def _measure(self, device: DeviceAddress, voltage_v: float) -> tuple[float, float]:
        source, sense = self.roles["selected_row"], self.roles["selected_col"]
        command = f"read at {voltage_v:g} V"
        scheme = self.arrays[device.array].read_scheme
        if source.channel.parent is not sense.channel.parent:
            self._bias(voltage_v, scheme)
            started_s = self.now()
            self._set_levels({"selected_row": voltage_v}, command)
            with talking(sense.instrument, command, sense.channel):
                current_a = sense.channel.measure_current()
            self._set_levels({"selected_row": 0.0}, command)
            self._bias(0.0, scheme)
            return started_s, -current_a  # the device's current flows into the bit line
        with self._biased(sense, voltage_v, scheme) as in_message:
            started_s = self._stamp_before(sense.channel.parent)
            with talking(sense.instrument, command, sense.channel):  # source, measure, back to 0 V
                reading = sense.channel.parent.measure_current_while_sourcing(
                    source.channel.id, voltage_v, sense.channel.id, 0.0, others_v=in_message
                )
            self._levels["selected_row"] = 0.0
        return (reading.timer_s if started_s is None else started_s), -reading.current_a

    def disconnect(self) -> None:
        """Close the connections to every instrument (after the safe state)."""
        self._safe_state()
        adapters = {id(self.matrix.adapter): self.matrix.adapter}
        adapters |= {
            id(role.channel.parent.adapter): role.channel.parent.adapter for role in self.roles.values()
        }
        for adapter in adapters.values():
            with contextlib.suppress(Exception):
                adapter.close()

    def _wait(self, seconds: float) -> None:
        if self.clock is None:
            time.sleep(seconds)
            return
        with talking(self.clock.name, f"delay {seconds:g} s", self.clock):
            self.clock.delay(seconds)

    def _safe_state(self) -> None:
        """Every SMU to 0 V and off, the matrix open; keeps going past failures, never raises.

        A query to each instrument afterwards waits until it has executed the commands (over a socket,
        writes are not acknowledged).
        """
        self._levels = {}
        for role in self.roles.values():
            with contextlib.suppress(Exception):  # the other outputs must still go off
                role.channel.shutdown()
        with contextlib.suppress(Exception):  # nothing more can be done for a matrix that does not answer
            self.matrix.open_all()
        for instrument in self._instruments():
            with contextlib.suppress(Exception):
                instrument.error_count()

    def _instruments(self) -> list[Keithley707B | SMUChannel]:
        """Every instrument of the bench once (two roles may share one)."""
        found = {id(self.matrix): self.matrix}
        found |= {id(role.channel.parent): role.channel.parent for role in self.roles.values()}
        return list(found.values())

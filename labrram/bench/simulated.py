"""The direct simulated Bench: drives a SimulatedChip without instruments, for speed and unit tests."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from labrram.bench.base import ArrayGeometry, Bench, DeviceAddress, DeviceBlock
from labrram.bench.safety import SafetyLimits
from labrram.errors import InstrumentError, LabrramError
from labrram.physics.bias import line_levels, off_time_levels, program_targets, sense_targets
from labrram.physics.chip import SimulatedChip
from labrram.physics.parameters import ArrayKind
from labrram.physics.tuning_loop import TuningLoop, TuningRules, TuningTrace


class SimulatedBench(Bench):
    """A Bench whose "instruments" are the chip model itself; time is the chip's simulated clock."""

    def __init__(
        self,
        chip: SimulatedChip,
        arrays: Mapping[str, ArrayGeometry],
        limits: SafetyLimits,
        read_duration_s: float = 10e-6,
        default_compliance_a: float | None = None,
        pulse_off_s: float = 0.0,
        read_current_range_a: float | None = None,
        runs_loops: bool = False,
    ) -> None:
        super().__init__(arrays, limits, read_duration_s, default_compliance_a, read_current_range_a)
        if not pulse_off_s >= 0:
            raise ValueError(f"pulse_off_s must be a non-negative time, got {pulse_off_s}")
        missing = set(arrays) - set(chip.arrays)
        if missing:
            raise ValueError(f"arrays {sorted(missing)} are not on the chip")
        self.chip = chip
        self.pulse_off_s = pulse_off_s  # at the bias before and after each pulse, as an SMU's pulse function
        self.source_level_v = 0.0
        self.output_enabled = False
        # Whether a tuning loop runs inside the chip (`run_tuning_loop`: one call and one record per
        # device, for speed) or is stepped by the procedure (every read and pulse its own record, as on
        # the instruments: what a live view or an interruption between two reads sees).
        self.runs_loops = runs_loops

    def now(self) -> float:
        return self.chip.now_s

    def _route(self, device: DeviceAddress) -> None:
        self.output_enabled = True

    def _apply_pulse(
        self, device: DeviceAddress, amplitude_v: float, width_s: float, compliance_a: float | None
    ) -> tuple[float, float]:
        started_s = self.chip.now_s
        g = self.arrays[device.array]
        self._dwell(g, device, amplitude_v, compliance_a)
        self.source_level_v = amplitude_v
        try:
            if g.kind is ArrayKind.ONE_T_ONE_R:
                index, voltages = program_targets(
                    g.kind, g.bias_scheme, g.rows, g.cols, device.row, device.col, amplitude_v
                )
                current_a = float(self.chip.apply(device.array, index, voltages, width_s, compliance_a)[0])
            else:
                # The SMU's compliance limits the selected device; half-selected cells are not limited.
                levels = line_levels(g.bias_scheme, amplitude_v)
                current_a = self.chip.pulse_lines(
                    device.array, device.row, device.col, levels, width_s, compliance_a
                )
        finally:
            self.source_level_v = 0.0
        self._dwell(g, device, amplitude_v, compliance_a)
        return started_s, current_a

    def _dwell(
        self, g: ArrayGeometry, device: DeviceAddress, amplitude_v: float, compliance_a: float | None
    ) -> None:
        """The pulse function's off time before and after a pulse: the selected line at the bias (the
        unselected rows' level), the other lines at the scheme's levels."""
        if self.pulse_off_s == 0:
            return
        if g.kind is ArrayKind.ONE_T_ONE_R:
            self.chip.advance(self.pulse_off_s)
        else:
            levels = off_time_levels(g.bias_scheme, amplitude_v)
            off_s = self.pulse_off_s
            self.chip.pulse_lines(device.array, device.row, device.col, levels, off_s, compliance_a)

    def _measure(self, device: DeviceAddress, voltage_v: float) -> tuple[float, float]:
        started_s = self.chip.now_s
        g = self.arrays[device.array]
        index, voltages = sense_targets(
            g.kind, g.read_scheme, g.rows, g.cols, device.row, device.col, voltage_v
        )
        disturb = None
        crossbar = self.chip.arrays[device.array]
        if abs(voltage_v) > crossbar.min_switching_voltage_v:
            disturb = program_targets(
                g.kind, g.read_scheme, g.rows, g.cols, device.row, device.col, voltage_v
            )
        self.source_level_v = voltage_v
        try:
            current_a = self.chip.measure(device.array, index, voltages, self.read_duration_s, disturb)
        finally:
            self.source_level_v = 0.0
        if self.read_current_range_a is not None and abs(current_a) > self.read_current_range_a:
            raise InstrumentError(
                "simulated SMU",
                f"read at {voltage_v:g} V",
                f"over range: {current_a:.4g} A is beyond the fixed {self.read_current_range_a:g} A range",
            )
        return started_s, current_a

    def _parallel(self, devices: DeviceBlock) -> np.ndarray:
        """The devices' flat indices in their array, which must be 1T1R: only transistor-isolated cells
        can be driven in parallel without disturbing each other."""
        geometry = self.arrays[devices.array]
        if geometry.kind is not ArrayKind.ONE_T_ONE_R:
            raise LabrramError("parallel pulses and reads need devices of a 1T1R array (isolated cells)")
        return devices.rows * geometry.cols + devices.cols

    def _apply_pulses(
        self, devices: DeviceBlock, amplitudes_v: np.ndarray, width_s: float, compliance_a: float | None
    ) -> tuple[float, np.ndarray]:
        started_s = self.chip.now_s
        index = self._parallel(devices)
        self.chip.advance(self.pulse_off_s)  # the pulse function's off time, before and after
        currents_a = self.chip.apply(devices.array, index, amplitudes_v, width_s, compliance_a)
        self.chip.advance(self.pulse_off_s)
        return started_s, currents_a

    def _measure_devices(self, devices: DeviceBlock, voltage_v: float) -> tuple[float, np.ndarray]:
        started_s = self.chip.now_s
        index = self._parallel(devices)
        crossbar = self.chip.arrays[devices.array]
        currents_a = crossbar.measure_cell_currents(index, voltage_v, self.read_duration_s)
        if abs(voltage_v) > crossbar.min_switching_voltage_v:  # the read acts as a pulse too
            crossbar.apply_voltage(index, voltage_v, self.read_duration_s)
        self.chip.advance(self.read_duration_s)
        if self.read_current_range_a is not None and np.abs(currents_a).max() > self.read_current_range_a:
            raise InstrumentError(
                "simulated SMU",
                f"read at {voltage_v:g} V",
                f"over range: {np.abs(currents_a).max():.4g} A is beyond the fixed "
                f"{self.read_current_range_a:g} A range",
            )
        return started_s, currents_a

    def _tuning_loop(
        self,
        device: DeviceAddress,
        target_s: float,
        rules: TuningRules,
        band_s: tuple[float, float],
        compliance_a: float | None,
    ) -> TuningTrace | None:
        """The loop in one compiled call inside the chip (`labrram.physics.tuning_loop`), for a device of
        a passive array where that covers the physics; a fixed read range is left to the stepped loop."""
        g = self.arrays[device.array]
        supported = self.runs_loops and self.read_current_range_a is None
        if not (supported and TuningLoop.supports(self.chip, device.array, g.read_scheme)):
            return None
        loop = TuningLoop(self.pulse_off_s, self.read_duration_s, compliance_a)
        return loop.run(
            self.chip, device.array, device.row, device.col, g.bias_scheme, rules, band_s, target_s
        )

    def _wait(self, seconds: float) -> None:
        self.chip.advance(seconds)

    def _safe_state(self) -> None:
        self.source_level_v = 0.0
        self.output_enabled = False

    def _get_temperature(self) -> float:
        return self.chip.temperature_c

    def _set_temperature(self, value: float) -> None:
        self.chip.temperature_c = value

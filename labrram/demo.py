"""The demo: characterize a simulated chip end to end and summarize what a device researcher asks first.

On the first array (its top-left 8x8 block at most): forms the devices that do not conduct yet,
programs every device to a random target inside the window by Alibart tuning in column-major order,
reads the block back (disturbance by programming order), then lets it age and reads it again
(retention). Returns a report; the CLI prints it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from labrram.bench.base import Bench, DeviceAddress
from labrram.procedures.forming import FormingSettings, form_device
from labrram.procedures.program import disturbance_by_order, program_array
from labrram.procedures.retention import RetentionSettings, read_on_schedule
from labrram.procedures.tuning import AlibartSettings
from labrram.records import Progress, Record, Result, RunStarted

DISTURBANCE_BINS = ((1, 5), (6, 15), (16, 30), (31, 63))
BLOCK = 8


@dataclass(frozen=True)
class DemoReport:
    """Figures of one demo run; conductances in siemens."""

    array: str
    devices: int
    width_s: float
    tolerance: float
    successive_reads: int
    formed: int
    tuned: int
    pulses_median: float
    pulses_max: int
    tuning_error_mean: float
    tuning_error_sd: float
    failed: tuple[tuple[int, int, float], ...]
    disturbance: tuple[tuple[str, int, float, float], ...]
    retention_wait_s: float
    retention_shift_mean_s: float
    retention_shift_sd_s: float
    simulated_time_s: float


def demo_records(
    bench: Bench,
    seed: int | None,
    target_range_s: tuple[float, float],
    settings: AlibartSettings | None = None,
    retention_wait_s: float = 1e4,
) -> Iterator[Record]:
    """The demo as a record stream: forming, array programming, read-back, retention."""
    settings = settings or AlibartSettings()
    array = next(iter(bench.arrays))
    geometry = bench.arrays[array]
    rng = np.random.default_rng(seed)
    targets = np.full((geometry.rows, geometry.cols), np.nan)
    rows, cols = min(BLOCK, geometry.rows), min(BLOCK, geometry.cols)
    targets[:rows, :cols] = rng.uniform(*target_range_s, size=(rows, cols))
    devices = tuple(DeviceAddress(array, row, col) for row in range(rows) for col in range(cols))
    parameters = {
        "targets_s": targets[:rows, :cols].tolist(),
        "order": "column-major",
        "alibart": asdict(settings),
        "forming": asdict(FormingSettings()),
        "retention_wait_s": retention_wait_s,
    }
    yield RunStarted("demo", parameters, devices, seed)
    for device in devices:
        yield from form_device(bench, device, FormingSettings())
    programmed_at: dict[DeviceAddress, float] = {}
    for record in program_array(bench, array, targets, settings, order="column-major"):
        if isinstance(record, Result) and record.kind == "tuning":
            programmed_at[record.device] = bench.now()
        yield record
    retention = RetentionSettings(times_s=(retention_wait_s,), read_voltage_v=settings.read_voltage_v)
    for record in read_on_schedule(bench, devices, retention, programmed_at):
        if not isinstance(record, Progress):
            yield record


def summarize(records: Sequence[Record], retention_wait_s: float, simulated_time_s: float) -> DemoReport:
    """The figures of a demo run, from its records."""
    results = [r for r in records if isinstance(r, Result)]
    forming = [r for r in results if r.kind == "forming"]
    formed = sum(r.values["pulses"] > 0 and r.values["success"] for r in forming)
    tunings = [r for r in results if r.kind == "tuning"]
    succeeded = [r for r in tunings if r.values["success"]]
    errors = np.array([r.values["achieved_s"] / r.values["target_s"] - 1 for r in succeeded] or [np.nan])
    pulses = np.array([r.values["pulses"] for r in tunings])
    failed = tuple(
        (r.device.row, r.device.col, r.values["achieved_s"]) for r in tunings if not r.values["success"]
    )
    by_order = disturbance_by_order(records)
    disturbance = []
    for low, high in DISTURBANCE_BINS:
        values = np.array([v for n, vs in by_order.items() if low <= n <= high for v in vs])
        if values.size:
            label = f"{low}-{high}"
            disturbance.append((label, values.size, values.mean(), values.std()))
    ended = {r.device: r.values["at_end_s"] for r in results if r.kind == "disturbance"}
    shifts = [r.values["conductance_s"] - ended[r.device] for r in results if r.kind == "retention"]
    return DemoReport(
        array=tunings[0].device.array,
        devices=len(tunings),
        width_s=tunings[0].values["settings"]["width_s"],
        tolerance=tunings[0].values["settings"]["tolerance"],
        successive_reads=tunings[0].values["settings"]["successive_reads"],
        formed=formed,
        tuned=len(succeeded),
        pulses_median=float(np.median(pulses)),
        pulses_max=int(pulses.max()),
        tuning_error_mean=float(np.nanmean(errors)),
        tuning_error_sd=float(np.nanstd(errors)),
        failed=failed,
        disturbance=tuple(disturbance),
        retention_wait_s=retention_wait_s,
        retention_shift_mean_s=float(np.mean(shifts)),
        retention_shift_sd_s=float(np.std(shifts)),
        simulated_time_s=simulated_time_s,
    )


def format_report(report: DemoReport, title: str) -> str:
    """The report as the text the CLI prints."""
    us = 1e6
    lines = [
        title,
        f"Forming: {report.formed} of {report.devices} devices needed and got a forming pulse ramp",
        f"Alibart tuning of {report.devices} devices of array {report.array} (column-major, "
        f"{report.tolerance:.0%}, {report.successive_reads} successive reads, "
        f"{_duration(report.width_s)} pulses):",
        f"  tuned {report.tuned}/{report.devices}; pulses per device median "
        f"{report.pulses_median:.0f}, max {report.pulses_max}",
        f"  achieved/target - 1 over tuned devices: mean {report.tuning_error_mean:+.2%}, "
        f"sd {report.tuning_error_sd:.2%}",
    ]
    for row, col, g in report.failed:
        lines.append(f"  not tuned: ({row}, {col}) ends at {g * us:.1f} uS after the whole pulse budget")
    lines.append("Disturbance after the whole array was programmed, by devices programmed later:")
    lines.append("  N later   devices   mean dG (uS)   sd dG (uS)")
    for label, count, mean, sd in report.disturbance:
        lines.append(f"  {label:<9} {count:>7}   {mean * us:>12.2f}   {sd * us:>10.2f}")
    lines.append(
        f"Retention: after {report.retention_wait_s:g} s more, conductance moved by "
        f"{report.retention_shift_mean_s * us:+.2f} uS on average (sd "
        f"{report.retention_shift_sd_s * us:.2f} uS)"
    )
    lines.append(f"Simulated time: {report.simulated_time_s:.4g} s")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    """A short duration in the unit a bench researcher would say it in."""
    return f"{seconds * 1e6:g} us" if seconds >= 1e-6 else f"{seconds * 1e9:g} ns"

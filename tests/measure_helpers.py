"""Bench files for `labrram measure` on instruments: the drivers on emulators, over VISA or TCP."""

from __future__ import annotations

from pathlib import Path

from labrram.cli import main

WIDE_PULSES = [
    "target_s=3e-4",
    "width_s=1e-4",
    "set_start_v=0.62",
    "set_stop_v=1.2",
    "reset_start_v=-0.6",
    "reset_stop_v=-1.5",
    "tolerance=0.02",
    "successive_reads=3",
]


def instruments_file(tmp_path: Path, library: str, resources: dict[str, str], clock: str) -> Path:
    path = tmp_path / "instruments.toml"
    entries = "\n".join(
        f'{name} = {{ driver = "{driver}", resource = "{resources[name]}" }}'
        for name, driver in (("matrix", "keithley707b"), ("smu1", "keithley2600b"), ("smu2", "keithley2600b"))
    )
    path.write_text(
        '[bench]\nname = "db-bench"\nseed = 3\nread_duration_s = 1e-4\n'
        '[sample]\nchip = "db-chip"\npreset = "tio2-passive-8x8"\n'
        "[sample.overrides]\nstuck_hrs_fraction = 0.0\nstuck_lrs_fraction = 0.0\n"
        '[[sample.arrays]]\nname = "A1"\nrows = 4\ncols = 4\n'
        f'[instruments]\nvisa_library = "{library}"\nclock = "{clock}"\n{entries}\n'
        "[safety]\nmax_width_s = 1e-2\n"
    )
    return path


def tune_with_wide_pulses(config: Path, database: str, devices: str, *more: str) -> int:
    """`labrram measure tuning` with pulses an SMU can make."""
    args = [
        "measure",
        "tuning",
        "--config",
        str(config),
        "--database",
        database,
        "--quiet",
        "--devices",
        devices,
    ]
    return main([*args, *more, *(f"--param={p}" for p in WIDE_PULSES)])

"""Device-pulse updates per second of the array physics, against a plain per-device Python loop.

A 64x64 passive TiO2 array is pulsed under the V/3 scheme, so every one of its 4096 devices sees every
pulse and is updated by it. Two pulse plans: "tuning" replays the amplitudes that Alibart tuning of an
8x8 chip actually applied (mostly low amplitudes: few devices above threshold besides the selected
one), "uniform" draws amplitudes uniformly over the full SET and RESET ramps (the worst case: most
devices above threshold at most pulses). The baseline is the same switching update (threshold,
exponential overdrive, approach to the virtual bound, window clipping, cycle-to-cycle noise) written
as a Python loop over devices, run in the same process. Each plan goes through the lines
(`CrossbarArray.pulse_lines`, the simulated bench's path: the compiled loop visits only the cells that
can act) and as every cell's voltage (`apply_voltage`, the path of any other wiring). Goal: >= 1e8
updates/s on one core for the tuning plan.

    python benchmarks/physics_throughput.py [--pulses 5000]
"""

from __future__ import annotations

import argparse
import math
import random
import time

import numpy as np

from labrram.bench.factory import direct_simulated_bench
from labrram.config import parse_config
from labrram.physics import TIO2_PASSIVE_8X8, ArrayKind, BiasScheme, CrossbarArray, program_targets
from labrram.physics.bias import line_levels
from labrram.procedures.program import program_array
from labrram.procedures.tuning import AlibartSettings
from labrram.records import Pulse

ROWS = COLS = 64


def loop_update(
    array: CrossbarArray, g: list[float], volts: list[float], width_s: float, rng: random.Random
) -> None:
    """One pulse applied device by device in plain Python (relaxation and wear left out)."""
    p = array.parameters
    pop = array.population
    for i, v in enumerate(volts):
        positive = v > 0
        if positive:
            threshold, slope, rate = pop.set_threshold_v[i], p.set_slope_v, pop.set_rate_per_s[i]
            bound, c2c = pop.set_bound_s[i], p.set_c2c
        else:
            threshold, slope, rate = (
                pop.reset_threshold_v[i],
                p.reset_slope_v,
                pop.reset_rate_per_s[i],
            )
            bound, c2c = pop.reset_bound_s[i], p.reset_c2c
        noise = math.exp(c2c * rng.gauss(0.0, 1.0) - 0.5 * c2c * c2c)
        overdrive = abs(v) - threshold
        if overdrive <= 0:
            continue
        fraction = -math.expm1(-rate * math.expm1(overdrive / slope) * noise * width_s)
        moved = g[i] + (bound - g[i]) * fraction
        if positive:
            g[i] = min(moved, max(pop.g_max_s[i], g[i]))
        else:
            g[i] = max(moved, min(pop.g_min_s[i], g[i]))


def make_array(seed: int) -> CrossbarArray:
    return CrossbarArray(
        TIO2_PASSIVE_8X8.parameters, ROWS, COLS, ArrayKind.PASSIVE, np.random.default_rng(seed)
    )


def tuning_amplitudes() -> np.ndarray:
    """Amplitudes applied while Alibart tuning programs a simulated 8x8 TiO2 chip."""
    config = parse_config(
        {"bench": {"name": "b", "seed": 0}, "sample": {"chip": "c", "preset": "tio2-passive-8x8"}}
    )
    bench = direct_simulated_bench(config)
    targets = np.random.default_rng(0).uniform(150e-6, 450e-6, (8, 8))
    records = program_array(bench, "A1", targets, AlibartSettings())
    return np.array([r.amplitude_v for r in records if isinstance(r, Pulse)])


def pulse_plan(amplitudes: np.ndarray, count: int, seed: int) -> list[tuple[int, int, float]]:
    """``count`` pulses at random devices with amplitudes drawn from ``amplitudes``."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(amplitudes, size=count)
    return [(int(rng.integers(ROWS)), int(rng.integers(COLS)), float(a)) for a in chosen]


def uniform_amplitudes(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(rng.random(count) < 0.5, rng.uniform(0.8, 2.0, count), -rng.uniform(1.1, 2.4, count))


def rates(plan: list[tuple[int, int, float]]) -> tuple[float, float, float]:
    """Device-pulse updates per second for one plan: pulses through the lines (the simulated bench's
    path), the same pulses given as every cell's voltage (any wiring), and the per-device loop."""
    levels = [line_levels(BiasScheme.V_THIRD, a) for _, _, a in plan]
    voltages = [
        program_targets(ArrayKind.PASSIVE, BiasScheme.V_THIRD, ROWS, COLS, r, c, a)[1] for r, c, a in plan
    ]
    lines = make_array(0)
    lines.pulse_lines(0, 0, levels[0], 200e-9)  # compiled loops loaded before timing
    start = time.perf_counter()
    for (row, col, _), level in zip(plan, levels, strict=True):
        lines.pulse_lines(row, col, level, 200e-9)
    lines_s = time.perf_counter() - start

    array = make_array(0)
    array.apply_voltage(slice(None), voltages[0], 200e-9)
    start = time.perf_counter()
    for cell_v in voltages:
        array.apply_voltage(slice(None), cell_v, 200e-9)
    cells_s = time.perf_counter() - start

    baseline = voltages[: max(1, len(voltages) // 20)]
    looped = make_array(0)
    g = list(looped.conductance_s().ravel())
    rng = random.Random(0)
    start = time.perf_counter()
    for cell_v in baseline:
        loop_update(looped, g, list(cell_v), 200e-9, rng)
    loop_s = time.perf_counter() - start
    updates = ROWS * COLS
    return (
        updates * len(plan) / lines_s,
        updates * len(voltages) / cells_s,
        updates * len(baseline) / loop_s,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pulses", type=int, default=5000)
    args = parser.parse_args()
    plans = {
        "tuning": pulse_plan(tuning_amplitudes(), args.pulses, seed=1),
        "uniform": pulse_plan(uniform_amplitudes(args.pulses, 2), args.pulses, seed=1),
    }
    print(f"array {ROWS}x{COLS} passive, V/3 scheme: {ROWS * COLS} devices updated per pulse (updates/s)")
    print("plan       through lines   cell voltages    Python loop   lines / loop   share of 1e8 goal")
    for name, plan in plans.items():
        lines, cells, loop = rates(plan)
        print(
            f"{name:<9} {lines:>14,.0f}  {cells:>14,.0f}  {loop:>13,.0f}   {lines / loop:>11.1f}x"
            f"   {lines / 1e8:>16.2f}x"
        )


if __name__ == "__main__":
    main()

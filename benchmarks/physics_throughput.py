"""Device-pulse updates per second of the vectorized physics, against a plain per-device Python loop.

A 64x64 passive TiO2 array is pulsed under the V/3 scheme, so every one of its 4096 devices is
updated by every pulse. The baseline is the same switching update (threshold, exponential overdrive,
approach to the virtual bound, window clipping, cycle-to-cycle noise) written as a Python loop over
devices, run in the same process on the same state. Goal: >= 1e7 updates/s on one core.

    python benchmarks/physics_throughput.py [--pulses 400]
"""

from __future__ import annotations

import argparse
import math
import random
import time

import numpy as np

from labrram.physics import TIO2_PASSIVE_8X8, ArrayKind, BiasScheme, CrossbarArray, program_targets

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


def pulse_plan(count: int, seed: int) -> list[tuple[int, int, float]]:
    rng = np.random.default_rng(seed)
    amplitudes = np.where(rng.random(count) < 0.5, rng.uniform(0.8, 2.0), -rng.uniform(1.1, 2.4))
    return [(int(rng.integers(ROWS)), int(rng.integers(COLS)), float(a)) for a in amplitudes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pulses", type=int, default=400)
    args = parser.parse_args()
    plan = pulse_plan(args.pulses, seed=1)
    voltages = [
        program_targets(ArrayKind.PASSIVE, BiasScheme.V_THIRD, ROWS, COLS, r, c, a)[1] for r, c, a in plan
    ]

    array = make_array(0)
    start = time.perf_counter()
    for cell_v in voltages:
        array.apply_voltage(slice(None), cell_v, 200e-9)
    vectorized_s = time.perf_counter() - start

    baseline_pulses = max(1, args.pulses // 20)
    looped = make_array(0)
    g = list(looped.conductance_s().ravel())
    rng = random.Random(0)
    start = time.perf_counter()
    for cell_v in voltages[:baseline_pulses]:
        loop_update(looped, g, list(cell_v), 200e-9, rng)
    loop_s = time.perf_counter() - start

    updates = ROWS * COLS
    vectorized_rate = updates * len(voltages) / vectorized_s
    loop_rate = updates * baseline_pulses / loop_s
    print(f"array {ROWS}x{COLS} passive, V/3 scheme: {updates} device updates per pulse")
    print(f"vectorized physics: {vectorized_rate:,.0f} device-pulse updates/s ({args.pulses} pulses)")
    print(f"per-device Python loop: {loop_rate:,.0f} device-pulse updates/s ({baseline_pulses} pulses)")
    print(
        f"speed-up: {vectorized_rate / loop_rate:.1f}x; goal 1e7 updates/s: "
        f"{vectorized_rate / 1e7:.2f}x of goal"
    )


if __name__ == "__main__":
    main()

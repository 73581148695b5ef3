"""Time inside the simulated 2636B for the messages the bench sends per pulse + read cycle.

The driver's own two messages (a `PulseVMeasureI` pulse with its compliance, buffer and timer, then a
read sourced on smua and sensed on smub, both outputs on as the bench leaves them) are captured once and
replayed straight into the emulator with resistor loads, so no array physics and no VISA layer is timed:
only the TSP runtime and the Python hooks it calls. The baseline in the same run is a chunk that only
prints a constant (the runtime's floor). Each figure is the fastest of five runs. Alternating six runs
with the hand-written parser the Lua runtime replaced (commit 2660789) on a quiet machine: hand parser
38.4-39.4 us per cycle (median 38.9), Lua runtime 32.5-47.3 us (median 33.2): about 15 % faster.

    python benchmarks/emulator_messages.py [--cycles 2000]
"""

from __future__ import annotations

import argparse
import time

from labrram.drivers.keithley2600b import Keithley2600B
from labrram.drivers.simulated.keithley2600b import Resistor, Simulated2600B
from labrram.drivers.simulated.visa import EmulatorVisaLibrary, visa_adapter

RESOURCE = "GPIB0::26::INSTR"
HAND_PARSER_US = 38.9  # commit 2660789's parser on these messages, measured as in the docstring


def captured_cycle(emulator: Simulated2600B) -> list[str]:
    """The messages the driver sends for one pulse and one read."""
    messages: list[str] = []
    write = emulator.write
    emulator.write = lambda message: messages.append(message) or write(message)  # type: ignore[method-assign]
    smu = Keithley2600B(visa_adapter(EmulatorVisaLibrary.serving({RESOURCE: emulator}), RESOURCE), name="smu")
    for channel in (smu.smua, smu.smub):  # as the bench routes a device: both sources on, 0.005 PLC
        channel.start_voltage_source(0.005, None)
    smu.smua.pulse_voltage_measure_current(1.0, 1e-4, bias_v=0.0, off_s=1e-4, compliance_a=1e-3)
    smu.measure_current_while_sourcing("smua", 0.2, "smub", 0.0)
    emulator.write = write  # type: ignore[method-assign]
    return messages[-2:]


def seconds_per_cycle(emulator: Simulated2600B, messages: list[str], cycles: int, repeats: int = 5) -> float:
    """The fastest of ``repeats`` runs (the least disturbed by the rest of the machine)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(cycles):
            for message in messages:
                emulator.write(message)
                while emulator.has_reply():
                    emulator.read()
        best = min(best, (time.perf_counter() - start) / cycles)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=2000)
    args = parser.parse_args()
    emulator = Simulated2600B(Resistor(1e-4), Resistor(1e-4))
    cycle = captured_cycle(emulator)
    floor_s = seconds_per_cycle(emulator, ["print(1)\n", "print(1)\n"], args.cycles)
    cycle_s = seconds_per_cycle(emulator, cycle, args.cycles)
    print("inside the simulated 2636B, per pulse + read cycle (two messages, resistor loads)")
    print(f"  two chunks that only print     {floor_s * 1e6:7.1f} us   1.00x")
    print(f"  the bench's pulse and read     {cycle_s * 1e6:7.1f} us   {cycle_s / floor_s:.2f}x")
    ratio = cycle_s * 1e6 / HAND_PARSER_US
    print(f"  (the replaced hand parser: {HAND_PARSER_US} us, median; goal: below it)  {ratio:.2f}x of it")


if __name__ == "__main__":
    main()

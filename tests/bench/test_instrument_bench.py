"""The driver-backed bench on simulated instruments: routing, end-to-end tuning, faults."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from labrram.bench import DeviceAddress
from labrram.bench.factory import (
    bench_from_config,
    connect_bench,
    direct_simulated_bench,
    simulated_instrument_bench,
    simulated_lab,
)
from labrram.cli import example_config
from labrram.config import load_config
from labrram.drivers.keithley2600b import MIN_PULSE_WIDTH_S
from labrram.drivers.simulated.emulator import CommandError
from labrram.drivers.simulated.server import InstrumentServer
from labrram.errors import InstrumentError
from labrram.procedures.tuning import AlibartSettings, tune_devices
from labrram.records import Result
from tests.bench.cases import SCATTERED_WIRING, suite_config

# The 2600B cannot source the 200 ns pulses of seed 002: 100 us pulses at lower amplitudes instead.
WIDE = AlibartSettings(
    set_start_v=0.62,
    set_stop_v=1.2,
    reset_start_v=-0.6,
    reset_stop_v=-1.5,
    width_s=1e-4,
    tolerance=0.02,
    successive_reads=3,
    max_pulses=500,
)
TARGETS = {
    DeviceAddress("A1", r, c): t
    for (r, c), t in zip([(0, 0), (1, 2), (3, 3), (2, 1)], [200e-6, 300e-6, 400e-6, 250e-6], strict=True)
}


def test_selecting_a_device_routes_each_line_to_its_role():
    bench, lab = simulated_instrument_bench(suite_config())
    bench.select(1, 2)
    # word lines on columns 1-01..1-04, bit lines on 1-05..1-08; roles on matrix rows A-D
    assert lab.matrix.closed == {"1A02", "1C01", "1C03", "1C04", "1B07", "1D05", "1D06", "1D08"}
    assert all(smu.output for emulator in lab.smus.values() for smu in emulator.smu.values())


def test_a_bench_cabled_its_own_way_closes_the_crosspoints_its_wiring_names():
    bench, lab = simulated_instrument_bench(suite_config(wiring=SCATTERED_WIRING))
    bench.select(1, 2)
    # word line 1 on 1-01 to F (selected), the others to H; bit line 2 on 1-12 to C, the others to A
    assert lab.matrix.closed == {"1F01", "3H12", "2H07", "1H09", "1C12", "2A01", "3A03", "2A08"}


def test_without_unselected_roles_the_other_lines_float():
    wiring = {key: SCATTERED_WIRING[key] for key in ("selected_row", "selected_col", "lines")}
    bench, lab = simulated_instrument_bench(suite_config(wiring=wiring))
    bench.select(1, 2)
    assert lab.matrix.closed == {"1F01", "1C12"}
    before = lab.chip.arrays["A1"].conductance_s()
    bench.pulse(1.8, 1e-4)
    change = np.abs(lab.chip.arrays["A1"].conductance_s() - before)
    changed = {tuple(rc) for rc in np.argwhere(change > 20e-6)}  # switched, not relaxed
    # The device between the two driven lines most; through the floating lines (sneak paths) the cells
    # sharing one of its lines are half-selected, and no other cell sees enough to switch.
    assert (1, 2) in changed and change[1, 2] == change.max()
    assert all(row == 1 or col == 2 for row, col in changed)


def test_v_third_bias_puts_the_scheme_on_the_unselected_lines_during_a_pulse():
    bench, lab = simulated_instrument_bench(suite_config())
    bench.select(0, 0)
    seen = []
    smu2 = lab.smus["smu2"]
    original = smu2.write

    def spy(message: str) -> None:
        original(message)
        seen.append((smu2.smu["a"].level_v, smu2.smu["b"].level_v))

    smu2.write = spy
    bench.pulse(1.5, 1e-4)
    assert (pytest.approx(0.5), pytest.approx(1.0)) in seen  # V/3 on word lines, 2V/3 on bit lines
    assert (smu2.smu["a"].level_v, smu2.smu["b"].level_v) == (0.0, 0.0)  # back to 0 after the pulse


def test_over_tsp_link_a_pulse_with_its_bias_and_a_read_are_one_message_each():
    bench, lab = simulated_instrument_bench(suite_config(), tsp_link_node=2)
    bench.select(1, 1)
    smu1, smu2 = lab.smus["smu1"], lab.smus["smu2"]
    messages, levels_at_pulse = [], []
    original_write, original_pulse = smu1.write, smu1._pulse

    def count(message: str) -> None:
        messages.append(message)
        original_write(message)

    def watch(*args: float) -> tuple[float, float]:
        levels_at_pulse.append((smu2.smu["a"].level_v, smu2.smu["b"].level_v))
        return original_pulse(*args)

    smu1.write, smu1._pulse = count, watch
    smu2.write = lambda message: pytest.fail(f"smu2 has no connection of its own: {message}")
    bench.pulse(1.5, 1e-4)
    bench.read(0.2)
    assert len(messages) == 2
    assert levels_at_pulse == [(pytest.approx(0.5), pytest.approx(1.0))]  # V/3 rows, 2V/3 columns
    assert (smu2.smu["a"].level_v, smu2.smu["b"].level_v) == (0.0, 0.0)


def test_the_tsp_link_example_bench_tunes_a_device_through_one_connection_per_instrument():
    bench = bench_from_config(load_config(example_config("tio2-tsp-link-bench.toml")))
    assert {role.channel.id for role in bench.roles.values()} == {
        "smua",
        "smub",
        "node[2].smua",
        "node[2].smub",
    }
    assert {role.channel.parent.name for role in bench.roles.values()} == {"smu1"}
    target = {DeviceAddress("A1", 2, 5): 300e-6}
    (result,) = [r for r in tune_devices(bench, target, WIDE) if isinstance(r, Result)]
    assert result.values["success"]
    bench.disconnect()


@pytest.mark.parametrize("make", ["direct", "instruments"])
def test_the_same_tuning_run_reaches_its_targets_through_either_bench(make):
    if make == "direct":
        bench = direct_simulated_bench(suite_config())
    else:
        bench, _ = simulated_instrument_bench(suite_config())
    results = [r for r in tune_devices(bench, TARGETS, WIDE) if isinstance(r, Result)]
    assert len(results) == 4
    for result in results:
        assert result.values["success"]
        assert abs(result.values["achieved_s"] / result.values["target_s"] - 1) <= 0.02


@pytest.mark.parametrize(("tsp_link_node", "wiring"), [(None, None), (2, None), (None, SCATTERED_WIRING)])
def test_the_direct_and_the_driver_bench_give_the_same_conductances_for_a_seed(tsp_link_node, wiring):
    direct = direct_simulated_bench(suite_config(seed=4), pulse_off_s=MIN_PULSE_WIDTH_S)
    direct_results = [r for r in tune_devices(direct, TARGETS, WIDE) if isinstance(r, Result)]
    in_process, lab = simulated_instrument_bench(
        suite_config(seed=4, wiring=wiring), tsp_link_node=tsp_link_node
    )
    driver_results = [r for r in tune_devices(in_process, TARGETS, WIDE) if isinstance(r, Result)]
    np.testing.assert_array_equal(
        lab.chip.arrays["A1"].conductance_s(), direct.chip.arrays["A1"].conductance_s()
    )
    assert lab.chip.now_s == direct.chip.now_s
    assert [r.values["pulses"] for r in driver_results] == [r.values["pulses"] for r in direct_results]


SUITE_FILE = """\
[bench]
name = "suite"
seed = 4
read_duration_s = 1e-4

[sample]
chip = "suite-chip"
preset = "tio2-passive-8x8"
overrides = { stuck_hrs_fraction = 0.0, stuck_lrs_fraction = 0.0 }
arrays = [{ name = "A1", rows = 4, cols = 4 }]

[safety]
max_positive_v = 2.0
max_negative_v = 2.4
max_read_v = 0.4
max_width_s = 1e-4
max_compliance_a = 1e-3
"""


def test_a_sim_server_process_gives_the_in_process_readings_for_a_seed(tmp_path):
    """With the test above (direct = in process, in conductances), this closes the chain to sim-server.

    Readings, not the chip, are compared here: the chip lives in the server process. (The direct bench
    reads the same conductances with the noise floor's sign flipped: its sense is not a bit-line SMU.)
    """
    bench_file = tmp_path / "suite.toml"
    bench_file.write_text(SUITE_FILE, encoding="utf-8")
    config = load_config(bench_file)
    assert config == suite_config(seed=4)  # the same bench as in the test above
    in_process, _ = simulated_instrument_bench(config)
    expected = [r.values for r in tune_devices(in_process, TARGETS, WIDE) if isinstance(r, Result)]
    command = [sys.executable, "-m", "labrram.cli", "sim-server", "--config", str(bench_file), "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        lines = [server.stdout.readline() for _ in range(4)]
        bench = connect_bench(config, dict(line.split() for line in lines[1:]), "@py", instrument_clock=True)
        measured = [r.values for r in tune_devices(bench, TARGETS, WIDE) if isinstance(r, Result)]
        bench.disconnect()
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert measured == expected  # every pulse count and every conductance read back, bit for bit


def test_the_instrument_path_is_reproducible_for_a_seed():
    def conductances() -> np.ndarray:
        bench, lab = simulated_instrument_bench(suite_config(seed=9))
        list(tune_devices(bench, TARGETS, WIDE))
        return lab.chip.arrays["A1"].conductance_s()

    np.testing.assert_array_equal(conductances(), conductances())


def test_an_instrument_error_mid_run_stops_with_outputs_off_and_the_matrix_open():
    bench, lab = simulated_instrument_bench(suite_config())
    bench.select(2, 2)
    emulator = lab.smus["smu1"]

    def refuse(*_: float) -> None:
        raise CommandError(-286, "TSP Runtime error at line 1: interlock open")

    emulator._pulse = refuse
    with pytest.raises(InstrumentError) as failure:
        bench.pulse(1.2, 1e-4)
    assert failure.value.instrument == "smu1"
    assert "pulse 1.2 V" in failure.value.command
    assert "-286" in failure.value.message and "interlock" in failure.value.message
    assert not lab.matrix.closed
    assert all(not smu.output and smu.level_v == 0 for e in lab.smus.values() for smu in e.smu.values())


def test_an_error_on_the_tsp_link_node_stops_the_run_with_every_output_off():
    bench, lab = simulated_instrument_bench(suite_config(), tsp_link_node=2)
    bench.select(2, 2)
    node = lab.smus["smu2"]
    original = node._set

    def refuse(smu, attribute: str, value: float) -> None:
        if attribute == "source.levelv" and value != 0.0:
            raise CommandError(-286, "TSP Runtime error at line 1: node 2 interlock open")
        original(smu, attribute, value)

    node._set = refuse
    with pytest.raises(InstrumentError) as failure:
        bench.pulse(1.2, 1e-4)
    assert failure.value.instrument == "smu1"  # the message went through the TSP-Link master
    assert "node 2 interlock" in failure.value.message
    assert not lab.matrix.closed
    assert all(not smu.output and smu.level_v == 0 for e in lab.smus.values() for smu in e.smu.values())
    assert not lab.smus["smu1"].errors  # read out of the master's queue into the InstrumentError


def test_a_timeout_becomes_an_instrument_error():
    bench, lab = simulated_instrument_bench(suite_config())
    bench.select(0, 1)
    emulator = lab.smus["smu1"]
    original = emulator.write

    def swallow(message: str) -> None:
        if ".measure.i(" not in message:
            original(message)

    emulator.write = swallow
    with pytest.raises(InstrumentError, match="VI_ERROR_TMO"):
        bench.read(0.2)
    assert not lab.matrix.closed


@pytest.mark.parametrize("make", ["direct", "instruments", "tsp-link"])
def test_a_read_beyond_the_fixed_current_range_stops_as_over_range(make):
    def bench_for(range_a: float):
        config = suite_config()
        config = type(config)(**{**config.__dict__, "read_current_range_a": range_a})
        if make == "direct":
            bench = direct_simulated_bench(config)
            return bench, lambda: bench.source_level_v == 0.0 and not bench.output_enabled
        bench, lab = simulated_instrument_bench(config, tsp_link_node=2 if make == "tsp-link" else None)
        smus = [smu for emulator in lab.smus.values() for smu in emulator.smu.values()]
        return bench, lambda: not lab.matrix.closed and all(not s.output and s.level_v == 0 for s in smus)

    bench, _ = bench_for(1e-3)  # ~100-400 uS at 0.2 V: 20-80 uA, within 1 mA
    bench.select(1, 1)
    assert 50e-6 < bench.read(0.2).conductance_s < 1e-3
    bench, outputs_safe = bench_for(1e-6)
    bench.select(1, 1)
    with pytest.raises(InstrumentError, match="over range"):
        bench.read(0.2)
    assert outputs_safe()


def test_too_short_a_read_for_the_smu_is_refused_at_construction():
    config = suite_config()
    short = type(config)(**{**config.__dict__, "read_duration_s": 1e-5})
    with pytest.raises(ValueError, match="read_duration_s"):
        simulated_instrument_bench(short)


def test_in_process_and_tcp_paths_give_the_same_conductances_for_a_seed():
    in_process, lab = simulated_instrument_bench(suite_config(seed=4))
    list(tune_devices(in_process, TARGETS, WIDE))
    expected = lab.chip.arrays["A1"].conductance_s()

    config = suite_config(seed=4)
    tcp_lab = simulated_lab(config)
    with InstrumentServer(tcp_lab.emulators()) as server:
        over_tcp = connect_bench(config, server.resources, "@py", instrument_clock=True)
        list(tune_devices(over_tcp, TARGETS, WIDE))
        over_tcp.disconnect()
    np.testing.assert_array_equal(tcp_lab.chip.arrays["A1"].conductance_s(), expected)
    assert tcp_lab.chip.now_s == lab.chip.now_s

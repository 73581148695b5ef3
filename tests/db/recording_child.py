"""A recording process for the crash and concurrency tests: ``python -m tests.db.recording_child``.

``tune URL DELAY_S``: records a tuning run over the 16 devices of the small bench, pausing DELAY_S after
each record (so a test can kill it mid-run). ``synthetic URL N``: records N pulses and N reads on 16
devices as fast as it can.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

from labrram.bench import DeviceAddress
from labrram.db import Recorder, open_database
from labrram.procedures.tuning import AlibartSettings, tune_devices
from labrram.records import Pulse, PulseKind, Read, Record, Result, RunStarted
from tests.db.helpers import small_bench, small_config, targets


def slow(records: Iterator[Record], delay_s: float) -> Iterator[Record]:
    for record in records:
        yield record
        time.sleep(delay_s)


def synthetic(count: int) -> Iterator[Record]:
    devices = [DeviceAddress("A1", r, c) for r in range(4) for c in range(4)]
    yield RunStarted("synthetic", {"count": count}, tuple(devices))
    for i in range(count):
        device = devices[i % len(devices)]
        yield Pulse(device, i * 1e-6, 1.0 + i * 1e-6, 2e-7, PulseKind.SET, None, 1e-4)
        yield Read(device, i * 1e-6 + 5e-7, 0.2, 4e-5, 2e-4 + i * 1e-12)
    for device in devices:
        yield Result(device, "tuning", {"target_s": 2e-4, "achieved_s": 2e-4, "pulses": 1, "success": True})


def main(mode: str, url: str, argument: str) -> None:
    engine = open_database(url)
    if mode == "tune":
        recorder = Recorder(engine, "db-bench", small_config().sample, batch_size=50)
        records = tune_devices(small_bench(), targets(), AlibartSettings(), seed=3)
        recorder.record(slow(records, float(argument)))
    else:
        recorder = Recorder(engine, "db-bench", small_config().sample, batch_size=250)
        recorder.record(synthetic(int(argument)))
    print(recorder.run_id)


if __name__ == "__main__":
    main(*sys.argv[1:4])

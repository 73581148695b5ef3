"""Resume continues a run honestly: a device counts as done only with its whole result, the simulated chip
continues where it was, and what cannot be continued (a retention test, a read-back) is refused."""

from __future__ import annotations

import pytest

import labrram.cli
from labrram.cli import main
from labrram.db import Selection, open_database, pulses, results, runs
from labrram.db.recorder import record_run
from tests.test_measure import bench_file


@pytest.fixture
def interrupt_after(monkeypatch):
    """Make the next `measure` stop with Ctrl-C after a number of records of its stream, or right after
    the first result of a kind."""

    def arm(count: int | None = None, after_kind: str | None = None) -> None:
        def interrupted(recorder, records, tee=None):
            def stream():
                for taken, record in enumerate(records):
                    if taken == count:
                        raise KeyboardInterrupt
                    yield record
                    if after_kind is not None and getattr(record, "kind", None) == after_kind:
                        raise KeyboardInterrupt

            monkeypatch.setattr(labrram.cli, "record_run", record_run)  # only this one run
            return record_run(recorder, stream(), tee)

        monkeypatch.setattr(labrram.cli, "record_run", interrupted)

    return arm


def measure(tmp_path, procedure: str, *more: str) -> int:
    database = f"sqlite:///{tmp_path / 'resume.db'}"
    config = str(bench_file(tmp_path))
    return main(["measure", procedure, "--config", config, "--database", database, "--quiet", *more])


def other_results(engine, kind: str):
    """Run 1's results of a kind kept as JSON values (the "other" table)."""
    other = results(engine, "other", Selection(runs=[1]))
    return other[other["kind"] == kind]


def stored(tmp_path):
    return open_database(f"sqlite:///{tmp_path / 'resume.db'}")


ENDURANCE = ["--devices", "A1:0:0-3", "--param=cycles=40", "--param=read_every=10", "--param=width_s=1e-6"]


def test_endurance_resumes_the_interrupted_device_from_its_first_cycle(tmp_path, interrupt_after, capsys):
    interrupt_after(150)  # partway through a device's cycles
    assert measure(tmp_path, "endurance", *ENDURANCE) == 130
    engine = stored(tmp_path)
    assert runs(engine)["status"].iloc[0] == "aborted"
    finished = set(other_results(engine, "endurance_end")["col"])
    assert set(pulses(engine)["col"]) - finished  # a device cycled but not to its end
    assert measure(tmp_path, "endurance", *ENDURANCE, "--resume", "1") == 0
    assert f"{len(finished)} devices already done" in capsys.readouterr().err
    ends = other_results(engine, "endurance_end")
    assert sorted(ends["col"]) == [0, 1, 2, 3]  # each device once
    checks = results(engine, "endurance", Selection(runs=[1])).groupby("col")["cycle"].max()
    for col, values in zip(ends["col"], ends["values"], strict=True):  # every device cycled to its end
        assert values["cycles"] == 40 or values["ended"] == "failed"
        assert checks[col] == values["cycles"]


IV = ["--devices", "A1:1:0-2", "--param=v_max=1.2", "--param=v_min=-1.2", "--param=step_v=0.1"]


def test_iv_keeps_a_device_done_only_with_its_whole_sweep(tmp_path, interrupt_after):
    interrupt_after(40)
    assert measure(tmp_path, "iv", *IV) == 130
    assert measure(tmp_path, "iv", *IV, "--resume", "1") == 0
    engine = stored(tmp_path)
    ends = other_results(engine, "iv_end")
    assert sorted(ends["col"]) == [0, 1, 2]
    points = results(engine, "iv", Selection(runs=[1])).sort_values("seq")
    voltages = {col: list(points[points["col"] == col]["voltage_v"]) for col in range(3)}
    whole = min(voltages.values(), key=len)  # a sweep measured in one go
    assert max(len(v) for v in voltages.values()) > len(whole)  # the interrupted device swept again
    for measured in voltages.values():  # every device ends with a whole sweep
        assert measured[-len(whole) :] == whole


def test_a_resume_continues_the_saved_chip_and_its_clock(tmp_path, interrupt_after, capsys):
    tuning = ["--devices", "A1:0-1:0-1", "--param=target_s=3e-4"]
    interrupt_after(60)
    assert measure(tmp_path, "tuning", *tuning) == 130
    before = pulses(stored(tmp_path))["t_s"].max()
    assert measure(tmp_path, "tuning", *tuning, "--resume", "1") == 0
    assert "simulated chip restored" in capsys.readouterr().err
    resumed = pulses(stored(tmp_path))
    assert resumed["t_s"].is_monotonic_increasing and resumed["t_s"].max() > before


PROGRAM = ["--devices", "A1:0-1:0-1", "--param=targets_low_s=1e-4"]


def test_array_programming_resumes_with_one_disturbance_figure_per_device(tmp_path, interrupt_after):
    interrupt_after(150)  # while programming
    assert measure(tmp_path, "program-array", *PROGRAM) == 130
    assert measure(tmp_path, "program-array", *PROGRAM, "--resume", "1") == 0
    engine = stored(tmp_path)
    assert len(results(engine, "tuning", Selection(runs=[1]))) == 4
    disturbance = other_results(engine, "disturbance")
    assert len(disturbance) == 4 and not disturbance.duplicated(["row", "col"]).any()


@pytest.mark.parametrize(
    ("procedure", "more", "after", "refusal"),
    [
        ("retention", ["--devices", "A1:0:0-1", "--param=points=3"], 8, "cannot resume"),
        ("iv", IV, 40, "other parameters"),
        ("program-array", PROGRAM, "disturbance", "read-back"),
    ],
)
def test_what_cannot_be_continued_honestly_is_refused(
    tmp_path, interrupt_after, capsys, procedure, more, after, refusal
):
    interrupt_after(**({"after_kind": after} if isinstance(after, str) else {"count": after}))
    assert measure(tmp_path, procedure, *more) == 130
    changed = [*more, "--param=read_voltage_v=0.15"] if refusal == "other parameters" else more
    assert measure(tmp_path, procedure, *changed, "--resume", "1") == 2
    assert refusal in capsys.readouterr().err
    assert runs(stored(tmp_path))["status"].iloc[0] == "aborted"  # left as it was


def test_a_run_of_another_procedure_is_not_resumed(tmp_path, interrupt_after, capsys):
    interrupt_after(40)
    assert measure(tmp_path, "iv", *IV) == 130
    assert measure(tmp_path, "endurance", *ENDURANCE, "--resume", "1") == 2
    assert "is a iv run, not endurance" in capsys.readouterr().err

"""The Recorder: writes a procedure's record stream into the database, in batches, one transaction each.

A run row is committed as soon as the stream starts, with status ``running``; pulses, reads and results
then go in batches (COPY on PostgreSQL for the two big tables, executemany elsewhere), each batch in its
own transaction together with the run's heartbeat. A crash therefore loses at most the batch in flight
and leaves the run ``running`` with a stale heartbeat: `stale_runs` finds it and `Recorder.resume`
continues it, numbering new records after the last committed one so nothing is written twice.
"""

from __future__ import annotations

import logging
import math
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, func, insert, select, union_all, update
from sqlalchemy.exc import IntegrityError, OperationalError

import labrram
from labrram.bench.base import ArrayGeometry, DeviceAddress
from labrram.db import registry
from labrram.db.models import (
    Array,
    Device,
    EnduranceCycle,
    IVPoint,
    ProcedureResult,
    ProgrammedLevel,
    PulseRecord,
    ReadRecord,
    RetentionPoint,
    Run,
    TuningResult,
)
from labrram.errors import DatabaseError, RecordConflictError
from labrram.records import (
    DeviceTrace,
    Pulse,
    PulseBlock,
    PulseKind,
    Read,
    ReadBlock,
    Record,
    Result,
    RunFinished,
    RunStarted,
    RunStatus,
)

T = TypeVar("T")
logger = logging.getLogger(__name__)


class SampleIdentity(Protocol):
    """What the Recorder files records under: a chip name, its technology and its arrays."""

    @property
    def chip(self) -> str: ...

    @property
    def technology(self) -> str | None: ...

    @property
    def arrays(self) -> tuple[ArrayGeometry, ...]: ...


PULSE_COLUMNS = (
    "run_id",
    "device_id",
    "seq",
    "t_s",
    "amplitude_v",
    "width_s",
    "kind",
    "compliance_a",
    "current_a",
)
READ_COLUMNS = ("run_id", "device_id", "seq", "t_s", "voltage_v", "current_a", "conductance_s")

# Result kinds with a table of their own: (model, typed columns taken from the values).
RESULT_TABLES: dict[str, tuple[type, tuple[str, ...]]] = {
    "tuning": (TuningResult, ("target_s", "achieved_s", "pulses", "success")),
    "level": (ProgrammedLevel, ("level", "target_s", "achieved_s", "iterations", "energy_j", "success")),
    "retention": (RetentionPoint, ("elapsed_s", "conductance_s", "temperature_c")),
    "iv": (IVPoint, ("sweep", "voltage_v", "current_a")),
    "endurance": (EnduranceCycle, ("cycle", "set_conductance_s", "reset_conductance_s")),
}
RESULT_MODELS = (ProcedureResult, *(m for m, _ in RESULT_TABLES.values()))
RECORD_MODELS = (PulseRecord, ReadRecord, *RESULT_MODELS)

MAX_RETRIES = 8
STALE_AFTER_S = 300.0  # a run whose heartbeat is older than this has lost its recorder
FLUSH_AFTER_S = 2.0  # a record waits at most this long (wall clock) before it is committed
HEARTBEAT_S = 30.0  # a live run's heartbeat is renewed this often, records or not
_STORED = (Pulse, Read, Result, ReadBlock, PulseBlock, DeviceTrace)
Stored = Pulse | Read | Result | ReadBlock | PulseBlock | DeviceTrace


def _rows(record: Stored) -> int:
    """How many stored rows (and sequence numbers) a record takes: a block one per device, a trace one
    per read or pulse."""
    return len(record) if isinstance(record, ReadBlock | PulseBlock | DeviceTrace) else 1


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumed run continues: its id, the next sequence number, the devices already done."""

    run_id: int
    next_seq: int
    completed: frozenset[DeviceAddress]


def _now() -> datetime:
    return datetime.now(UTC)


def _age_s(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (_now() - moment).total_seconds()


def _alive(run: Any) -> bool:
    """Whether a run's recorder still works on it: a fresh heartbeat, or its process alive here."""
    if _age_s(run["heartbeat_at"]) < STALE_AFTER_S:
        if run["host"] != socket.gethostname():
            return True
        if int(run["pid"]) == os.getpid():
            return False  # left running by this process: no recorder of ours holds it any more
        try:
            os.kill(int(run["pid"]), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return False


def _retrying(operation: Callable[[], T]) -> T:
    """Run a transaction, retrying with backoff while SQLite reports the database busy or locked."""
    for attempt in range(MAX_RETRIES):
        try:
            return operation()
        except OperationalError as error:
            message = str(error.orig).lower()
            if ("locked" not in message and "busy" not in message) or attempt == MAX_RETRIES - 1:
                raise
            time.sleep(0.01 * 2**attempt * (1 + random.random()))
    raise AssertionError("unreachable")


class Recorder:
    """Consume records into the database; one Recorder records one run at a time."""

    def __init__(
        self,
        engine: Engine,
        bench_name: str,
        sample: SampleIdentity,
        operator: str | None = None,
        batch_size: int = 5000,
        flush_after_s: float = FLUSH_AFTER_S,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if not flush_after_s > 0:
            raise ValueError("flush_after_s must be > 0")
        self.engine = engine
        self.bench_name = bench_name
        self.sample = sample
        self.operator = operator
        self.batch_size = batch_size
        self.flush_after_s = flush_after_s
        self._oldest_pending_at = 0.0  # time.monotonic() when the oldest pending record arrived
        self.run_id: int | None = None
        self._sample_id: int | None = None
        self._procedure: str | None = None
        self._next_seq = 0
        self._devices: dict[DeviceAddress, int] = {}
        self._arrays: dict[str, int] = {}
        self._pending: list[Stored] = []
        self._pending_rows = 0
        self._finished: RunFinished | None = None
        self._heartbeat: threading.Event | None = None
        self._in_flight: tuple[int, int] | None = None  # (first seq, count) of a flush not yet settled

    # -- the stream ------------------------------------------------------------------------
    def record(self, records: Iterable[Record]) -> int:
        """Consume a whole stream and mark how the run ended; return the run id.

        Ctrl-C marks the run aborted and any other exception failed; both are re-raised after every
        record taken so far is committed.
        """
        try:
            for record in records:
                self.write(record)
        except KeyboardInterrupt as interrupt:  # Ctrl-C, or a signal taken as one (labrram.signals)
            self.finish(RunStatus.ABORTED, str(interrupt) or "interrupted by the operator")
            raise
        except BaseException as error:
            self.finish(RunStatus.FAILED, f"{type(error).__name__}: {error}")
            raise
        finished = self._finished or RunFinished(RunStatus.COMPLETED)
        self.finish(finished.status, finished.message)
        assert self.run_id is not None
        return self.run_id

    def write(self, record: Record) -> None:
        """Take one record; pulses, reads and results are committed a batch at a time, a batch being
        ``batch_size`` records or what ``flush_after_s`` seconds brought (a killed process loses no more)."""
        if isinstance(record, _STORED):
            if self.run_id is None:
                raise DatabaseError("a record arrived before RunStarted: the run is unknown")
            now = time.monotonic()
            if not self._pending:
                self._oldest_pending_at = now
            self._pending.append(record)
            self._pending_rows += _rows(record)
            if self._pending_rows >= self.batch_size or now - self._oldest_pending_at >= self.flush_after_s:
                self.flush()
        elif isinstance(record, RunStarted):
            self._start(record)
        elif isinstance(record, RunFinished):
            self._finished = record

    def flush(self) -> None:
        """Commit the pending records in one transaction (with the run's heartbeat).

        The records leave the pending list only once committed: a failure, or Ctrl-C, during the write
        leaves them there for the next flush (`finish` makes one).
        """
        if not self._pending:
            return
        batch = list(self._pending)
        rows = sum(_rows(record) for record in batch)
        first_seq = self._next_seq
        retry = self._in_flight == (first_seq, rows)
        self._in_flight = (first_seq, rows)
        try:
            _retrying(lambda: self._write_batch(batch, first_seq))
        except RecordConflictError:
            # A retry of an interrupted flush whose commit went through: nothing is missing.
            if not (retry and self._stored(first_seq, rows)):
                raise
        self._next_seq = first_seq + rows
        del self._pending[: len(batch)]
        self._pending_rows -= rows
        self._in_flight = None

    def finish(self, status: RunStatus, message: str = "") -> None:
        """Commit what is pending and mark the run ended."""
        if self.run_id is None:
            return
        self._stop_heartbeat()
        self.flush()
        values = {"status": str(status), "message": message or None, "ended_at": _now()}
        _retrying(lambda: self._update_run(values))

    def _stored(self, first_seq: int, count: int) -> bool:
        """Whether every record numbered first_seq .. first_seq + count - 1 of the run is in the database."""
        with self.engine.connect() as connection:
            seqs = union_all(
                *(
                    select(m.seq).where(
                        m.run_id == self.run_id, m.seq >= first_seq, m.seq < first_seq + count
                    )
                    for m in RECORD_MODELS
                )
            ).subquery()
            return connection.scalar(select(func.count()).select_from(seqs)) == count

    def _start_heartbeat(self) -> None:
        """Renew the run's heartbeat every HEARTBEAT_S seconds while it lives, records or not (a long
        retention wait writes nothing, but its run is not stale)."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(HEARTBEAT_S):
                try:
                    _retrying(lambda: self._update_run({}))
                except Exception:
                    logger.warning("run %s: heartbeat not written", self.run_id, exc_info=True)

        threading.Thread(target=beat, name=f"labrram-heartbeat-{self.run_id}", daemon=True).start()
        self._heartbeat = stop

    def _stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.set()
            self._heartbeat = None

    # -- run lifecycle ---------------------------------------------------------------------
    def _start(self, started: RunStarted) -> None:
        if self.run_id is not None:
            if started.procedure != self._procedure:
                raise DatabaseError(
                    f"run {self.run_id} is a {self._procedure!r} run; cannot continue it with "
                    f"{started.procedure!r}"
                )
            return
        self.run_id = _retrying(lambda: self._create_run(started))
        self._procedure = started.procedure
        self._start_heartbeat()

    def _create_run(self, started: RunStarted) -> int:
        with self.engine.begin() as connection:
            self._register(connection)
            now = _now()
            run_id = connection.scalar(
                insert(Run)
                .values(
                    procedure=started.procedure,
                    parameters=_jsonable(started.parameters),
                    bench_id=registry.bench_id(connection, self.bench_name),
                    sample_id=self._sample_id,
                    operator=self.operator,
                    status="running",
                    started_at=now,
                    heartbeat_at=now,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    labrram_version=labrram.__version__,
                    seed=started.seed,
                )
                .returning(Run.id)
            )
            self._devices.update(registry.device_ids(connection, self._arrays, started.devices))
        return run_id

    def _register(self, connection: Connection) -> None:
        self._sample_id = registry.sample_id(connection, self.sample.chip, self.sample.technology)
        self._arrays = registry.array_ids(connection, self._sample_id, self.sample.arrays)

    def resume(
        self, run_id: int, concluding: str | None = None, parameters: dict[str, Any] | None = None
    ) -> ResumePoint:
        """Continue a run that did not complete (stale, aborted or failed).

        Done devices are those with a ``concluding`` result (any result when None). A run still live (its
        recorder's heartbeat fresh, or its process alive on this host) is refused, and so is a resume
        whose ``parameters`` differ from the stored run's.
        """
        with self.engine.begin() as connection:
            run = connection.execute(select(Run).where(Run.id == run_id)).mappings().one_or_none()
            if run is None:
                raise DatabaseError(f"there is no run {run_id}")
            if run["status"] == "completed":
                raise DatabaseError(f"run {run_id} completed; there is nothing to resume")
            if run["status"] == "running" and _alive(run):
                raise DatabaseError(
                    f"run {run_id} is live (process {run['pid']} on {run['host']}, heartbeat "
                    f"{_age_s(run['heartbeat_at']):.0f} s ago): it cannot be taken over"
                )
            if parameters is not None and _jsonable(parameters) != run["parameters"]:
                raise DatabaseError(
                    f"run {run_id} was started with other parameters: resume it with the same ones "
                    "(see labrram db show)"
                )
            self._register(connection)
            if run["sample_id"] != self._sample_id:
                raise DatabaseError(f"run {run_id} was recorded on another sample")
            connection.execute(
                update(Run)
                .where(Run.id == run_id)
                .values(
                    status="running",
                    ended_at=None,
                    message=None,
                    heartbeat_at=_now(),
                    host=socket.gethostname(),
                    pid=os.getpid(),
                )
            )
            seqs = union_all(*(select(m.seq).where(m.run_id == run_id) for m in RECORD_MODELS)).subquery()
            last = connection.scalar(select(func.max(seqs.c.seq)))
            completed = self._completed_devices(connection, run_id, concluding)
        self.run_id, self._procedure = run_id, run["procedure"]
        self._next_seq = 0 if last is None else last + 1
        self._start_heartbeat()
        return ResumePoint(run_id, self._next_seq, completed)

    def _completed_devices(
        self, connection: Connection, run_id: int, concluding: str | None
    ) -> frozenset[DeviceAddress]:
        """Devices with a concluding result in the run (any result when ``concluding`` is None)."""
        if concluding is None:
            done = union_all(
                *(select(m.device_id).where(m.run_id == run_id) for m in RESULT_MODELS)
            ).subquery()
        elif concluding in RESULT_TABLES:
            model = RESULT_TABLES[concluding][0]
            done = select(model.device_id).where(model.run_id == run_id).subquery()
        else:
            done = (
                select(ProcedureResult.device_id)
                .where(ProcedureResult.run_id == run_id, ProcedureResult.kind == concluding)
                .subquery()
            )
        rows = connection.execute(
            select(Array.name, Device.row, Device.col)
            .join(Device, Device.array_id == Array.id)
            .where(Device.id.in_(select(done.c.device_id)))
        )
        return frozenset(DeviceAddress(name, row, col) for name, row, col in rows.all())

    # -- batches -----------------------------------------------------------------------------
    def _write_batch(self, batch: list[Stored], first_seq: int) -> None:
        with self.engine.begin() as connection:
            devices = self._devices
            named = {r.device for r in batch if not isinstance(r, ReadBlock | PulseBlock)}
            for block in (r for r in batch if isinstance(r, ReadBlock | PulseBlock)):
                named.update(block.devices)
            missing = named - devices.keys()
            if missing:
                devices.update(registry.device_ids(connection, self._arrays, missing))
            run_id = self.run_id
            pulses, reads, results = [], [], []
            seq = first_seq
            for record in batch:
                kind = type(record)
                if kind is ReadBlock or kind is PulseBlock:
                    _block_rows(record, run_id, [devices[d] for d in record.devices], seq, pulses, reads)
                    seq += len(record)
                    continue
                if kind is DeviceTrace:
                    _trace_rows(record, run_id, devices[record.device], seq, pulses, reads)
                    seq += len(record)
                    continue
                this_seq, seq = seq, seq + 1
                if kind is Pulse:
                    pulses.append(
                        (
                            run_id,
                            devices[record.device],
                            this_seq,
                            record.t_s,
                            record.amplitude_v,
                            record.width_s,
                            record.kind.value,
                            record.compliance_a,
                            record.current_a,
                        )
                    )
                elif kind is Read:
                    reads.append(
                        (
                            run_id,
                            devices[record.device],
                            this_seq,
                            record.t_s,
                            record.voltage_v,
                            record.current_a,
                            record.conductance_s,
                        )
                    )
                else:
                    results.append((devices[record.device], this_seq, record))
            try:
                _bulk_insert(connection, "pulse", PULSE_COLUMNS, pulses)
                _bulk_insert(connection, "read", READ_COLUMNS, reads)
                self._insert_results(connection, results)
            except (IntegrityError, connection.dialect.dbapi.IntegrityError) as error:
                raise RecordConflictError(_conflict_message(error)) from None
            connection.execute(update(Run).where(Run.id == self.run_id).values(heartbeat_at=_now()))

    def _insert_results(self, connection: Connection, results: list[tuple[int, int, Result]]) -> None:
        by_model: dict[type, list[dict[str, Any]]] = {}
        for device, seq, result in results:
            model, columns = RESULT_TABLES.get(result.kind, (ProcedureResult, ()))
            row: dict[str, Any] = {"run_id": self.run_id, "device_id": device, "seq": seq}
            if model is ProcedureResult:
                row.update(kind=result.kind, values=_jsonable(result.values))
            else:
                missing = [c for c in columns if c not in result.values and c not in _OPTIONAL]
                if missing:
                    raise DatabaseError(f"a {result.kind!r} result lacks {', '.join(missing)}")
                row.update({c: _plain(result.values.get(c)) for c in columns})
                row["extra"] = _jsonable({k: v for k, v in result.values.items() if k not in columns})
            by_model.setdefault(model, []).append(row)
        for model, rows in by_model.items():
            connection.execute(insert(model), rows)

    def _update_run(self, values: dict[str, Any]) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(Run).where(Run.id == self.run_id).values(heartbeat_at=_now(), **values))


_OPTIONAL = frozenset({"energy_j", "temperature_c"})


def _block_rows(
    block: ReadBlock | PulseBlock,
    run_id: int,
    device_ids: list[int],
    first_seq: int,
    pulses: list,
    reads: list,
) -> None:
    """A block's rows, one per device with consecutive sequence numbers, built from its arrays."""
    seqs = range(first_seq, first_seq + len(block))
    currents = block.currents_a.tolist()
    if isinstance(block, ReadBlock):
        volts = block.voltage_v
        reads.extend(
            (run_id, device, seq, block.t_s, volts, current, current / volts)
            for device, seq, current in zip(device_ids, seqs, currents, strict=True)
        )
        return
    amplitudes = block.amplitudes_v.tolist()
    kinds = [PulseKind.SET.value if a > 0 else PulseKind.RESET.value for a in amplitudes]
    pulses.extend(
        (run_id, device, seq, block.t_s, amplitude, block.width_s, kind, block.compliance_a, current)
        for device, seq, amplitude, kind, current in zip(
            device_ids, seqs, amplitudes, kinds, currents, strict=True
        )
    )


def _trace_rows(
    trace: DeviceTrace, run_id: int, device_id: int, first_seq: int, pulses: list, reads: list
) -> None:
    """A trace's rows, one per read or pulse with consecutive sequence numbers, built from its arrays."""
    columns = (trace.kind.tolist(), trace.t_s.tolist(), trace.voltage_v.tolist(), trace.current_a.tolist())
    width_s, compliance_a = trace.width_s, trace.compliance_a
    set_kind, reset_kind = PulseKind.SET.value, PulseKind.RESET.value
    for seq, (kind, t_s, voltage_v, current_a) in enumerate(zip(*columns, strict=True), start=first_seq):
        if kind == 0:
            reads.append((run_id, device_id, seq, t_s, voltage_v, current_a, current_a / voltage_v))
        else:
            pulse_kind = set_kind if kind > 0 else reset_kind
            pulses.append(
                (run_id, device_id, seq, t_s, voltage_v, width_s, pulse_kind, compliance_a, current_a)
            )


def _bulk_insert(connection: Connection, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert rows as fast as the driver allows: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        return
    placeholders = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(f'INSERT INTO "{table}" ({names}) VALUES ({placeholders})', rows)


def _conflict_message(error: Exception) -> str:
    detail = str(getattr(error, "orig", error)).strip().splitlines()[0]
    return (
        f"the database refused the batch ({detail}); nothing of it was written. A unique-key conflict "
        "on (run_id, seq) means these records were already recorded"
    )


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers."""
    return value.item() if hasattr(value, "item") and callable(value.item) else value


def _jsonable(value: Any) -> Any:
    """Values as strict JSON can hold them: lists for tuples, null for NaN and infinities."""
    if isinstance(value, DeviceAddress):
        return {"array": value.array, "row": value.row, "col": value.col}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    value = _plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def record_run(
    recorder: Recorder, records: Iterable[Record], tee: Callable[[Record], None] | None = None
) -> int:
    """Record a stream, also handing every record to ``tee`` (a progress bar, a live plot)."""
    return recorder.record(_teed(records, tee) if tee else records)


def _teed(records: Iterable[Record], tee: Callable[[Record], None]) -> Iterator[Record]:
    for record in records:
        tee(record)
        yield record

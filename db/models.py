"""SQLAlchemy 2.0 models of the device database.

Sample hierarchy (wafer or chip -> array -> device), bench and instruments, runs, the high-volume pulse
and read tables, and one table per kind of procedure conclusion. Every record of a run carries the run's
sequence number ``seq`` (unique per run and table), which orders the stream and makes resumed writes
idempotent. Units are SI and named in the column.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite auto-increments only INTEGER PRIMARY KEY; PostgreSQL gets 64-bit keys for the big tables.
BigId = BigInteger().with_variant(Integer(), "sqlite")

RUN_STATUSES = ("running", "completed", "aborted", "failed")
ARRAY_KINDS = ("1T1R", "0T1R", "2T2R")
PULSE_KINDS = ("SET", "RESET", "FORM", "READ")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {dict[str, Any]: JSON}


class Sample(Base):
    """A wafer, or a chip (optionally cut from a wafer)."""

    __tablename__ = "sample"
    __table_args__ = (CheckConstraint("kind IN ('wafer', 'chip')", name="sample_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("sample.id"))
    technology: Mapped[str | None] = mapped_column(String(100))


class Array(Base):
    """An array of devices on a chip, with its geometry and access kind."""

    __tablename__ = "array"
    __table_args__ = (
        UniqueConstraint("sample_id", "name", name="array_name_per_sample"),
        CheckConstraint(f"kind IN {ARRAY_KINDS}", name="array_kind"),
        CheckConstraint("rows > 0 AND cols > 0", name="array_geometry"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("sample.id"))
    name: Mapped[str] = mapped_column(String(100))
    rows: Mapped[int]
    cols: Mapped[int]
    kind: Mapped[str] = mapped_column(String(8))


class Device(Base):
    """One device of an array, at (row, col) counted from 0."""

    __tablename__ = "device"
    __table_args__ = (UniqueConstraint("array_id", "row", "col", name="device_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    array_id: Mapped[int] = mapped_column(ForeignKey("array.id"))
    row: Mapped[int]
    col: Mapped[int]


class Bench(Base):
    """A measurement bench (a probe station with its instruments), or a simulated one."""

    __tablename__ = "bench"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Instrument(Base):
    """An instrument of a bench: driver, VISA resource and the identity it reported."""

    __tablename__ = "instrument"
    __table_args__ = (UniqueConstraint("bench_id", "name", name="instrument_name_per_bench"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bench_id: Mapped[int] = mapped_column(ForeignKey("bench.id"))
    name: Mapped[str] = mapped_column(String(100))
    driver: Mapped[str] = mapped_column(String(100))
    resource: Mapped[str] = mapped_column(String(300))
    idn: Mapped[str | None] = mapped_column(String(300))


class Run(Base):
    """One execution of a procedure; ``running`` until the recorder marks how it ended."""

    __tablename__ = "run"
    __table_args__ = (
        CheckConstraint(f"status IN {RUN_STATUSES}", name="run_status"),
        Index("run_status_idx", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure: Mapped[str] = mapped_column(String(100))
    parameters: Mapped[dict[str, Any]]
    bench_id: Mapped[int | None] = mapped_column(ForeignKey("bench.id"))
    sample_id: Mapped[int] = mapped_column(ForeignKey("sample.id"))
    operator: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(12))
    message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int]
    labrram_version: Mapped[str] = mapped_column(String(40))
    seed: Mapped[int | None] = mapped_column(BigInteger)


class RunRecord:
    """Columns every record table shares: the run, the device and the run's sequence number."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    seq: Mapped[int] = mapped_column(BigInteger)


class PulseRecord(RunRecord, Base):
    """One applied pulse."""

    __tablename__ = "pulse"
    __table_args__ = (
        UniqueConstraint("run_id", "seq", name="pulse_run_seq"),
        CheckConstraint(f"kind IN {PULSE_KINDS}", name="pulse_kind"),
        Index("pulse_device_kind_idx", "device_id", "kind"),
    )

    t_s: Mapped[float] = mapped_column(Float)
    amplitude_v: Mapped[float] = mapped_column(Float)
    width_s: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(8))
    compliance_a: Mapped[float | None] = mapped_column(Float)
    current_a: Mapped[float | None] = mapped_column(Float)


class ReadRecord(RunRecord, Base):
    """One read: voltage, measured current and the conductance I / V."""

    __tablename__ = "read"
    __table_args__ = (
        UniqueConstraint("run_id", "seq", name="read_run_seq"),
        Index("read_device_idx", "device_id"),
    )

    t_s: Mapped[float] = mapped_column(Float)
    voltage_v: Mapped[float] = mapped_column(Float)
    current_a: Mapped[float] = mapped_column(Float)
    conductance_s: Mapped[float] = mapped_column(Float)


class TuningResult(RunRecord, Base):
    """What a tuning concluded for one device."""

    __tablename__ = "tuning_result"
    __table_args__ = (
        UniqueConstraint("run_id", "seq", name="tuning_result_run_seq"),
        Index("tuning_result_device_idx", "device_id"),
    )

    target_s: Mapped[float] = mapped_column(Float)
    achieved_s: Mapped[float] = mapped_column(Float)
    pulses: Mapped[int]
    success: Mapped[bool]
    extra: Mapped[dict[str, Any]]


class ProgrammedLevel(RunRecord, Base):
    """A device programmed to one of K levels: iterations and energy spent."""

    __tablename__ = "programmed_level"
    __table_args__ = (
        UniqueConstraint("run_id", "seq", name="programmed_level_run_seq"),
        Index("programmed_level_device_idx", "device_id"),
    )

    level: Mapped[int]
    target_s: Mapped[float] = mapped_column(Float)
    achieved_s: Mapped[float] = mapped_column(Float)
    iterations: Mapped[int]
    energy_j: Mapped[float | None] = mapped_column(Float)
    success: Mapped[bool]
    extra: Mapped[dict[str, Any]]


class RetentionPoint(RunRecord, Base):
    """A retention read: time since programming and the conductance then."""

    __tablename__ = "retention_point"
    __table_args__ = (
        UniqueConstraint("run_id", "seq", name="retention_point_run_seq"),
        Index("retention_point_device_idx", "device_id"),
    )

    elapsed_s: Mapped[float] = mapped_column(Float)
    conductance_s: Mapped[float] = mapped_column(Float)
    temperature_c: Mapped[float | None] = mapped_column(Float)
    extra: Mapped[dict[str, Any]]


class IVPoint(RunRecord, Base):
    """One point of an IV sweep."""

    __tablename__ = "iv_point"
    __table_args__ = (
        UniqueConstraint("run_id", "seq", name="iv_point_run_seq"),
        Index("iv_point_device_idx", "device_id"),
    )

    sweep: Mapped[int]
    voltage_v: Mapped[float] = mapped_column(Float)
    current_a: Mapped[float] = mapped_column(Float)
    extra: Mapped[dict[str, Any]]


class EnduranceCycle(RunRecord, Base):
    """Conductances after the SET and the RESET of one endurance cycle."""

    __tablename__ = "endurance_cycle"
    __table_args__ = (
        UniqueConstraint("run_id", "seq", name="endurance_cycle_run_seq"),
        Index("endurance_cycle_device_idx", "device_id"),
    )

    cycle: Mapped[int] = mapped_column(BigInteger)
    set_conductance_s: Mapped[float] = mapped_column(Float)
    reset_conductance_s: Mapped[float] = mapped_column(Float)
    extra: Mapped[dict[str, Any]]


class ProcedureResult(RunRecord, Base):
    """Any other conclusion of a procedure (forming, disturbance, ...), its values as JSON."""

    __tablename__ = "result"
    __table_args__ = (
        UniqueConstraint("run_id", "seq", name="result_run_seq"),
        Index("result_device_kind_idx", "device_id", "kind"),
    )

    kind: Mapped[str] = mapped_column(String(40))
    values: Mapped[dict[str, Any]]


class DeviceModelRecord(Base):
    """A device model file the analysis wrote, with what it was fitted from (its provenance)."""

    __tablename__ = "device_model"
    __table_args__ = (UniqueConstraint("file_sha256", "path", name="device_model_file"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(String(64))
    format_version: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    labrram_version: Mapped[str] = mapped_column(String(40))
    selection: Mapped[dict[str, Any]]
    runs: Mapped[dict[str, Any]]  # {"all": [...], per component: [...]}
    devices: Mapped[int]
    summary: Mapped[dict[str, Any]]

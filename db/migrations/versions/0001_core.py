"""Samples, arrays, devices, benches, instruments, runs, pulses and reads.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bench",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "sample",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("technology", sa.String(length=100), nullable=True),
        sa.CheckConstraint("kind IN ('wafer', 'chip')", name="sample_kind"),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["sample.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "array",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("cols", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.CheckConstraint("kind IN ('1T1R', '0T1R', '2T2R')", name="array_kind"),
        sa.CheckConstraint("rows > 0 AND cols > 0", name="array_geometry"),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            ["sample.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sample_id", "name", name="array_name_per_sample"),
    )
    op.create_table(
        "instrument",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bench_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("driver", sa.String(length=100), nullable=False),
        sa.Column("resource", sa.String(length=300), nullable=False),
        sa.Column("idn", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["bench_id"],
            ["bench.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bench_id", "name", name="instrument_name_per_bench"),
    )
    op.create_table(
        "run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("procedure", sa.String(length=100), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("bench_id", sa.Integer(), nullable=True),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("operator", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("labrram_version", sa.String(length=40), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("status IN ('running', 'completed', 'aborted', 'failed')", name="run_status"),
        sa.ForeignKeyConstraint(
            ["bench_id"],
            ["bench.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            ["sample.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.create_index("run_status_idx", ["status"], unique=False)
    op.create_table(
        "device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("array_id", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("col", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["array_id"],
            ["array.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("array_id", "row", "col", name="device_position"),
    )
    op.create_table(
        "pulse",
        sa.Column("t_s", sa.Float(), nullable=False),
        sa.Column("amplitude_v", sa.Float(), nullable=False),
        sa.Column("width_s", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("compliance_a", sa.Float(), nullable=True),
        sa.Column("current_a", sa.Float(), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("kind IN ('SET', 'RESET', 'FORM', 'READ')", name="pulse_kind"),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["run.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "seq", name="pulse_run_seq"),
    )
    with op.batch_alter_table("pulse", schema=None) as batch_op:
        batch_op.create_index("pulse_device_kind_idx", ["device_id", "kind"], unique=False)
    op.create_table(
        "read",
        sa.Column("t_s", sa.Float(), nullable=False),
        sa.Column("voltage_v", sa.Float(), nullable=False),
        sa.Column("current_a", sa.Float(), nullable=False),
        sa.Column("conductance_s", sa.Float(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["run.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "seq", name="read_run_seq"),
    )
    with op.batch_alter_table("read", schema=None) as batch_op:
        batch_op.create_index("read_device_idx", ["device_id"], unique=False)


def downgrade() -> None:
    op.drop_table("read")
    op.drop_table("pulse")
    op.drop_table("device")
    op.drop_table("run")
    op.drop_table("instrument")
    op.drop_table("array")
    op.drop_table("sample")
    op.drop_table("bench")

"""Result tables: tuning, programmed levels, retention, IV points, endurance cycles, others.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "endurance_cycle",
        sa.Column("cycle", sa.BigInteger(), nullable=False),
        sa.Column("set_conductance_s", sa.Float(), nullable=False),
        sa.Column("reset_conductance_s", sa.Float(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
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
        sa.UniqueConstraint("run_id", "seq", name="endurance_cycle_run_seq"),
    )
    with op.batch_alter_table("endurance_cycle", schema=None) as batch_op:
        batch_op.create_index("endurance_cycle_device_idx", ["device_id"], unique=False)
    op.create_table(
        "iv_point",
        sa.Column("sweep", sa.Integer(), nullable=False),
        sa.Column("voltage_v", sa.Float(), nullable=False),
        sa.Column("current_a", sa.Float(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
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
        sa.UniqueConstraint("run_id", "seq", name="iv_point_run_seq"),
    )
    with op.batch_alter_table("iv_point", schema=None) as batch_op:
        batch_op.create_index("iv_point_device_idx", ["device_id"], unique=False)
    op.create_table(
        "programmed_level",
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("target_s", sa.Float(), nullable=False),
        sa.Column("achieved_s", sa.Float(), nullable=False),
        sa.Column("iterations", sa.Integer(), nullable=False),
        sa.Column("energy_j", sa.Float(), nullable=True),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
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
        sa.UniqueConstraint("run_id", "seq", name="programmed_level_run_seq"),
    )
    with op.batch_alter_table("programmed_level", schema=None) as batch_op:
        batch_op.create_index("programmed_level_device_idx", ["device_id"], unique=False)
    op.create_table(
        "result",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
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
        sa.UniqueConstraint("run_id", "seq", name="result_run_seq"),
    )
    with op.batch_alter_table("result", schema=None) as batch_op:
        batch_op.create_index("result_device_kind_idx", ["device_id", "kind"], unique=False)
    op.create_table(
        "retention_point",
        sa.Column("elapsed_s", sa.Float(), nullable=False),
        sa.Column("conductance_s", sa.Float(), nullable=False),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
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
        sa.UniqueConstraint("run_id", "seq", name="retention_point_run_seq"),
    )
    with op.batch_alter_table("retention_point", schema=None) as batch_op:
        batch_op.create_index("retention_point_device_idx", ["device_id"], unique=False)
    op.create_table(
        "tuning_result",
        sa.Column("target_s", sa.Float(), nullable=False),
        sa.Column("achieved_s", sa.Float(), nullable=False),
        sa.Column("pulses", sa.Integer(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
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
        sa.UniqueConstraint("run_id", "seq", name="tuning_result_run_seq"),
    )
    with op.batch_alter_table("tuning_result", schema=None) as batch_op:
        batch_op.create_index("tuning_result_device_idx", ["device_id"], unique=False)


def downgrade() -> None:
    op.drop_table("tuning_result")
    op.drop_table("retention_point")
    op.drop_table("result")
    op.drop_table("programmed_level")
    op.drop_table("iv_point")
    op.drop_table("endurance_cycle")

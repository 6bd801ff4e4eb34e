"""results export jobs: long exports built in the background, their state and sealed file

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "results_export_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("mimetype", sa.String(length=100), nullable=True),
        sa.Column("name", sa.String(length=32), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["file_id"], ["stored_file.id"]),
        sa.ForeignKeyConstraint(["requested_by"], ["user_account.id"]),
        sa.ForeignKeyConstraint(["wave_id"], ["survey_wave.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("results_export_job", schema=None) as batch_op:
        batch_op.create_index("ix_results_export_job_wave_id", ["wave_id"], unique=False)
        batch_op.create_index(
            "ix_results_export_job_requested_by", ["requested_by"], unique=False
        )
        batch_op.create_index("ix_results_export_job_state", ["state"], unique=False)


def downgrade() -> None:
    op.drop_table("results_export_job")

"""personal data at rest: encrypted names, raw values and stored files

Client names and rejected rows' raw values become ciphertext tokens (longer
than the text: TEXT columns), rejected rows get a masked copy to show, and a
stored file records how its chunks are kept (None: plaintext, stored before
this revision).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stored_file", schema=None) as batch_op:
        batch_op.add_column(sa.Column("encryption", sa.String(length=16), nullable=True))
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.alter_column(
            "name", existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=True
        )
    with op.batch_alter_table("list_row_issue", schema=None) as batch_op:
        batch_op.alter_column(
            "raw_value",
            existing_type=sa.String(length=500),
            type_=sa.Text(),
            existing_nullable=True,
        )
        batch_op.add_column(sa.Column("raw_masked", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("list_row_issue", schema=None) as batch_op:
        batch_op.drop_column("raw_masked")
        batch_op.alter_column(
            "raw_value",
            existing_type=sa.Text(),
            type_=sa.String(length=500),
            existing_nullable=True,
        )
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.alter_column(
            "name", existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=True
        )
    with op.batch_alter_table("stored_file", schema=None) as batch_op:
        batch_op.drop_column("encryption")

"""drop the index on client.phone_hash: no query uses it, and it halved import speed

The review's "numbers in other units' lists" and "staff numbers" checks are
semi-joins that read the other side in full (SQLite materialises it,
PostgreSQL hashes it), so the index was never read; keeping it up to date
cost a random-order B-tree insert of a 64-character key per imported row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 23:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_phone_hash"))


def downgrade() -> None:
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_client_phone_hash"), ["phone_hash"], unique=False)

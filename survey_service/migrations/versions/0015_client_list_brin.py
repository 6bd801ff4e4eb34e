"""speed: client.list_id indexed by BRIN on PostgreSQL

An import writes a list's rows together (one COPY, in one transaction), so
a list's rows fill neighbouring pages of ``client`` and a block-range index
(BRIN: the lowest and highest list_id of every 128 pages) finds them for
``WHERE list_id = …`` at a tiny fraction of a B-tree's upkeep. The B-tree of
the one list_id of an import's million rows cost the server 0.37 of its
2.1 CPU-s per million rows (measured on 300,000 rows of the import's shape,
twice: 2.07 and 2.10 CPU-s per million with the B-tree, 1.73 and 1.70 with
BRIN). ``autosummarize`` has autovacuum summarise each range as it fills,
so the pages of a list just imported are not left unsummarised (read by
every lookup) until the next VACUUM. The price: a lookup of a small list
reads its whole 128-page range (about 1 MiB, shared with the lists written
beside it) where the B-tree read its own pages, and rows written into the
space of a deleted draft widen the ranges they land in; the queries by
list (the frame, the padding signals) read whole lists and stay cheap.
SQLite keeps its B-tree.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 03:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_client_list_id", table_name="client")
    op.create_index(
        "ix_client_list_id",
        "client",
        ["list_id"],
        postgresql_using="brin",
        postgresql_with={"autosummarize": "on"},
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_client_list_id", table_name="client")
    op.create_index("ix_client_list_id", "client", ["list_id"])

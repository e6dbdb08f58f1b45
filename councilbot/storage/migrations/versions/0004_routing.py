"""departments: whether each is in the organisation file last loaded

Revision ID: 0004_routing
Revises: 0003
Create Date: 2026-12-02 15:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004_routing'
down_revision = '0004_chat'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('departments') as batch_op:
        batch_op.add_column(sa.Column('current', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('departments') as batch_op:
        batch_op.drop_column('current')

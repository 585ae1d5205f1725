"""device tokens expire and are renewed (issue 14, finding 10)

Reviewed by hand: two nullable columns on server_device. Devices enrolled before this revision get 30 days
from the upgrade, so no desk is locked out by it; their desks renew the token on their next sync round.

Revision ID: s0005
Revises: s0003
Create Date: 2026-12-02 01:00:00
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision = 's0005'
down_revision = 's0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('server_device', sa.Column('token_expires_at', UTCDateTime(), nullable=True))
    op.add_column('server_device', sa.Column('previous_token_hash', sa.String(64), nullable=True))
    device = sa.table('server_device', sa.column('token_expires_at', UTCDateTime()))
    op.execute(device.update().values(token_expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=30)))


def downgrade() -> None:
    op.drop_column('server_device', 'previous_token_hash')
    op.drop_column('server_device', 'token_expires_at')

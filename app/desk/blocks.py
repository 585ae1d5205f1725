"""块区 at the desk (issue 20): the committee's blocks and their 块长, read by everyone, set by a 站长 or admin.

Setting them writes the committee's settings and a ``committee.blocks.v1`` outbox row in one transaction; the
server applies the command to the committee and emits its change row, so every desk of the committee gets
the same list (app/server/mutations.py). The checks are app/core/blocks.py's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from app.core.blocks import SETTINGS_KEY, Block, BlockError, blocks_setting, committee_blocks, parse_blocks
from app.core.changes import Changes
from app.core.commands import BlocksArgs
from app.core.vocabulary import Mutation, Role
from app.desk.auth import WorkerInfo
from app.desk.context import AppContext
from app.desk.outbox import enqueue
from models import Committee, Worker

BLOCKS_CHANGED = Changes(settings=True, sync_status=True)
MANAGERS_ONLY = "只有站长或管理员可以设置块区"


class BlockService:
    def __init__(self, ctx: AppContext):
        self.ctx = ctx

    def get(self) -> list[Block]:
        with self.ctx.sessions() as s:
            com = s.get(Committee, self.ctx.identity().committee_id)
            return committee_blocks(com.settings if com else None)

    def workers(self) -> list[tuple[uuid.UUID, str]]:
        """The committee's active workers (id, name): who may be a 块长."""
        with self.ctx.sessions() as s:
            stmt = select(Worker).where(Worker.committee_id == self.ctx.identity().committee_id,
                                        Worker.active.is_(True)).order_by(Worker.display_name)
            return [(w.id, w.display_name) for w in s.scalars(stmt)]

    @staticmethod
    def may_set(actor: WorkerInfo) -> bool:
        return bool({Role.SUPERVISOR, Role.ADMIN} & set(actor.roles))

    def set(self, actor: WorkerInfo, blocks: Iterable[Block | dict[str, Any]]) -> Changes:
        """Replace the committee's blocks (checked first: nothing changes when refused)."""
        if not self.may_set(actor):
            raise BlockError(MANAGERS_ONLY)
        raw = [b.as_setting() if isinstance(b, Block) else b for b in blocks]
        at = self.ctx.now()
        with self.ctx.sessions.begin() as s:
            com = s.get(Committee, self.ctx.identity().committee_id)
            if com is None:
                raise BlockError("本机尚未设置居委会")
            active = s.scalars(select(Worker.id).where(Worker.committee_id == com.id, Worker.active.is_(True)))
            checked = parse_blocks(raw, workers=list(active))
            setting = blocks_setting(checked)
            args = BlocksArgs(blocks=setting)
            com.settings = {**(com.settings or {}), SETTINGS_KEY: setting}
            enqueue(s, Mutation.COMMITTEE_BLOCKS, args.wire(), actor.id, at)
        return BLOCKS_CHANGED

"""The committee's own place (``committee.settings["region"]``), read by the residence rules (app/core/residence.py).

First-run setup fills province, city and county from the committee code when it begins with a division code;
an administrator completes or corrects it here. On a desk enrolled with a district server the committee's settings
come down from the server (``server committee set CODE region=省/市/区县/街道``), which then has the last word.
"""

from __future__ import annotations

from app.core import limits
from app.core.changes import Changes
from app.core.errors import UserError
from app.core.residence import PART_LABELS, PARTS, Region, committee_region, with_region
from app.desk.context import AppContext
from models import Committee

REGION_PART_LIMIT = 60


class RegionError(UserError, ValueError):
    """Invalid committee place; Chinese message, nothing changed."""


class RegionService:
    def __init__(self, ctx: AppContext):
        self.ctx = ctx

    def get(self) -> Region:
        with self.ctx.sessions() as s:
            com = s.get(Committee, self.ctx.identity().committee_id)
            return committee_region(com.settings if com else None)

    def set(self, actor, region: Region) -> Changes:
        """Only an administrator (or supervisor) sets it; the city is needed for any rule to use it, and each finer
        part needs the one above it."""
        if not actor.manages_desk:
            raise RegionError("只有站长或管理员可以设置本居委会所在地")
        parts = {k: "".join(getattr(region, k).split()) for k in PARTS}
        for key, text in parts.items():
            problem = limits.text_problem(f"所在地（{PART_LABELS[key]}）", text, REGION_PART_LIMIT)
            if problem:
                raise RegionError(problem)
        if not parts["city"]:
            raise RegionError("请至少填写本居委会所在的市")
        if parts["street"] and not parts["county"]:
            raise RegionError("填写了街道（乡镇），请同时填写所在的区县")
        committee_id = self.ctx.identity().committee_id
        with self.ctx.sessions.begin() as s:
            com = s.get_one(Committee, committee_id)
            com.settings = with_region(com.settings, Region(**parts))
            com.version += 1
        return Changes(settings=True)

"""Attachments (issue 15): files a case or a resident holds, stored once by sha256 in the data folder.

``store`` (content-addressed, encrypted like the database), ``images`` (a page from the document camera or a
scanner made a legible, compact document image), ``pdf`` (several pages of one material merged into one PDF),
``service`` (:class:`AttachmentService`: add/list/read/remove, each add one transaction with its outbox row).
What a case window shows of a file is :class:`AttachmentInfo`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

# How a file stands on this desk, for the screen (a missing file never stops a case: it is shown, that is all).
LOCAL_ONLY = "待上传"  # here, not yet (all) on the district server
SYNCED = "已上传"  # here and on the server
UPLOADING = "附件上传中"  # not here yet: the desk that added it has not finished sending it (or we wait for it)
MISSING = "缺失"  # expected here but absent or damaged, or the server says no desk sent it
ON_DEMAND = "可下载"  # on the server, not fetched to this desk (only the assignee's desk fetches by itself)


@dataclass(frozen=True, kw_only=True)
class AttachmentInfo:
    id: uuid.UUID
    case_id: uuid.UUID | None
    resident_id: uuid.UUID | None
    material: str  # the material it proves; "" = 其他材料
    sha256: str
    size: int
    mime: str
    filename: str
    pages: int
    source: str
    added_by_name: str
    added_at: dt.datetime
    present: bool  # the bytes are on this desk
    status: str  # one of the labels above

    @property
    def material_label(self) -> str:
        return self.material or "其他材料"

    @property
    def size_label(self) -> str:
        return f"{self.size / 1024:.0f} KB" if self.size < 1024 * 1024 else f"{self.size / 1024 / 1024:.1f} MB"

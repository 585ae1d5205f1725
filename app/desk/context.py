"""AppContext: the one object services share — data folder, engine, session factory, this desk's identity."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from app.desk.clock import DeskClock
from app.desk.db import engine_if_current, open_database
from app.desk.folder_lock import FolderLock, hold
from models import Committee, Device

if TYPE_CHECKING:
    from app.desk.attachments.store import BlobStore


@dataclass(frozen=True, kw_only=True)
class DeskIdentity:
    committee_id: uuid.UUID
    committee_code: str
    committee_name: str
    committee_phone: str
    device_id: uuid.UUID
    device_code: str
    device_name: str


@dataclass
class AppContext:
    data_dir: Path
    engine: Engine
    sessions: sessionmaker[Session]
    _identity: DeskIdentity | None = field(default=None, repr=False)
    _lock: FolderLock | None = field(default=None, repr=False)
    clock: DeskClock = field(init=False, repr=False)  # tests may replace it (another source)
    _blobs: BlobStore | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.clock = DeskClock(self.sessions)

    def now(self) -> dt.datetime:
        """What time it is for the worker (the desk's clock corrected by its known offset): app/desk/clock.py."""
        return self.clock.now()

    @classmethod
    def open(cls, data_dir: Path, *, encrypted: bool = True) -> AppContext:
        """Take the data folder for this process (app/desk/folder_lock.py: another program using it is refused
        with a Chinese message), then open and upgrade its database (encrypted; ``encrypted=False`` only for the
        bench's before/after figures). ``close()`` lets the folder go."""
        lock = hold(data_dir)
        try:
            engine, sessions = open_database(data_dir, encrypted=encrypted)
        except BaseException:
            lock.release()
            raise
        return cls(data_dir=data_dir, engine=engine, sessions=sessions, _lock=lock)

    @classmethod
    def open_for_reading(cls, data_dir: Path) -> AppContext:
        """For commands that only read (``sync --status``, ``deadline``): a database already at head is opened
        without taking the folder and without writing, so they work while the app runs; else as :meth:`open`."""
        engine = engine_if_current(data_dir)
        if engine is None:
            return cls.open(data_dir)
        return cls(data_dir=data_dir, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))

    @property
    def blobs(self) -> BlobStore:
        """The attachments' file store of this data folder (app/desk/attachments/store.py), encrypted as the
        database is."""
        if self._blobs is None:
            from app.desk.attachments.store import BlobStore
            self._blobs = BlobStore.for_data_dir(self.data_dir)
        return self._blobs

    def is_initialised(self) -> bool:
        with self.sessions() as s:
            return s.scalar(select(Device).where(Device.is_local.is_(True))) is not None

    def identity(self) -> DeskIdentity:
        if self._identity is None:
            with self.sessions() as s:
                dev = s.scalars(select(Device).where(Device.is_local.is_(True))).first()
                if dev is None:
                    raise LookupError("desk not initialised")
                com = s.get(Committee, dev.committee_id)
                assert com is not None
                self._identity = DeskIdentity(
                    committee_id=com.id, committee_code=com.code, committee_name=com.name, committee_phone=com.phone,
                    device_id=dev.id, device_code=dev.code, device_name=dev.name)
        return self._identity

    def forget_identity(self) -> None:
        self._identity = None

    def close(self) -> None:
        self.engine.dispose()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

"""AppContext: the one object services share — data folder, engine, session factory, this desk's identity."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from app.desk.db import open_database
from models import Committee, Device


@dataclass
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

    @classmethod
    def open(cls, data_dir: Path) -> AppContext:
        engine, sessions = open_database(data_dir)
        return cls(data_dir=data_dir, engine=engine, sessions=sessions)

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
                self._identity = DeskIdentity(com.id, com.code, com.name, com.phone, dev.id, dev.code, dev.name)
        return self._identity

    def forget_identity(self) -> None:
        self._identity = None

    def close(self) -> None:
        self.engine.dispose()

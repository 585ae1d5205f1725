"""Secrets of the desk held outside the database: the database key and the device token.

Both live in the operating system's key store through ``keyring`` (Windows Credential Manager, the Secret
Service on a Linux desktop, the macOS Keychain). A desk without a usable key store (a Linux PC with no Secret
Service running, a service account) falls back to files in the user's configuration folder, readable by the
user alone (0600 in a 0700 folder), and says so in the log each time a process first needs the key: the data
folder copied on its own (a backup, a USB stick, the folder of a stolen profile) is then useless without that
file, but whoever can read the user's files can read both. README "数据加密" describes the trade-off.

The database key is one random 32-byte key per OS user, so every data folder of that user (the real one, a
demo folder, a restore's working copy) and every backup they make open with it.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

import keyring
import platformdirs
from keyring.errors import KeyringError, PasswordDeleteError

log = logging.getLogger(__name__)

SERVICE = "OneDesk"
DATABASE_KEY_NAME = "database-key"
KEY_BYTES = 32
_cache: dict[tuple[int, str], bytes] = {}


def fallback_dir() -> Path:
    """Where the secrets go when the OS has no key store: the user's configuration folder, not the data folder."""
    return Path(platformdirs.user_config_dir("OneDesk", "OneDesk")) / "secrets"


def _fallback_file(name: str) -> Path:
    return fallback_dir() / name.replace(":", "-")


def _read_fallback(name: str) -> str | None:
    path = _fallback_file(name)
    try:
        return path.read_text(encoding="ascii").strip() or None
    except FileNotFoundError:
        return None


def _write_fallback(name: str, value: str) -> None:
    folder = fallback_dir()
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, stat.S_IRWXU)
    path = _fallback_file(name)
    tmp = path.with_suffix(".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(value)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


_warned: set[tuple[str, str]] = set()


def _warn_fallback(name: str) -> None:
    """Said once per secret and folder in a process (at start), not on every read of the secret."""
    key = (name, str(fallback_dir()))
    if key in _warned:
        return
    _warned.add(key)
    log.warning("SECURITY: no operating-system key store is available; the desk's %s is kept in the file %s "
                "(readable by this user only). Anyone who can read this user's files can read it.",
                name, _fallback_file(name))


def get_secret(name: str) -> str | None:
    """The secret ``name`` from the key store, or from the fallback file when there is no key store."""
    try:
        value = keyring.get_password(SERVICE, name)
    except KeyringError:
        _warn_fallback(name)
        return _read_fallback(name)
    if value is None:  # a key store that works now; a secret kept in a fallback file before moves into it
        value = _read_fallback(name)
        if value is not None:
            keyring.set_password(SERVICE, name, value)
            _fallback_file(name).unlink(missing_ok=True)
            log.warning("the desk's %s was moved from a file into the operating-system key store", name)
    return value


def set_secret(name: str, value: str) -> None:
    try:
        keyring.set_password(SERVICE, name, value)
    except KeyringError:
        _warn_fallback(name)
        _write_fallback(name, value)
        return
    _fallback_file(name).unlink(missing_ok=True)


def delete_secret(name: str) -> None:
    try:
        keyring.delete_password(SERVICE, name)
    except (PasswordDeleteError, KeyringError):
        pass
    _fallback_file(name).unlink(missing_ok=True)


def database_key() -> bytes:
    """This user's database key, made (random 32 bytes) and stored on first use."""
    cache_key = (id(keyring.get_keyring()), str(fallback_dir()))
    if cache_key in _cache:
        return _cache[cache_key]
    stored = get_secret(DATABASE_KEY_NAME)
    if stored is None:
        stored = secrets.token_hex(KEY_BYTES)
        set_secret(DATABASE_KEY_NAME, stored)
    key = bytes.fromhex(stored)
    if len(key) != KEY_BYTES:
        raise ValueError("the stored database key is not 32 bytes")
    _cache[cache_key] = key
    return key


def device_token_name(device_id: object) -> str:
    return f"device-token:{device_id}"


def device_token(device) -> str | None:
    """The district server's bearer token of the local ``device`` row: in the key store, never in the database
    (the ``device.token`` column stays, emptied; a token still found there is read once more until moved)."""
    return get_secret(device_token_name(device.id)) or (device.token or None)


def store_device_token(device, token: str) -> None:
    """Keep ``token`` for ``device`` in the key store and empty the column (the caller commits the row)."""
    if device.id is None:
        raise ValueError("flush the device row first: its id names the token")
    set_secret(device_token_name(device.id), token)
    device.token = None


def move_device_tokens(sessions) -> int:
    """Upgrade step: tokens an older desk kept in ``device.token`` move into the key store. Returns how many."""
    from sqlalchemy import select

    from models import Device
    moved = 0
    with sessions.begin() as s:
        for dev in s.scalars(select(Device).where(Device.token.is_not(None), Device.token != "")):
            store_device_token(dev, dev.token)
            moved += 1
    if moved:
        log.warning("%d device token(s) moved from the database into the key store", moved)
    return moved

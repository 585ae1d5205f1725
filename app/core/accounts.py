"""Account rules shared by the desk and the district server: Argon2id password hashes and the password policy.

The server creates accounts (``server worker add``) and the desk checks logins against the same hashes, so
both use these functions and raise the same Chinese messages.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.core.errors import UserError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

MIN_PASSWORD_LENGTH = 6


class AuthError(UserError):
    """Login or account change refused; ``str(err)`` is the Chinese message shown to the worker."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with older parameters: re-hash it at the next successful login."""
    return _hasher.check_needs_rehash(stored_hash)


def validate_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")


class AccountError(UserError, ValueError):
    """A committee or account entry that does not fit the rules below; callers may re-raise it as their own."""


def check_committee(code: str, name: str) -> None:
    """A committee's code (the district's numbering) and name, as the desk's first run and the server take them."""
    if not name.strip():
        raise AccountError("请填写居委会名称")
    if not re.fullmatch(r"[0-9A-Za-z]{3,20}", code.strip()):
        raise AccountError("居委会编码应为 3–20 位数字或字母")


def check_login(login: str) -> None:
    if not re.fullmatch(r"[0-9A-Za-z_.-]{2,32}", login.strip()):
        raise AccountError("登录名应为 2–32 位字母、数字或 _ . -")

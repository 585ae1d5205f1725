"""The two committee settings the devices read (issue 15), as the committee's region (app/desk/region.py):

``keep_card_photo``: keep the photo read from an ID card with the resident (default off); ``verify_base_url``: the
base of the progress-page link in the receipt's QR code (default: the district server this desk is enrolled with).
A supervisor or administrator sets them here; on an enrolled desk the server's committee settings (``server
committee set CODE --setting keep_card_photo=1``) come down with the next sync and have the last word.
``app.desk.devices.registry`` names these functions too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.core.changes import Changes
from app.core.errors import UserError
from app.core.verify import BASE_LABEL, BASE_URL_LIMIT, url_problem  # the one http(s) address check
from models import Committee, Device

KEEP_CARD_PHOTO_KEY = "keep_card_photo"  # committee.settings
VERIFY_BASE_URL_KEY = "verify_base_url"  # committee.settings
URL_LIMIT = BASE_URL_LIMIT  # as Device.server_url


class DeviceSettingsError(UserError, ValueError):
    """A device setting that cannot be kept; Chinese message, nothing changed."""


_TRUE = {"1", "true", "yes", "on", "是", "开", "开启"}


def _committee_settings(ctx) -> dict:
    with ctx.sessions() as s:
        com = s.get(Committee, ctx.identity().committee_id)
        return dict(com.settings or {}) if com else {}


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    return str(value).strip().lower() in _TRUE


def keep_card_photo(ctx) -> bool:
    """Whether the photo read from an ID card is kept with the resident (committee setting; default no).

    The server's ``--setting keep_card_photo=1`` arrives as text: "1/true/是" read as on."""
    return _as_bool(_committee_settings(ctx).get(KEEP_CARD_PHOTO_KEY, False))


def enrolled_server_url(ctx) -> str:
    """The district server this desk is enrolled with (``""`` when not enrolled)."""
    with ctx.sessions() as s:
        url = s.scalar(select(Device.server_url).where(Device.is_local.is_(True)))
    return (url or "").rstrip("/")


def committee_verify_base_url(ctx) -> str:
    """The committee's own ``verify_base_url`` (``""`` when it has none, or one that is not an http(s) address)."""
    value = _committee_settings(ctx).get(VERIFY_BASE_URL_KEY)
    if isinstance(value, str) and value.strip() and url_problem(BASE_LABEL, value.strip()) is None:
        return value.strip().rstrip("/")
    return ""


def verify_base_url(ctx) -> str:
    """Base of the progress-page link printed on the receipt (``<base>/v/<case number>``): the committee's
    ``verify_base_url``, else the enrolled server's URL; ``""`` when neither (the receipt then prints no link)."""
    return committee_verify_base_url(ctx) or enrolled_server_url(ctx)


def _write_setting(ctx, actor, key: str, value: Any, what: str) -> Changes:
    if actor is None or not bool(getattr(actor, "manages_desk", False)):
        raise DeviceSettingsError(f"只有站长或管理员可以修改{what}")
    with ctx.sessions.begin() as s:
        com = s.get_one(Committee, ctx.identity().committee_id)
        settings = dict(com.settings or {})
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = value
        com.settings = settings
        com.version += 1
    return Changes(settings=True)


def set_keep_card_photo(ctx, actor, on: bool) -> Changes:
    """Only a supervisor or administrator turns keeping the card photo on or off."""
    return _write_setting(ctx, actor, KEEP_CARD_PHOTO_KEY, bool(on), "“保留身份证照片”设置")


def set_verify_base_url(ctx, actor, url: str) -> Changes:
    """Only a supervisor or administrator sets it; ``""`` goes back to the enrolled server's URL."""
    url = (url or "").strip()
    if url:
        problem = url_problem(BASE_LABEL, url)
        if problem:
            raise DeviceSettingsError(problem)
    return _write_setting(ctx, actor, VERIFY_BASE_URL_KEY, url.rstrip("/") or None, BASE_LABEL)

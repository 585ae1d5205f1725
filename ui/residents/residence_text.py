"""How the resident detail words the residence facts the core derived (app/core/residence.py); no rule here."""

from __future__ import annotations

from app.desk.residents import ResidentDetail


def _level(detail: ResidentDetail) -> str:
    r = detail.residence
    if r is None:
        return ""
    if r.hukou_street_local:
        return "本街道户籍"
    if r.hukou_county_local:
        return "本区县户籍"
    if r.hukou_city_local:
        return "本市户籍"
    if r.hukou_city_local is False:
        return "非本市户籍"
    return ""


def hukou(detail: ResidentDetail) -> str:
    """``江苏省徐州市鼓楼区丰财街道（本街道户籍）·非农业家庭户口``; the old flag when no 户籍地址 is recorded."""
    place = detail.hukou.label()
    if not place:
        text = ("本地户籍" if detail.local_hukou else "非本地户籍") + "（未登记户籍地址）"
    else:
        level = _level(detail)
        text = f"{place}（{level}）" if level else place
    return f"{text} · {detail.hukou_nature}" if detail.hukou_nature else text


def separated(detail: ResidentDetail) -> str:
    value = detail.residence.separated if detail.residence else None
    if value is None:
        return "未知（户籍地址不全）"
    return "是（户籍与居住地不在同一街道）" if value else "否"


def permit(detail: ResidentDetail) -> str:
    if not detail.residence_permit_no:
        return "无"
    expiry = detail.residence_permit_expiry
    valid = detail.residence.residence_permit_valid if detail.residence else None
    if expiry is None:
        return "已登记（未填有效期）"
    return f"有效（至 {expiry.isoformat()}）" if valid else f"已过期（{expiry.isoformat()}）"

"""How the sync state reads in the status bar (pure formatting of a SyncStatus)."""

from __future__ import annotations

from app.core.workdays import CHINA_TZ

INSECURE_HTTP_TAG = "⚠ 明文 HTTP（仅限实验室）"


def status_text(st) -> str:
    if not st.enrolled:
        return "未配置区服务器"
    last = st.last_success_at.astimezone(CHINA_TZ).strftime("%H:%M") if st.last_success_at else "从未"
    parts = [f"区服务器：{'在线' if st.online else '离线'}", f"上次同步 {last}", f"待上传 {st.pending}"]
    if st.insecure_http:  # the lab opt-in: said first, for as long as it is in use
        parts.insert(0, INSECURE_HTTP_TAG)
    if st.held:  # waiting on the server for other desks' earlier commands (restored server)
        parts.append(f"等待 {st.held}")
    if st.set_aside:
        parts.append(f"搁置 {st.set_aside}")
    files = files_text(getattr(st, "files", None))
    if files:
        parts.append(files)
    return " · ".join(parts)


def files_text(backlog) -> str:
    """The attachments still to move (app/desk/sync/files.py FileBacklog): '附件：待上传 2 个，待下载 1 个'."""
    if backlog is None:
        return ""
    parts = [f"{label} {n} 个" for label, n in (("待上传", backlog.to_upload), ("待下载", backlog.to_download),
                                                ("缺失", backlog.missing)) if n]
    return f"附件：{'，'.join(parts)}" if parts else ""


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "无"
    minutes = int(seconds // 60)
    if minutes < 1:
        return "不到 1 分钟"
    if minutes < 120:
        return f"{minutes} 分钟"
    return f"{minutes // 60} 小时 {minutes % 60} 分钟"


def offset_text(seconds: float | None) -> str:
    """This desk's clock minus the server's, to a tenth of a second; '0.0 秒' rather than '-0.0 秒'."""
    if seconds is None:
        return "—"
    rounded = round(seconds, 1)
    return "0.0 秒" if rounded == 0 else f"{rounded:+.1f} 秒"

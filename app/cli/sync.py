"""Desk commands: ``enroll --server URL --code CODE`` and ``sync --once | --status``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from app.cli.main import CliError


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("enroll", help="把本机登记到区服务器（需要区管理员提供的一次性注册码）")
    e.add_argument("--server", required=True, metavar="URL", help="区服务器地址，例如 https://onedesk.district.gov.cn:8443")
    e.add_argument("--code", required=True, metavar="CODE", help="一次性注册码")
    e.add_argument("--ca-file", type=Path, default=None, metavar="FILE",
                   help="区里自建 CA 的证书文件（PEM，server tls init 生成的 district-ca.pem）；https 登记时必需")
    e.add_argument("--ca-fingerprint", default=None, metavar="HEX",
                   help="区管理员告知的 CA 指纹（SHA-256），用来核对 --ca-file 没有拿错或被替换")
    e.add_argument("--allow-insecure-http", action="store_true",
                   help="【不安全，仅限实验室测试】允许以明文 http:// 连接区服务器；使用期间状态栏和同步页会一直提示")
    e.add_argument("--no-sync", action="store_true", help="登记后不立即同步")
    e.set_defaults(func=_cmd_enroll)
    s = sub.add_parser("sync", help="与区服务器同步（默认一直运行，出错时按指数退避重试）")
    mode = s.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="只同步一轮")
    mode.add_argument("--status", action="store_true", help="显示同步状态和被搁置的操作")
    s.set_defaults(func=_cmd_sync)


def _ctx(args, *, read_only: bool = False):
    """The desk's context; ``read_only`` (``sync --status``) also works while the app holds the folder."""
    from app.desk.context import AppContext
    return AppContext.open_for_reading(args.data_dir) if read_only else AppContext.open(args.data_dir)


def _print_result(r) -> None:
    state = "在线" if r.online else "离线"
    print(f"{state}：上传 {r.pushed} 条，下载 {r.pulled} 条，被搁置 {r.set_aside} 条，待上传 {r.pending} 条"
          + ("（已重新下载全部数据）" if r.snapshot else ""))
    if r.error:
        print(f"错误：{r.error}")
    f = r.files
    if f.uploaded or f.downloaded or f.failed or f.more:
        print(f"附件：上传 {f.uploaded} 个，下载 {f.downloaded} 个" + (f"，出问题 {f.failed} 个" if f.failed else "")
              + ("，其余下一轮继续" if f.more else ""))
    if f.error:
        print(f.error if "附件" in f.error else f"附件：{f.error}")


def _cmd_enroll(args) -> int:
    from app.desk.sync.client import SyncClient
    from app.desk.sync.enroll import INSECURE_HTTP_NOTICE, INSECURE_HTTP_OPTION, EnrollFailed, enroll_desk
    ctx = _ctx(args)
    try:
        info = enroll_desk(ctx, args.server, args.code, ca=args.ca_file, ca_fingerprint=args.ca_fingerprint,
                           allow_insecure_http=args.allow_insecure_http)
    except EnrollFailed as e:
        ctx.close()
        raise CliError(str(e)) from None
    print(f"登记成功：{info.committee_name}（{info.committee_code}），"
          f"本机编号 {info.device_code}，设备 ID {info.device_id}")
    if info.server_url.startswith("http://"):
        print(f"警告：{INSECURE_HTTP_NOTICE}。本机按 {INSECURE_HTTP_OPTION} 以明文连接 {info.server_url}，"
              "仅限实验室测试；正式使用请改用 https:// 地址和 --ca-file 重新登记")
    if not args.no_sync:
        client = SyncClient(ctx)
        _print_result(client.sync_once())
        client.close()
    ctx.close()
    return 0


def _print_status(st) -> None:
    print(f"服务器：{st.server_url or '未登记'}  {'在线' if st.online else '离线'}")
    if st.insecure_http:
        from app.desk.sync.enroll import INSECURE_HTTP_NOTICE
        print(f"警告：{INSECURE_HTTP_NOTICE}")
    print(f"最近一次成功同步：{st.last_success_at.isoformat(timespec='seconds') if st.last_success_at else '从未'}")
    age = f"，最早一条已等待 {int(st.oldest_pending_age_s // 60)} 分钟" if st.oldest_pending_age_s else ""
    held = f"；在服务器等待前序操作 {st.held} 条" if st.held else ""
    print(f"待上传 {st.pending} 条{age}；被搁置 {st.set_aside} 条{held}")
    files = st.files
    if not files.empty:
        waiting = f"（其中 {files.waiting_for_commands} 个等操作先上传）" if files.waiting_for_commands else ""
        print(f"附件：待上传 {files.to_upload} 个{waiting}；待下载 {files.to_download} 个；缺失 {files.missing} 个")
    if st.clock_offset_s is not None and abs(st.clock_offset_s) > 60:
        print(f"提示：本机时钟与服务器相差 {st.clock_offset_s:+.0f} 秒")
    if st.last_error:
        print(f"最近错误：{st.last_error}")
    for item in st.set_aside_items:
        print(f"  [{item.mid}] {item.label}{'（等待中）' if item.held else ''} {item.case_number}  "
              f"{item.client_time:%Y-%m-%d %H:%M}  "
              f"{item.worker_name}：{item.reason}")
    if st.set_aside_rows:
        print(f"服务器下发、本机无法使用的数据 {len(st.set_aside_rows)} 条（已跳过，其余照常同步；请告知区管理员）：")
    for row in st.set_aside_rows:
        place = f"#{row.seq} " if row.seq is not None else ""
        print(f"  {place}{row.entity_label} {row.id[:8]}  {row.at[:16].replace('T', ' ')}：{row.reason}")


def _cmd_sync(args) -> int:
    from app.desk.sync.client import SyncClient, sync_status
    ctx = _ctx(args, read_only=args.status)
    try:
        if args.status:
            _print_status(sync_status(ctx))
            return 0
        client = SyncClient(ctx)
        try:
            while True:
                result = client.sync_once()
                _print_result(result)
                if args.once:
                    return 0 if result.ok else 1
                time.sleep(result.next_sync_in_s)
        finally:
            client.close()
    finally:
        ctx.close()

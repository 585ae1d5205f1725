"""``python main.py server ...``: run the district server, and the district administrator's commands.

``server --db URL --host H --port P [--cert F --key F] [--workers N --db-connections M]`` serves (N worker
processes sharing M database connections, app/server/workers.py; ``/metrics``: app/server/metrics.py);
``server tls init`` makes the district's own CA and the server's certificate;
``server committee|worker|enroll-code|device|calendar|catalog|db ...`` administer;
``server attachments gc`` removes attachment files nothing refers to (``--attachments-dir``, app/server/files.py);
``server settings followup --callback-days N --fix-days M`` sets the district's 差评回访 deadlines;
``server release publish FILE [--version X.Y.Z.W]`` publishes a package of the desk program (app/server/releases.py).
Every command takes ``--db`` (default: a SQLite file in the data folder).
Heavy imports (FastAPI, uvicorn) happen inside the handlers so the desk's command line stays fast.
"""

from __future__ import annotations

import argparse
import getpass
import os
from pathlib import Path

from app.cli.main import CliError


def _db_arg(parser: argparse.ArgumentParser, *, parent: bool = False) -> None:
    # On sub-commands the default is SUPPRESS so `server --db X worker add ...` and `... add --db X` both work.
    parser.add_argument("--db", metavar="URL", default=None if parent else argparse.SUPPRESS,
                        help="数据库地址，例如 sqlite:///server.db 或 postgresql+psycopg://user@host/db")


def _files_arg(parser: argparse.ArgumentParser, *, parent: bool = False) -> None:
    parser.add_argument("--attachments-dir", type=Path, metavar="DIR", default=None if parent else argparse.SUPPRESS,
                        help="附件文件存放的文件夹（默认：数据文件夹下的 server-attachments）")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("server", help="区服务器：运行，以及管理居委会、账号、注册码、设备、节假日和事项目录")
    _db_arg(p, parent=True)
    p.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1）")
    p.add_argument("--port", type=int, default=8000, help="端口（默认 8000）")
    p.add_argument("--cert", type=Path, help="TLS 证书文件（PEM）；与 --key 一起使用时启用 HTTPS")
    p.add_argument("--key", type=Path, help="TLS 私钥文件（PEM）")
    from app.server.workers import DEFAULT_CONNECTIONS
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="工作进程数（默认 1）：多个进程共用同一端口，各自连接数据库，可用上多个 CPU")
    p.add_argument("--db-connections", type=int, default=DEFAULT_CONNECTIONS, metavar="N",
                   help=f"所有工作进程合计最多使用的 PostgreSQL 连接数（默认 {DEFAULT_CONNECTIONS}；"
                        "PostgreSQL 默认最多接受 100 个连接），平均分给各工作进程")
    _files_arg(p, parent=True)
    p.set_defaults(func=_cmd_run)
    cmds = p.add_subparsers(dest="server_command",
                            metavar="{tls,committee,worker,enroll-code,device,settings,report,held,calendar,catalog,"
                                    "attachments,release,db}")
    _register_tls(cmds)
    _register_committee(cmds)
    _register_worker(cmds)
    e = cmds.add_parser("enroll-code", help="为居委会生成一次性设备注册码（15 分钟内有效）")
    e.add_argument("--committee", required=True, metavar="CODE")
    _db_arg(e)
    e.set_defaults(func=_cmd_enroll_code)
    _register_device(cmds)
    _register_settings(cmds)
    _register_report(cmds)
    h = cmds.add_parser("held", help="从备份恢复后正在等待前序操作的操作：查看，或不再等待（作搁置处理）")
    h.add_argument("--give-up", action="store_true",
                   help="不再等待：全部作搁置处理（填写的内容记入案件历史），等待它们的操作随即处理")
    _db_arg(h)
    h.set_defaults(func=_cmd_held)
    cal = cmds.add_parser("calendar", help="节假日安排：导入后下发到各前台")
    cal_sub = cal.add_subparsers(dest="calendar_command", required=True, metavar="{import}")
    imp = cal_sub.add_parser("import", help="导入一年的节假日安排文件（JSON）")
    imp.add_argument("file", type=Path, metavar="FILE")
    _db_arg(imp)
    imp.set_defaults(func=_cmd_calendar_import)
    cat = cmds.add_parser("catalog", help="服务事项目录：发布新版本到各前台")
    cat_sub = cat.add_subparsers(dest="catalog_command", required=True, metavar="{publish}")
    pub = cat_sub.add_parser("publish", help="校验并发布目录（forms/items 格式的 YAML 文件夹）")
    pub.add_argument("dir", type=Path, metavar="DIR")
    _db_arg(pub)
    pub.set_defaults(func=_cmd_catalog_publish)
    att = cmds.add_parser("attachments", help="附件文件：清理不再被任何案件引用的文件")
    att_sub = att.add_subparsers(dest="attachments_command", required=True, metavar="{gc}")
    gc = att_sub.add_parser("gc", help="删除所属居委会已不再引用的附件文件，以及超过 7 天未完成的上传"
                                       "（仍被引用的，前台下次同步时从头重新上传）")
    gc.add_argument("--dry-run", action="store_true", help="只统计将删除的内容，不删除")
    _db_arg(gc)
    _files_arg(gc)
    gc.set_defaults(func=_cmd_attachments_gc)
    _register_release(cmds)
    db = cmds.add_parser("db", help="服务器数据库维护")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="{upgrade}")
    up = db_sub.add_parser("upgrade", help="把服务器数据库结构升级到最新版本")
    _db_arg(up)
    up.set_defaults(func=_cmd_db_upgrade)


def _register_tls(cmds) -> None:
    t = cmds.add_parser("tls", help="HTTPS：生成区里自建的 CA 和本服务器的证书")
    t_sub = t.add_subparsers(dest="tls_command", required=True, metavar="{init}")
    init = t_sub.add_parser("init", help="生成区 CA（已有则沿用）和服务器证书，打印 CA 指纹")
    init.add_argument("--name", required=True, metavar="HOST", help="服务器在局域网里的名称（或 IP 地址）")
    init.add_argument("--ip", action="append", default=[], metavar="ADDR", help="服务器的 IP 地址，可重复")
    init.add_argument("--out", required=True, type=Path, metavar="DIR", help="存放证书和私钥的文件夹")
    init.set_defaults(func=_cmd_tls_init)


def _register_committee(cmds) -> None:
    c = cmds.add_parser("committee", help="居委会：添加、查看、修改设置")
    c_sub = c.add_subparsers(dest="committee_command", required=True, metavar="{add,list,set,blocks}")
    add = c_sub.add_parser("add", help="添加居委会")
    add.add_argument("code", metavar="CODE")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--phone", default="")
    add.add_argument("--address", default="")
    add.add_argument("--close-of-business", default="17:30", metavar="HH:MM", help="下班时间，决定办理期限的截止时刻")
    _db_arg(add)
    add.set_defaults(func=_cmd_committee_add)
    ls = c_sub.add_parser("list", help="列出居委会")
    _db_arg(ls)
    ls.set_defaults(func=_cmd_committee_list)
    st = c_sub.add_parser("set", help="修改居委会设置（下发到该居委会各前台）")
    st.add_argument("code", metavar="CODE")
    for opt in ("--name", "--phone", "--address", "--close-of-business"):
        st.add_argument(opt, default=None)
    st.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE", help="其他设置，可重复")
    _db_arg(st)
    st.set_defaults(func=_cmd_committee_set)
    bl = c_sub.add_parser("blocks", help="块区和块长（JSON 文件，下发到该居委会各前台；诉求按地址分到块长）")
    bl.add_argument("code", metavar="CODE")
    bl.add_argument("file", type=Path, metavar="FILE.json",
                    help='[{"code": "A1", "name": "一块区", "leader_login": "账号", "addresses": ["幸福路100弄"]}]')
    _db_arg(bl)
    bl.set_defaults(func=_cmd_committee_blocks)


def _register_worker(cmds) -> None:
    w = cmds.add_parser("worker", help="工作人员账号：添加、查看、停用、启用（下发到各前台）")
    w_sub = w.add_subparsers(dest="worker_command", required=True, metavar="{add,list,deactivate,activate}")
    add = w_sub.add_parser("add", help="添加账号")
    add.add_argument("login", metavar="LOGIN")
    add.add_argument("name", metavar="NAME", help="姓名")
    add.add_argument("--committee", required=True, metavar="CODE")
    add.add_argument("--roles", required=True, help="角色，逗号分隔：front_desk, line, supervisor, admin")
    add.add_argument("--lines", default="", help="负责的条线（部门），逗号分隔，例如 民政,残联")
    add.add_argument("--password", default=None, help="初始密码（省略时在终端输入）")
    add.add_argument("--phone", default="")
    _db_arg(add)
    add.set_defaults(func=_cmd_worker_add)
    ls = w_sub.add_parser("list", help="列出账号")
    ls.add_argument("--committee", default=None, metavar="CODE")
    _db_arg(ls)
    ls.set_defaults(func=_cmd_worker_list)
    for name, active in (("deactivate", False), ("activate", True)):
        a = w_sub.add_parser(name, help="停用账号" if not active else "重新启用账号")
        a.add_argument("login", metavar="LOGIN")
        a.add_argument("--committee", required=True, metavar="CODE")
        _db_arg(a)
        a.set_defaults(func=_cmd_worker_active, active=active)


def _register_settings(cmds) -> None:
    st = cmds.add_parser("settings", help="全区统一的设置：差评回访期限（下发到各居委会的前台）")
    st_sub = st.add_subparsers(dest="settings_command", required=True, metavar="{followup,show}")
    fu = st_sub.add_parser("followup", help="差评（不满意、非常不满意）的回访和整改期限，按工作日计，全区各居委会统一")
    fu.add_argument("--callback-days", type=int, required=True, metavar="N", help="几个工作日内回访（默认 1）")
    fu.add_argument("--fix-days", type=int, required=True, metavar="M", help="几个工作日内整改（默认 15）")
    _db_arg(fu)
    fu.set_defaults(func=_cmd_settings_followup)
    sh = st_sub.add_parser("show", help="查看各居委会当前的差评回访期限")
    _db_arg(sh)
    sh.set_defaults(func=_cmd_settings_show)


def _register_report(cmds) -> None:
    r = cmds.add_parser("report", help="全区统计：各居委会的办件量、按时答复率和评价（Excel 台账）")
    r_sub = r.add_subparsers(dest="report_command", required=True, metavar="{month}")
    m = r_sub.add_parser("month", help="导出某月全区的台账：汇总、各居委会一行、逐件台账（含居委会）")
    m.add_argument("month", metavar="YYYY-MM", help="月份，例如 2026-11")
    m.add_argument("--xlsx", type=Path, required=True, metavar="FILE.xlsx", help="台账 Excel 文件")
    m.add_argument("--scope", default=None, metavar="NAME", help="报表上的范围名称，例如 某某区（默认：全区各居委会）")
    _db_arg(m)
    m.set_defaults(func=_cmd_report_month)


def _register_release(cmds) -> None:
    r = cmds.add_parser("release", help="前台程序的新版本：发布安装包，各前台同步后提示管理员下载")
    r_sub = r.add_subparsers(dest="release_command", required=True, metavar="{publish,list}")
    pub = r_sub.add_parser("publish", help="发布安装包（.deb：统信 UOS/麒麟；.msi：Windows），"
                                           "保存在附件文件夹的 releases 下")
    pub.add_argument("file", type=Path, metavar="FILE")
    pub.add_argument("--version", default=None, metavar="X.Y.Z.W", help="版本号（四段数字；省略时从文件名读取）")
    _db_arg(pub)
    _files_arg(pub)
    pub.set_defaults(func=_cmd_release_publish)
    ls = r_sub.add_parser("list", help="列出已发布的安装包")
    _db_arg(ls)
    ls.set_defaults(func=_cmd_release_list)


def _register_device(cmds) -> None:
    d = cmds.add_parser("device", help="已登记的前台设备：查看、停用")
    d_sub = d.add_subparsers(dest="device_command", required=True, metavar="{list,revoke}")
    ls = d_sub.add_parser("list", help="列出设备")
    ls.add_argument("--committee", default=None, metavar="CODE")
    _db_arg(ls)
    ls.set_defaults(func=_cmd_device_list)
    rv = d_sub.add_parser("revoke", help="停用设备（之后该设备的同步请求一律拒绝，本机数据保留）")
    rv.add_argument("device_id", metavar="ID")
    _db_arg(rv)
    rv.set_defaults(func=_cmd_device_revoke)


# ----- handlers -----------------------------------------------------------------------------------------------
def _open(args, **pool):
    from app.server.db import ServerDbError, default_db_url, open_server_db
    try:
        return open_server_db(args.db or default_db_url(args.data_dir), **pool)
    except ServerDbError as e:
        raise CliError(str(e)) from None


def _admin(args, fn, *a, **kw):
    """Run an admin service on the server database, turning its refusals into CliError."""
    from app.server.admin import AdminError
    db = _open(args)
    try:
        return fn(db, *a, **kw)
    except AdminError as e:
        raise CliError(str(e)) from None
    finally:
        db.close()


def _file_store(args):
    """The attachments folder (app/server/files.py), created owner-only."""
    from app.server.files import FileStore, default_root
    root = args.attachments_dir or default_root(args.data_dir)
    try:
        return FileStore(root)
    except OSError as e:
        raise CliError(f"无法使用附件文件夹 {root}：{e.strerror or e}") from None


def _cmd_run(args) -> int:
    import uvicorn
    from sqlalchemy.engine import make_url

    from app.server import workers
    if bool(args.cert) != bool(args.key):
        raise CliError("启用 HTTPS 需要同时提供 --cert 和 --key")
    if args.cert:
        _check_certificate(args.cert, args.key)
    try:
        plan = workers.plan_pool(args.workers, args.db_connections)
    except workers.WorkerPlanError as e:
        raise CliError(str(e)) from None
    store = _file_store(args)
    db = _open(args, pool_size=plan.pool_size, max_overflow=plan.max_overflow)  # upgraded here, once
    scheme = "https" if args.cert else "http"
    where = make_url(db.url).render_as_string()
    print(f"OneDesk 区服务器：{scheme}://{args.host}:{args.port}  数据库：{where}  附件：{store.root}", flush=True)
    _print_plan(plan, db)
    if not args.cert:
        print("警告：未启用 HTTPS，令牌和居民信息将以明文传输，前台默认拒绝连接（仅限实验室测试）。"
              "请先运行 python main.py server tls init，再用 --cert/--key 启动", flush=True)
    serve = {"host": args.host, "port": args.port, "log_level": "info",
             "ssl_certfile": str(args.cert) if args.cert else None, "ssl_keyfile": str(args.key) if args.key else None}
    with workers.metrics_folder(args.workers):
        if args.workers == 1:
            from app.server.api import create_app
            try:
                app = create_app(db, attachments_dir=store.root)
                workers.tune_gc()
                uvicorn.run(app, **serve)
            finally:
                db.close()
            return 0
        db.close()  # each worker opens its own engine (app/server/workers.py)
        os.environ.update(workers.worker_environment(db.url, store.root, plan))
        uvicorn.run(workers.FACTORY, factory=True, workers=args.workers, **serve)
    return 0


def _print_plan(plan, db) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from app.server import workers
    print(plan.describe(db.dialect), flush=True)
    try:
        limit = workers.connection_limit(db)
    except SQLAlchemyError:  # not allowed to read the settings: the budget stays the administrator's word
        limit = None
    if limit is not None and plan.most > limit:
        print(f"警告：该 PostgreSQL 最多只接受 {limit} 个普通连接，而各工作进程合计可能用到 {plan.most} 个；"
              "请调低 --db-connections 或 --workers，或调高 PostgreSQL 的 max_connections", flush=True)


def _cmd_tls_init(args) -> int:
    from app.server.tls import TlsError, init_tls
    try:
        files = init_tls(args.out, args.name, args.ip)
    except TlsError as e:
        raise CliError(str(e)) from None
    except OSError as e:
        raise CliError(f"无法写入 {args.out}：{e.strerror or e}") from None
    if files.reused_ca:
        print(f"沿用已有的区 CA：{files.ca_cert}（已登记的前台无需重新登记）")
    else:
        print(f"已生成区 CA：{files.ca_cert}（私钥 {files.ca_key} 请离线妥善保管，丢失后所有前台都要重新登记）")
    print(f"已生成服务器证书：{files.server_cert}  私钥：{files.server_key}")
    print(f"区 CA 指纹 SHA-256：{files.ca_fingerprint}")
    print(f"启动服务器：python main.py server --host 0.0.0.0 --port 8443 --cert {files.server_cert} "
          f"--key {files.server_key}")
    host = args.name.strip()
    host = f"[{host}]" if ":" in host else host  # an IPv6 address in a URL
    print(f"登记前台：python main.py enroll --server https://{host}:8443 --code 注册码 "
          f"--ca-file {files.ca_cert.name} --ca-fingerprint {files.ca_fingerprint}")
    print(f"（把 {files.ca_cert} 复制到每台前台机上；指纹请另行告知前台核对）")
    return 0


def _check_certificate(cert: Path, key: Path) -> None:
    """Refuse a missing or mismatched certificate/key before serving (a Chinese reason, not uvicorn's trace)."""
    import ssl
    for path in (cert, key):
        if not path.is_file():
            raise CliError(f"找不到文件：{path}")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(str(cert), str(key))
    except (ssl.SSLError, OSError, ValueError) as e:
        raise CliError(f"证书或私钥无法使用（{cert}，{key}）：{e}") from None


def _cmd_committee_add(args) -> int:
    from app.server import admin
    com = _admin(args, admin.add_committee, args.code, args.name, phone=args.phone, address=args.address,
                 close_of_business=args.close_of_business)
    print(f"已添加居委会：{com.code} {com.name}")
    return 0


def _cmd_committee_list(args) -> int:
    from app.server import admin
    for com in _admin(args, admin.list_committees):
        print(f"{com.code}  {com.name}  电话 {com.phone or '—'}  下班 {com.close_of_business}")
    return 0


def _cmd_committee_set(args) -> int:
    from app.server import admin
    settings = {}
    for item in args.setting:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CliError(f"设置应写成 KEY=VALUE：{item}")
        settings[key.strip()] = value
    com = _admin(args, admin.update_committee, args.code, name=args.name, phone=args.phone, address=args.address,
                 close_of_business=args.close_of_business, settings=settings)
    print(f"已更新居委会：{com.code} {com.name}（版本 {com.version}）")
    return 0


def _cmd_committee_blocks(args) -> int:
    import json

    from app.server import admin
    try:
        raw = json.loads(args.file.read_text(encoding="utf-8"))
    except OSError as e:
        raise CliError(f"无法读取文件 {args.file}：{e.strerror or e}") from None
    except (ValueError, UnicodeDecodeError):
        raise CliError(f"{args.file} 不是有效的 JSON 文件") from None
    blocks = _admin(args, admin.set_committee_blocks, args.code, raw)
    print(f"已设置居委会 {args.code} 的块区 {len(blocks)} 个，前台下次同步后生效")
    for b in blocks:
        print(f"  {b.code}  {b.name}  地址 {len(b.addresses)} 条")
    return 0


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.replace("，", ",").split(",") if p.strip()]


def _cmd_worker_add(args) -> int:
    from app.server import admin
    password = args.password
    if password is None:
        password = getpass.getpass("初始密码：")
        if getpass.getpass("再输入一次：") != password:
            raise CliError("两次输入的密码不一致")
    w = _admin(args, admin.add_worker, args.committee, args.login, args.name, roles=_split(args.roles),
               password=password, lines=_split(args.lines), phone=args.phone)
    print(f"已添加账号：{w.login}（{w.display_name}）id {w.id}")
    return 0


def _cmd_worker_list(args) -> int:
    from app.server import admin
    for code, w in _admin(args, admin.list_workers, args.committee):
        state = "" if w.active else "（已停用）"
        print(f"{code}  {w.login}  {w.display_name}  角色 {','.join(w.roles)}  条线 {','.join(w.lines) or '—'}{state}")
    return 0


def _cmd_worker_active(args) -> int:
    from app.server import admin
    w = _admin(args, admin.set_worker_active, args.committee, args.login, args.active)
    print(f"账号 {w.login} 已{'启用' if w.active else '停用'}")
    return 0


def _cmd_enroll_code(args) -> int:
    from app.core.workdays import CHINA_TZ
    from app.server import admin
    code, expires = _admin(args, admin.create_enroll_code, args.committee)
    print(code)
    print(f"一次性注册码，{expires.astimezone(CHINA_TZ):%H:%M}（北京时间）前有效。"
          f"在前台机上运行：python main.py enroll --server URL --code {code}")
    return 0


def _cmd_device_list(args) -> int:
    from app.server import admin
    for d in _admin(args, admin.list_devices, args.committee):
        seen = d.last_seen_at.isoformat(timespec="seconds") if d.last_seen_at else "从未"
        state = f"已停用 {d.revoked_at:%Y-%m-%d}" if d.revoked_at else "正常"
        offset = f"{d.clock_offset_s:+.0f}s" if d.clock_offset_s is not None else "—"
        print(f"{d.id}  {d.committee_code}-{d.code}  {d.name or '—'}  last_mid {d.last_mid}  最近同步 {seen}  "
              f"时钟偏差 {offset}  {state}")
    return 0


def _cmd_device_revoke(args) -> int:
    from app.server import admin
    dev = _admin(args, admin.revoke_device, args.device_id)
    print(f"设备 {dev.id}（{dev.code}）已停用")
    return 0


def _cmd_held(args) -> int:
    """Commands held after a restore (app/server/held.py): list them, or stop waiting."""
    from app.server import held
    from app.server.push import give_up_held
    from models import utcnow
    db = _open(args)
    try:
        if args.give_up:
            print(f"已不再等待：{give_up_held(db, utcnow(), everything=True)} 条操作作搁置处理，内容已记入案件历史")
            return 0
        rows = held.list_held(db)
        for h in rows:
            print(f"设备 {h.device_id} 序号 {h.mid}  案件 {h.case_id or '—'}  等待 {h.waits_for}  "
                  f"自 {h.held_at:%Y-%m-%d %H:%M}  最迟 {h.expires_at:%Y-%m-%d %H:%M}（UTC）")
        print(f"共 {len(rows)} 条操作在等待前序操作")
        return 0
    finally:
        db.close()


def _cmd_settings_followup(args) -> int:
    from app.server import admin
    days, committees = _admin(args, admin.set_followup_days, args.callback_days, args.fix_days)
    print(f"已设置差评回访期限：{days.callback_days} 个工作日内回访，{days.fix_days} 个工作日内整改；"
          f"已下发到 {len(committees)} 个居委会（{'、'.join(c.name for c in committees)}），前台下次同步后生效")
    return 0


def _cmd_settings_show(args) -> int:
    from app.server import admin
    for com, days in _admin(args, admin.followup_settings):
        print(f"{com.code}  {com.name}  差评回访：{days.callback_days} 个工作日内回访，{days.fix_days} 个工作日内整改")
    return 0


def _cmd_report_month(args) -> int:
    from app.core.stats import Period
    from app.server.report import DISTRICT_SCOPE, write_district_workbook
    from models import utcnow
    period = Period.parse_month(args.month)  # a Chinese message before the database is opened
    if args.xlsx.suffix.lower() != ".xlsx":
        raise CliError(f"文件名应以 .xlsx 结尾：{args.xlsx}")
    db = _open(args)
    try:
        report, written, out = write_district_workbook(db, period, args.xlsx, utcnow(),
                                                       scope=(args.scope or "").strip() or DISTRICT_SCOPE)
    finally:
        db.close()
    t = report.total
    rate = "—" if t.on_time_rate is None else f"{t.on_time_rate * 100:.1f}%"
    print(f"{report.scope} {period.label}：{len(report.rows)} 个居委会，办件 {t.cases} 件，按时答复率 {rate}，"
          f"已评价 {t.rated} 件，当前超期 {report.overdue_now} 件")
    if report.requests is not None:  # issue 20: the district's 诉求 of the month
        from app.core.request_stats import summary_text
        print(summary_text(report.requests))
    print(f"台账（{written} 件）已写入：{out}")
    return 0


def _cmd_calendar_import(args) -> int:
    from app.server import admin
    cv = _admin(args, admin.import_calendar, args.file)
    print(f"已导入并下发 {cv.year} 年节假日安排（版本 {cv.version}）")
    return 0


def _cmd_catalog_publish(args) -> int:
    from app.server import admin
    cv = _admin(args, admin.publish_catalog, args.dir)
    print(f"已发布事项目录版本 {cv.version}（{len(cv.files)} 个文件，摘要 {cv.content_hash[:8]}）")
    return 0


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.1f} KB"


def _cmd_attachments_gc(args) -> int:
    from app.server.files import collect_garbage
    from models import utcnow
    store = _file_store(args)
    db = _open(args)
    try:
        report = collect_garbage(db, store, utcnow(), dry_run=args.dry_run)
    finally:
        db.close()
    verb = "将删除" if args.dry_run else "已删除"
    print(f"{verb} {report.files} 个不再被引用的附件文件、{report.parts} 个超过 7 天未完成的上传，"
          f"{report.rows} 条文件记录，释放 {_size(report.bytes_freed)}；保留 {report.kept} 个仍被引用的文件"
          f"{'（试运行，未删除任何内容）' if args.dry_run else ''}")
    print(f"attachments gc{' (dry run)' if args.dry_run else ''}: {report.files} files, {report.parts} partial "
          f"uploads, {report.rows} rows, {report.bytes_freed} bytes freed; {report.kept} files kept")
    return 0


def _cmd_release_publish(args) -> int:
    from app.server import releases
    store = _file_store(args)
    published = _admin(args, releases.publish_release, store, args.file, version=args.version)
    r = published.release
    if not published.created:
        print(f"版本 {r.version} 的 {r.platform} 安装包已发布过，内容相同，未重复保存（SHA-256 {r.sha256}）")
        return 0
    print(f"已发布 {r.platform} 安装包 {r.version}：{r.file_name}（{_size(r.size)}，SHA-256 {r.sha256}）")
    print("各前台下次同步后，管理员登录时会看到“发现新版本”并可下载（下载后校验摘要，不会自动安装）")
    return 0


def _cmd_release_list(args) -> int:
    from app.server import releases
    rows = _admin(args, releases.list_releases)
    for r in rows:
        print(f"{r.platform}  {r.version}  {r.file_name}  {_size(r.size)}  {r.published_at:%Y-%m-%d %H:%M}（UTC）  "
              f"SHA-256 {r.sha256}")
    print(f"共 {len(rows)} 个安装包")
    return 0


def _cmd_db_upgrade(args) -> int:
    from app.server.db import current_revision
    db = _open(args)  # opening upgrades to head
    print(f"服务器数据库已是最新版本：{current_revision(db.engine)}")
    db.close()
    return 0

"""The scanner as a keyboard wedge, without Qt: the verification link, the burst classifier, the driver."""

from __future__ import annotations

import threading

import pytest

from app.core.verify import VerifyBaseError, desk_payload, parse_verification, verification_url
from app.desk.devices import codes
from app.desk.devices.base import DeviceKind
from app.desk.devices.codes import BurstBuffer, CodeKind, ScanWaiter, WedgeDriver, classify, is_scan, recognise

NUMBER, CODE = "110102003-D01-20250124-0007", "7K3Q9D2M"
BASE = "https://onedesk.xicheng.example.gov.cn"
URL = f"{BASE}/v/{NUMBER}?c={CODE}"
ID = "11010519491231002X"


def timed(text: str, gap: float, start: float = 100.0) -> tuple[list[tuple[str, float]], float]:
    keys = [(ch, start + i * gap) for i, ch in enumerate(text)]
    return keys, start + len(text) * gap


# ----- the verification link (app/core/verify.py) --------------------------------------------------------------
def test_verification_url_holds_case_number_and_code_only():
    assert verification_url(BASE + "/", NUMBER, CODE.lower()) == URL
    assert verification_url("https://gov.example/onedesk", NUMBER, CODE) == f"https://gov.example/onedesk/v/{NUMBER}?c={CODE}"


@pytest.mark.parametrize("base", ["", "ftp://x.example", "https://x.example/?a=1", "onedesk.example",
                                  "https://a b.cn", "https://a.cn:99999", "https://", "https://a.cn/#x",
                                  "https://" + "a" * 300 + ".cn"])
def test_verification_url_refuses_a_base_that_is_no_web_address(base):
    with pytest.raises(VerifyBaseError) as err:
        verification_url(base, NUMBER, CODE)
    assert "进度查询网址" in str(err.value)  # the one check's Chinese reason


def test_the_base_url_is_checked_once_for_the_link_and_the_setting():
    from app.core import verify
    from app.desk.devices import settings
    assert settings.url_problem is verify.url_problem  # the committee setting uses the link's own check
    assert verify.url_problem("进度查询网址", BASE) is None
    assert verify.url_problem("进度查询网址", "https://jd.example.cn/onedesk") is None
    assert "http:// 或 https://" in verify.url_problem("进度查询网址", "jd.example.cn")
    assert "不能含空格" in verify.url_problem("读卡服务地址", "http://127.0.0.1:19196/?x=1")
    assert verify.check_base(BASE + "/") == BASE


@pytest.mark.parametrize("text", [
    URL, URL.upper().replace("/V/", "/v/").replace(NUMBER.upper(), NUMBER).replace("?C=", "?c="),
    f"http://10.0.0.7:8443/v/{NUMBER}/?c={CODE.lower()}", f"https://gov.example/onedesk/v/{NUMBER}?c={CODE}&x=1",
    desk_payload(NUMBER, CODE), f"onedesk|{NUMBER}|{CODE}",
])
def test_parse_verification_reads_links_and_the_desk_payload(text):
    assert parse_verification(text) == (NUMBER, CODE)


@pytest.mark.parametrize("text", [
    "", ID, "hello world", f"{BASE}/v/{NUMBER}", f"{BASE}/v/{NUMBER}?c=", f"{BASE}/x/{NUMBER}?c={CODE}",
    f"{BASE}/v/{NUMBER}?c={CODE}&c=AAAA", f"ftp://x/v/{NUMBER}?c={CODE}", f"{BASE}/v/<script>?c={CODE}",
    f"{BASE}/v/{NUMBER}?c={CODE}!", f"ONEDESK|{NUMBER}", f"ONEDESK|{NUMBER}|{CODE}|x", f"{BASE}/v/{'9' * 49}?c=A",
    f"{BASE}/v/{NUMBER}?c={CODE}" + "&pad=" + "x" * 400, "https://[::1/v/x?c=y",
])
def test_parse_verification_refuses_anything_else(text):
    assert parse_verification(text) is None


# ----- what a scan is -------------------------------------------------------------------------------------------
def test_classify_a_receipt_link():
    scan = classify(URL)
    assert (scan.kind, scan.case_number, scan.code, scan.value) == (CodeKind.RECEIPT, NUMBER, CODE, NUMBER)
    assert NUMBER in scan.shown


def test_classify_an_id_number_normalised_and_masked_when_shown():
    scan = classify(ID.lower())
    assert (scan.kind, scan.value) == (CodeKind.ID_NUMBER, ID)
    assert ID not in scan.shown and "110105********002X" in scan.shown


@pytest.mark.parametrize("text", ["110105194912310021", "6901234567892", "X" * 18, "ABC-123-XYZ",
                                  URL.replace("?c=", "?code=")])
def test_classify_junk_and_invalid_ids_as_unknown(text):
    scan = classify(text)
    assert scan.kind == CodeKind.UNKNOWN and scan.value == text
    assert text not in scan.shown  # the text could be anything: only its length is shown


def test_fast_burst_is_a_scan_human_typing_is_not():
    assert recognise(*timed(URL, 0.004)).kind == CodeKind.RECEIPT
    assert recognise(*timed(ID, 0.012)).kind == CodeKind.ID_NUMBER
    assert recognise(*timed(ID, 0.160)) is None  # a person at six keys a second
    assert recognise(*timed("6901234567892", 0.01)).kind == CodeKind.UNKNOWN


def test_coarse_platform_timestamps_still_read_as_a_scan():
    """Windows stamps key messages with the system tick (~15.6 ms): a 2 ms-a-key scanner arrives as runs of
    equal times and 16 ms steps."""
    times = [100 + 0.016 * (i // 8) for i in range(len(URL))]
    assert recognise(list(zip(URL, times, strict=True)), times[-1] + 0.016).kind == CodeKind.RECEIPT


def test_burst_rules_length_median_and_every_gap():
    assert not is_scan([0.0, 0.01, 0.02, 0.03, 0.04, 0.05])  # five characters and Enter: too short
    assert is_scan([0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06])  # six and Enter
    assert not is_scan([i * 0.04 for i in range(10)])  # median 40 ms: slower than any scanner we accept
    # fast keys but one pause longer than hold_s: a person rolling keys then stopping, not one scan
    assert not is_scan([0.0, 0.01, 0.02, 0.03, 0.2, 0.21, 0.22, 0.23])
    assert not is_scan([0.0, 0.01, 0.005, 0.02, 0.03, 0.04, 0.05])  # time running backwards


def test_buffer_holds_a_burst_and_swallows_it_as_a_scan():
    buf: BurstBuffer[str] = BurstBuffer()
    keys, enter_at = timed(ID, 0.005)
    for i, (ch, at) in enumerate(keys):
        assert buf.key(f"k{i}", ch, at) == []  # held, nothing delivered yet
    scan, release = buf.enter(enter_at)
    assert scan is not None and scan.kind == CodeKind.ID_NUMBER and release == []
    assert not buf.holding


def test_buffer_releases_human_keys_in_order():
    buf: BurstBuffer[str] = BurstBuffer()
    assert buf.key("a", "a", 1.0) == []
    assert buf.key("b", "b", 1.2) == ["a"]  # "a" waited 200 ms: delivered before "b" is held
    assert buf.key("c", "c", 1.21) == []  # a fast pair: both held
    assert buf.expire(1.23) == []
    assert buf.expire(1.3) == ["b", "c"]  # the hold ran out (the filter's timer)
    assert buf.key("d", "d", 2.0) == []
    scan, release = buf.enter(2.01)
    assert scan is None and release == ["d"]  # Enter after one key: typed, then Enter


def test_buffer_gives_up_on_a_burst_too_long_to_be_a_code():
    buf: BurstBuffer[int] = BurstBuffer()
    out: list[int] = []
    for i in range(codes.MAX_BURST_CHARS + 1):
        out += buf.key(i, "x", i * 0.001)
    assert out == list(range(codes.MAX_BURST_CHARS + 1)) and not buf.holding


# ----- the driver ------------------------------------------------------------------------------------------------
def test_drivers_real_and_simulated():
    (real,) = codes.drivers(None, simulate=False)
    (sim,) = codes.drivers(None, simulate=True)
    assert real.kind == sim.kind == DeviceKind.CODE_SCANNER and real.name != sim.name
    assert real.available() == (True, "")
    result = sim.test()
    assert result.ok and "受理回执" in result.message and result.detail == {"scanned": True, "kind": "receipt"}


def test_the_registry_lists_the_wedge_and_its_simulation(tmp_path):
    from app.desk.devices.registry import DeviceRegistry
    registry = DeviceRegistry(tmp_path, modules=["app.desk.devices.codes"])
    assert [d.name for d in registry.drivers(DeviceKind.CODE_SCANNER)] == ["wedge", "code-sim"]
    assert registry.is_simulated("code-sim") and not registry.is_simulated("wedge")
    assert registry.test("code-sim").ok


def test_wedge_test_without_the_program_says_where_to_scan():
    result = WedgeDriver(ScanWaiter()).test()
    assert not result.ok and "请在程序中任意界面扫码测试" in result.message and result.detail == {"needs_ui": True}


def test_wedge_test_waits_for_a_scan_from_the_ui_thread():
    waiter = ScanWaiter()
    waiter.attached = True
    assert not waiter.offer(classify(ID))  # nobody waiting: the desk acts on the scan itself
    driver = WedgeDriver(waiter, wait_s=30)
    results = []
    t = threading.Thread(target=lambda: results.append(driver.test()))
    t.start()
    while not waiter.waiting:
        threading.Event().wait(0.001)
    assert waiter.offer(classify(ID))
    t.join(30)
    (result,) = results
    assert result.ok and ID not in result.message and "110105********002X" in result.message


def test_wedge_test_times_out_with_advice():
    waiter = ScanWaiter()
    waiter.attached = True
    result = WedgeDriver(waiter, wait_s=0.01).test()
    assert not result.ok and "没有收到扫码" in result.message and "英文" in result.message


# ----- the receipt's QR code -------------------------------------------------------------------------------------


def _forwarded_case(ctx):
    import datetime as dt

    from app.desk.auth import AuthService
    from app.desk.cases import CaseService, ItemRef
    from app.desk.residents import ResidentService
    desk = AuthService(ctx).login("desk", "deskpass")
    resident = ResidentService(ctx).search("张桂兰")[0]
    cases = CaseService(ctx)
    cid = cases.create_draft(desk, ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "test-1"), resident.id)
    cases.submit(desk, cid, {}, {"居民身份证": {"received": True, "form": "原件", "count": 1}})
    cases.forward(desk, cid, assignee_id=None, queue="民政",
                  at=dt.datetime(2026, 2, 13, 10, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    return desk, cid, cases.get(cid).summary.case_number


def _set_enrolled_url(ctx, url: str) -> None:
    from sqlalchemy import select

    from models import Device
    with ctx.sessions.begin() as s:
        s.scalars(select(Device).where(Device.is_local.is_(True))).one().server_url = url


def _qr_values(data, layout: str) -> list[str]:
    """The value of every QR code in the document's story (the flowable the PDF is drawn from)."""
    from reportlab.graphics.barcode.qr import QrCode

    from app.desk.printing.flowables import Sheet
    from app.desk.printing.fonts import ensure_fonts
    from app.desk.printing.kinds import kind_for
    found: list[str] = []

    def walk(obj):
        if isinstance(obj, QrCode):
            found.append(obj.value)
        for child in getattr(obj, "_content", None) or []:
            walk(child)
        for row in getattr(obj, "_cellvalues", None) or []:
            for cell in row:
                for item in cell if isinstance(cell, (list, tuple)) else [cell]:
                    walk(item)

    for flowable in kind_for(data.doc_type).story(data, Sheet.for_layout(layout, ensure_fonts())):
        walk(flowable)
    return found


def _decoded(pdf: bytes, tmp_path, name: str) -> list[str]:
    """The QR codes a reader finds on the printed page (zbarimg, when installed: Debian zbar-tools)."""
    import shutil
    import subprocess
    (tmp_path / f"{name}.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "200", "-singlefile", str(tmp_path / f"{name}.pdf"),
                    str(tmp_path / name)], check=True)
    if shutil.which("zbarimg") is None:
        return []
    out = subprocess.run(["zbarimg", "--raw", "-q", "-Sdisable", "-Sqrcode.enable", str(tmp_path / f"{name}.png")],
                         capture_output=True, text=True)
    return out.stdout.split()


def _text(pdf: bytes) -> str:
    import io

    from pypdf import PdfReader
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace(" ", "").replace("\n", "")


@pytest.mark.parametrize("layout", ["a4", "a5", "thermal80"])
def test_receipt_qr_holds_the_enrolled_servers_link(desk_ctx, tmp_path, layout):
    from app.desk.printing.service import PrintService
    _set_enrolled_url(desk_ctx, "https://onedesk.xicheng.example.gov.cn/")
    desk, cid, number = _forwarded_case(desk_ctx)
    svc = PrintService(desk_ctx)
    data = svc.build(cid, "receipt", 0, desk_ctx.now())
    code = data.verification_code
    link = f"https://onedesk.xicheng.example.gov.cn/v/{number}?c={code}"
    assert data.verify_url == link and _qr_values(data, layout) == [link]
    pdf = svc.produce(desk, cid, "receipt", layout).pdf
    text = _text(pdf)
    assert "扫码查进度、评价" in text and f"验证码：{code}" in text and number in text
    assert link in text  # printed out too, for typing into a browser
    assert "11010519491231002X" not in link and "张桂兰" not in link  # the link names no person
    decoded = _decoded(pdf, tmp_path, f"receipt-{layout}")
    assert decoded in ([], [link])  # [] only where zbarimg is not installed; the value is checked above
    assert classify(link).case_number == number


def test_committee_setting_wins_over_the_enrolled_server(desk_ctx):
    from app.desk.auth import AuthService
    from app.desk.devices import registry
    from app.desk.printing.service import PrintService
    _set_enrolled_url(desk_ctx, "https://10.0.0.7:8443")
    registry.set_verify_base_url(desk_ctx, AuthService(desk_ctx).login("boss", "bosspass"), "https://jd.example.cn/cx")
    _, cid, number = _forwarded_case(desk_ctx)
    data = PrintService(desk_ctx).build(cid, "receipt", 0, desk_ctx.now())
    assert data.verify_url == f"https://jd.example.cn/cx/v/{number}?c={data.verification_code}"
    assert _qr_values(data, "a5") == [data.verify_url]


def test_desk_never_enrolled_prints_the_desk_payload_and_no_link(desk_ctx, tmp_path):
    from app.desk.printing.service import PrintService
    desk, cid, number = _forwarded_case(desk_ctx)
    svc = PrintService(desk_ctx)
    data = svc.build(cid, "receipt", 0, desk_ctx.now())
    payload = f"ONEDESK|{number}|{data.verification_code}"
    assert data.verify_url == "" and _qr_values(data, "a5") == [payload]
    pdf = svc.produce(desk, cid, "receipt", "a5").pdf
    text = _text(pdf)
    assert "扫码查验" in text and "扫码查进度、评价" not in text and "http" not in text
    assert f"验证码：{data.verification_code}" in text and "告知办件编号" in text
    assert _decoded(pdf, tmp_path, "receipt-desk") in ([], [payload])
    assert classify(payload).kind == CodeKind.RECEIPT  # the desk still opens the case from it

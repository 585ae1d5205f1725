"""Issue 15 part 5: the 二代身份证 — the 256-byte text block every certified reader returns, the drivers behind the
one reader interface (vendor SDKs through ctypes, a vendor's local HTTP service, the simulated reader), and the
card photo kept only when the committee turns that on."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.core.idcard import (
    ETHNICITIES,
    WZ_SIZE,
    CardReader,
    CardReaderError,
    IdCard,
    card_from_fields,
    parse_wz,
    split_address,
)
from app.core.residence import Region
from app.demo.seed import demo_id_number
from app.desk.devices import idcard as devices_idcard
from app.desk.devices.base import DeviceDriver, DeviceKind
from app.desk.devices.idcard_http import HttpCardReader
from app.desk.devices.idcard_sdk import SdtapiReader, TermbReader, load_library
from app.desk.devices.idcard_sim import BUILT_IN_CARDS, SimulatedReader, wz_block
from forms.identity import make_id_number

TODAY = dt.date(2026, 12, 2)
ZHANG = demo_id_number(0)  # the demo's 张桂兰, born 1940-03-12


def block(fields: list[tuple[str, int]]) -> bytes:
    """A text block as a reader writes it: each field UCS-2LE, padded with spaces to its width, 256 bytes."""
    out = b""
    for text, size in fields:
        raw = text.encode("utf-16-le")
        assert len(raw) <= size
        out += raw + " ".encode("utf-16-le") * ((size - len(raw)) // 2)
    return out + " ".encode("utf-16-le") * ((WZ_SIZE - len(out)) // 2)


def zhang_fields(id_number: str = ZHANG, until: str = "长期", sex: str = "2", birth: str = "19400312",
                 nation: str = "01") -> list[tuple[str, int]]:
    return [("张桂兰", 30), (sex, 2), (nation, 4), (birth, 16), ("江苏省徐州市鼓楼区丰财街道幸福里一区3号楼", 70),
            (id_number, 36), ("徐州市公安局鼓楼分局", 30), ("20060115", 16), (until, 16)]


# ----- parse_wz ---------------------------------------------------------------------------------------------------

def test_parse_wz_reads_every_field_of_a_long_term_card():
    raw = block(zhang_fields())
    assert len(raw) == 256
    card = parse_wz(raw, today=TODAY)
    assert (card.name, card.sex, card.ethnicity) == ("张桂兰", "女", "汉")
    assert card.birth_date == dt.date(1940, 3, 12)
    assert card.id_number == ZHANG
    assert card.address == "江苏省徐州市鼓楼区丰财街道幸福里一区3号楼"
    assert card.authority == "徐州市公安局鼓楼分局"
    assert card.valid_from == dt.date(2006, 1, 15)
    assert card.valid_until is None and not card.expired(TODAY)
    assert card.validity_label == "2006.01.15–长期"
    assert card.photo is None
    assert ZHANG not in repr(card) and "张桂兰" not in repr(card)  # never the card data in a traceback


def test_parse_wz_dated_validity_and_expiry():
    number = make_id_number(30, "男", today=TODAY, seed=3)
    birth = number[6:14]
    fields = [("李明", 30), ("1", 2), ("02", 4), (birth, 16), ("北京市朝阳区望京街道阜通东大街1号", 70), (number, 36),
              ("北京市公安局朝阳分局", 30), ("20160301", 16), ("20260301", 16)]
    card = parse_wz(block(fields), today=TODAY)
    assert (card.sex, card.ethnicity) == ("男", "蒙古")
    assert card.valid_until == dt.date(2026, 3, 1)
    assert card.expired(TODAY)
    assert not card.expired(dt.date(2026, 3, 1))  # the last day is still valid


def test_parse_wz_code_tables():
    assert ETHNICITIES["56"] == "基诺" and ETHNICITIES["97"] == "其他" and ETHNICITIES["98"] == "外国血统"
    assert len([c for c in ETHNICITIES if int(c) <= 56]) == 56
    assert parse_wz(block(zhang_fields(nation="15")), today=TODAY).ethnicity == "土家"
    with pytest.raises(CardReaderError, match="民族代码"):
        parse_wz(block(zhang_fields(nation="77")), today=TODAY)


@pytest.mark.parametrize("bad", [ZHANG[:-1] + ("0" if ZHANG[-1] != "0" else "1"), "99999919400312100X", "3203021940"])
def test_a_bad_id_number_on_the_card_is_a_read_error(bad):
    with pytest.raises(CardReaderError, match="证件号码读取有误") as e:
        parse_wz(block(zhang_fields(id_number=bad)), today=TODAY)
    assert "重新放置" in str(e.value) and bad not in str(e.value)


def test_a_block_whose_fields_disagree_with_the_id_number_is_a_read_error():
    with pytest.raises(CardReaderError, match="不一致"):
        parse_wz(block(zhang_fields(sex="1")), today=TODAY)
    with pytest.raises(CardReaderError, match="不一致"):
        parse_wz(block(zhang_fields(birth="19400313")), today=TODAY)
    with pytest.raises(CardReaderError, match="有效期截止日期"):
        parse_wz(block(zhang_fields(until="2026")), today=TODAY)


def test_a_short_block_and_a_foreigners_card_are_refused_in_chinese():
    with pytest.raises(CardReaderError, match="读卡数据不完整"):
        parse_wz(b"\x20\x00" * 40)
    raw = bytearray(block(zhang_fields()))
    raw[248:250] = "I".encode("utf-16-le")
    with pytest.raises(CardReaderError, match="外国人永久居留身份证"):
        parse_wz(bytes(raw))


def test_fields_from_a_service_take_labels_as_well_as_codes():
    card = card_from_fields(name="张桂兰", sex="女", ethnicity="汉族", birth="1940-03-12", address="江苏省徐州市",
                            id_number=ZHANG.lower(), authority="徐州市公安局", valid_from="2006.01.15",
                            valid_until="2026.01.15", today=TODAY)
    assert (card.sex, card.ethnicity, card.id_number) == ("女", "汉", ZHANG)
    assert card.valid_until == dt.date(2026, 1, 15)


@pytest.mark.parametrize("address, region, rest", [
    ("江苏省徐州市鼓楼区丰财街道幸福里一区3号楼", ("江苏省", "徐州市", "鼓楼区", "丰财街道"), "幸福里一区3号楼"),
    ("北京市朝阳区望京街道阜通东大街1号", ("北京市", "北京市", "朝阳区", "望京街道"), "阜通东大街1号"),
    ("河南省商丘市永城市东城街道光明路8号", ("河南省", "商丘市", "永城市", "东城街道"), "光明路8号"),
    ("新疆维吾尔自治区乌鲁木齐市天山区", ("新疆维吾尔自治区", "乌鲁木齐市", "天山区", ""), ""),
    ("吉林省延边朝鲜族自治州延吉市河南街道", ("吉林省", "延边朝鲜族自治州", "延吉市", "河南街道"), ""),
    ("江苏省丰县华山镇", ("江苏省", "", "", ""), "丰县华山镇"),  # no city found: the county is not guessed
    ("幸福里一区3号", ("", "", "", ""), "幸福里一区3号"),
])
def test_the_address_is_split_into_the_hukou_parts_as_far_as_it_says(address, region, rest):
    assert split_address(address) == (Region(*region), rest)


# ----- the simulated reader ---------------------------------------------------------------------------------------

def test_the_simulated_reader_goes_through_the_text_block():
    reader = SimulatedReader(auto=False)
    assert isinstance(reader, CardReader)
    reader.open()
    assert reader.read() is None  # no card on the reader
    reader.place(BUILT_IN_CARDS[0])
    card = reader.read()
    assert isinstance(card, IdCard) and card.id_number == ZHANG and card.name == "张桂兰"
    assert reader.blocks_read == 1  # parse_wz read a 256-byte block
    reader.remove()
    assert reader.read() is None
    reader.close()
    assert len(wz_block(BUILT_IN_CARDS[1])) == WZ_SIZE


def test_the_simulated_reader_reads_cards_from_a_json_list(tmp_path):
    number = make_id_number(40, "女", seed=7)
    path = tmp_path / "cards.json"
    path.write_text(json.dumps([{"name": "陈静", "sex": "2", "ethnicity": "01", "birth": number[6:14],
                                 "address": "江苏省徐州市鼓楼区丰财街道和平路9号", "id_number": number,
                                 "authority": "徐州市公安局鼓楼分局", "valid_from": "20150101",
                                 "valid_until": "20350101"}], ensure_ascii=False), encoding="utf-8")
    reader = SimulatedReader(cards_file=path, auto=True)
    reader.open()
    card = reader.read()
    assert card is not None and card.name == "陈静" and card.id_number == number


def test_a_broken_card_on_the_simulated_reader_is_a_read_error():
    reader = SimulatedReader(auto=False)
    reader.open()
    reader.place({**BUILT_IN_CARDS[0], "id_number": ZHANG[:-1] + ("1" if ZHANG[-1] != "1" else "2")})
    with pytest.raises(CardReaderError, match="证件号码读取有误"):
        reader.read()


def test_reading_a_closed_simulated_reader_says_so():
    with pytest.raises(CardReaderError, match="未打开"):
        SimulatedReader(auto=False).read()


# ----- the drivers for the device registry -----------------------------------------------------------------------

def test_drivers_simulated_and_real():
    sim = devices_idcard.drivers(None, simulate=True)
    assert [d.name for d in sim] == ["idcard-sim"]
    d = sim[0]
    assert isinstance(d, DeviceDriver) and d.kind is DeviceKind.ID_READER and d.label
    assert d.available() == (True, "")
    result = d.test()
    assert result.ok and "读卡成功" in result.message and ZHANG not in result.message
    assert "张桂兰" not in json.dumps(result.detail, ensure_ascii=False)
    real = {d.name: d for d in devices_idcard.drivers(None, simulate=False)}
    assert {"idcard-termb", "idcard-sdtapi", "idcard-http"} <= set(real)
    for name in ("idcard-termb", "idcard-sdtapi"):  # no vendor library on this machine
        ok, why = real[name].available()
        assert not ok and "未找到身份证阅读器驱动" in why
        result = real[name].test()
        assert not result.ok and "未找到身份证阅读器驱动" in result.message


# ----- vendor SDKs (ctypes) ----------------------------------------------------------------------------------------

def test_loading_a_missing_vendor_library_names_it_in_chinese(tmp_path):
    with pytest.raises(CardReaderError, match="未找到身份证阅读器驱动") as e:
        load_library(str(tmp_path / "libtermb.so"), ())
    assert "libtermb.so" in str(e.value)
    with pytest.raises(CardReaderError, match="未找到身份证阅读器驱动"):
        TermbReader(library=str(tmp_path / "termb.dll")).open()
    with pytest.raises(CardReaderError, match="未找到身份证阅读器驱动"):
        SdtapiReader(library=str(tmp_path / "libsdtapi.so"), port=1001).open()


def test_a_file_that_is_no_library_is_refused_in_chinese(tmp_path):
    bogus = tmp_path / "libsdtapi.so"
    bogus.write_bytes(b"not a shared object")
    with pytest.raises(CardReaderError, match="无法加载身份证阅读器驱动"):
        SdtapiReader(library=str(bogus)).open()


def test_sdtapi_ports_are_checked():
    with pytest.raises(CardReaderError, match="端口"):
        SdtapiReader(port=2000)


# ----- a vendor's local HTTP service -------------------------------------------------------------------------------

class _Service(BaseHTTPRequestHandler):
    answer: dict = {}
    seen: list = []

    def do_GET(self):
        self.seen.append(self.path)
        body = json.dumps(self.answer, ensure_ascii=False).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep the test output (and any card data) out of stderr
        pass


@pytest.fixture
def service():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Service.seen = []
    yield server
    server.shutdown()
    server.server_close()


def test_the_http_reader_maps_a_services_json(service):
    port = service.server_address[1]
    _Service.answer = {"resultFlag": 0, "resultContent": {
        "partyName": "张桂兰", "gender": "2", "nation": "01", "bornDay": "19400312",
        "certAddress": "江苏省徐州市鼓楼区丰财街道幸福里一区3号楼", "certNumber": ZHANG,
        "certOrg": "徐州市公安局鼓楼分局", "effDate": "20060115", "expDate": "长期"}}
    reader = HttpCardReader(url=f"http://127.0.0.1:{port}/readcard")
    reader.open()
    card = reader.read()
    assert card is not None and card.id_number == ZHANG and card.valid_until is None and card.sex == "女"
    assert _Service.seen == ["/readcard"]
    _Service.answer = {"resultFlag": -1, "errorMsg": "未放卡"}
    assert reader.read() is None  # the service's "no card" answer


def test_the_http_reader_field_mapping_is_configurable(service):
    port = service.server_address[1]
    number = make_id_number(35, "男", seed=5)
    _Service.answer = {"code": 1, "data": {"xm": "王强", "xb": "男", "mz": "汉", "csrq": number[6:14],
                                           "zz": "江苏省徐州市鼓楼区", "sfzh": number, "qfjg": "徐州市公安局",
                                           "yxqs": "20200101", "yxqz": "20400101"}}
    fields = {"name": "data.xm", "sex": "data.xb", "ethnicity": "data.mz", "birth": "data.csrq",
              "address": "data.zz", "id_number": "data.sfzh", "authority": "data.qfjg",
              "valid_from": "data.yxqs", "valid_until": "data.yxqz"}
    reader = HttpCardReader(url=f"http://127.0.0.1:{port}/api/read", fields=fields, ok_key="code", ok_values=[1])
    reader.open()
    card = reader.read()
    assert card is not None and card.name == "王强" and card.valid_until == dt.date(2040, 1, 1)
    _Service.answer = {"code": 0}
    assert reader.read() is None


def test_the_http_reader_without_its_service_says_so(service):
    port = service.server_address[1]
    service.shutdown()
    service.server_close()
    reader = HttpCardReader(url=f"http://127.0.0.1:{port}/readcard", timeout=2)
    with pytest.raises(CardReaderError, match="读卡服务"):
        reader.open()


def test_the_http_reader_refuses_a_non_local_url():
    for url in ("http://192.0.2.1:19196/readcard", "https://127.0.0.1/readcard", "http://127.0.0.1:99999/x"):
        with pytest.raises(CardReaderError, match="本机"):
            HttpCardReader(url=url)
    assert HttpCardReader(url="http://127.0.0.1:19196").url == "http://127.0.0.1:19196/readcard"


# ----- the card photo: kept only when the committee turns it on ---------------------------------------------------

def _keep_photos(ctx, on: bool) -> None:
    from app.desk.auth import AuthService
    from app.desk.devices.registry import set_keep_card_photo
    set_keep_card_photo(ctx, AuthService(ctx).login("boss", "bosspass"), on)


def test_the_card_photo_is_kept_only_when_the_committee_turns_it_on(desk_ctx):
    from app.desk.attachments.service import AttachmentService
    from app.desk.auth import AuthService
    from app.desk.devices.idcard import file_card_photo, keep_card_photo
    from app.desk.residents import ResidentService
    desk = AuthService(desk_ctx).login("desk", "deskpass")
    resident = ResidentService(desk_ctx).search("张桂兰")[0]
    attachments = AttachmentService(desk_ctx)
    reader = SimulatedReader(auto=False, photo=True)
    reader.open()
    reader.place({**BUILT_IN_CARDS[0], "id_number": "11010519491231002X", "birth": "19491231"})
    card = reader.read()
    assert card is not None and card.photo is not None and card.photo[:2] == b"\xff\xd8"  # a JPEG
    assert keep_card_photo(desk_ctx) is False
    assert file_card_photo(desk_ctx, attachments, desk, resident.id, card) is None  # off: nothing kept
    assert attachments.for_resident(resident.id) == []
    _keep_photos(desk_ctx, True)
    assert keep_card_photo(desk_ctx) is True
    info = file_card_photo(desk_ctx, attachments, desk, resident.id, card)
    assert info is not None and info.source == "idcard" and info.resident_id == resident.id and info.case_id is None
    assert [a.id for a in attachments.for_resident(resident.id)] == [info.id]
    assert file_card_photo(desk_ctx, attachments, desk, resident.id, card) is None  # one card photo per resident
    assert devices_idcard.without_photo(card).photo is None

"""Sample documents for ``demo-documents``, previews, tests and the documents bench (never product code).

The applicant's ID is the GB 11643 example.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from app.core.vocabulary import CHINA_TZ, DocKind
from app.desk.printing.data import (
    AnswerSection,
    AnswerTable,
    ChecklistLine,
    DocumentData,
    MaterialLine,
    MissingMaterial,
    RequestFacts,
)
from app.desk.printing.kinds import kind_for

_Overrides = Callable[[dt.datetime], dict[str, Any]]


def sample_document(doc_type: str) -> DocumentData:
    """Realistic demo data for one document kind; ValueError for an unknown kind."""
    kind = kind_for(doc_type)
    received = dt.datetime(2025, 1, 24, 10, 30, tzinfo=CHINA_TZ)
    fields = _base(kind.kind, received) | _OVERRIDES[kind.kind](received)
    return DocumentData(doc_number=kind.doc_number(fields["case_number"]), **fields)


def _base(doc_type: DocKind, received: dt.datetime) -> dict[str, Any]:
    """A 转办 case of 养老保险待遇申领 received on 24 January 2025, with four materials handed in."""
    return dict(
        doc_type=doc_type,
        committee_name="北京市西城区新街口街道玉桃园社区居民委员会",
        committee_phone="010-66181234",
        committee_address="北京市西城区新街口街道玉桃园三区12号楼一层社区服务站",
        case_number="110102003-D01-20250124-0007",
        item_code="MZ-0203",
        item_name="城乡居民基本养老保险待遇申领",
        mode="转办",
        department="新街口街道社会保障事务所",
        applicant_name="张秀兰",
        applicant_id_number="11010519491231002X",
        applicant_phone="13800138000",
        agent_name=None,
        received_at=received,
        materials=[
            MaterialLine("居民身份证", "原件及复印件", 1),
            MaterialLine("居民户口簿（户主页及本人页）", "复印件", 1),
            MaterialLine("社会保障卡", "复印件", 1),
            MaterialLine("近期一寸免冠彩色照片", "原件", 2),
        ],
        missing=[],
        deadline=dt.datetime(2025, 1, 27, 17, 30, tzinfo=CHINA_TZ),
        deadline_provisional=False,
        deadline_note="",
        worker_name="李明",
        worker_phone="010-66181235",
        result="",
        result_approved=None,
        refusal_reason="",
        redirect_to="",
        delivery="办理结果由社区电话通知，请凭本回执到社区服务站领取。",
        progress_query="扫描本回执二维码，或致电社区服务站 010-66181234（工作日 9:00—17:30）查询办理进度。",
        appeal_route="",
        verification_code="7K3Q9D2M",
        verify_url="https://onedesk.example.gov.cn/v/110102003-D01-20250124-0007?c=7K3Q9D2M",
        reprint_count=0,
        printed_at=received + dt.timedelta(minutes=4),
    )


_OVERRIDES: dict[DocKind, _Overrides] = {
    DocKind.RECEIPT: lambda received: {},
    # A 诉求 (issue 20): a leaking roof at the resident's address, first feedback due 24 hours after intake.
    DocKind.REQUEST_SLIP: lambda received: dict(
        case_number="110102003-D01-20250124-0011", item_code="SQ", item_name="诉求·物业维修", mode="诉求",
        department="", materials=[], deadline=None, delivery="", progress_query="",
        verify_url="https://onedesk.example.gov.cn/v/110102003-D01-20250124-0011?c=7K3Q9D2M",
        request=RequestFacts(
            category="物业维修", urgency="紧急", place="玉桃园三区5号楼2单元301室", block="玉桃园三区（一块区）",
            leader="王建华", description="卫生间顶部漏水，已持续三天，楼上住户联系不上，请社区协调物业上门查看维修。",
            feedback_due=received + dt.timedelta(hours=24), contact_name="张秀兰", contact_phone="13800138000",
            handler_name="玉桃园物业服务中心", handler_phone="010-66185678",
            promised_at=received + dt.timedelta(hours=6))),
    DocKind.PACKET: lambda received: dict(
        item_code="MZ-01", item_name="高龄老人尊老金申领", department="街道民政办",
        sections=(AnswerSection("计算结果", (("周岁年龄", "85 岁"),)),
                  AnswerSection("老人基本情况", (("居住情况", "与子女同住"),
                                              ("紧急联系人", "王建军（子女，110105********0017）")))),
        checklist=(ChecklistLine("申请人居民身份证", "原件及复印件", 1, "已收", "必交", 1),
                   ChecklistLine("户口簿", "原件及复印件", 1, "已收", "必交", 1),
                   ChecklistLine("申请人社会保障卡或银行卡", "复印件", 1, "容缺待补", "须于2025年2月7日前补交", 0))),
    DocKind.NOTICE: lambda received: dict(
        materials=[MaterialLine("居民身份证", "原件及复印件", 1)],
        missing=[
            MissingMaterial("居民户口簿", "户主页及本人页复印件各 1 份，A4 纸，字迹清晰"),
            MissingMaterial("近期一寸免冠彩色照片", "白底，近 6 个月内拍摄，2 张"),
            MissingMaterial("社会保障卡", "本人社会保障卡正反面复印件 1 份"),
        ],
        deadline=None,
    ),
    DocKind.REFUSAL: lambda received: dict(
        item_code="GA-0801",
        item_name="普通护照申领",
        mode="即办",
        department="",
        materials=[],
        deadline=None,
        refusal_reason="普通护照须由申请人本人到公安机关出入境管理部门申请并现场采集指纹和照片，不属于社区居民委员会代收代办范围。",
        redirect_to="西城区公安分局出入境接待大厅（西城区西直门南大街2号），也可通过国家移民管理局政务服务平台网上预约。",
        delivery="",
        progress_query="",
    ),
    DocKind.COMPLETION: lambda received: dict(
        result="经新街口街道社会保障事务所审核，您符合城乡居民基本养老保险待遇领取条件，自2025年2月起按月发放至本人社会保障卡。",
        result_approved=True,
        delivery="请于工作日 9:00—17:30 携本人居民身份证到社区服务站领取待遇核定通知书，也可委托他人凭委托书代领。",
        decided_at=dt.datetime(2025, 1, 27, 15, 10, tzinfo=CHINA_TZ),
        printed_at=dt.datetime(2025, 1, 28, 9, 5, tzinfo=CHINA_TZ),
    ),
    DocKind.CERTIFICATE: lambda received: dict(
        item_code="MZ-15",
        item_name="居委会出具证明（限保留证明事项清单）",
        mode="即办",
        department="社区居民委员会",
        deadline=None,
        certificate_text="兹证明张秀兰（身份证号：110105********002X）：自2019年3月起居住在本社区玉桃园三区5号楼2单元301室。"
                         "以上情况经本居委会工作人员入户或实地核实。本证明用于提交新街口街道社区卫生服务中心办理家庭医生签约。",
        basis=(("证明类别", "居住情况证明"), ("所依据的保留证明事项清单条目（序号及名称）", "第2项 居住情况证明"),
               ("核实方式", "工作人员入户或实地核实"),
               ("核实所依据的记录（查阅的台账、走访记录等）", "社区户籍及居住台账；2025年1月23日入户走访记录"),
               ("核实人", "李明"), ("核实日期", "2025年01月23日")),
        materials=[MaterialLine("申请人居民身份证", "原件", 1)],
        delivery="",
        decided_at=received + dt.timedelta(minutes=3),
    ),
    DocKind.APPLICATION: lambda received: dict(
        item_code="MZ-02",
        item_name="最低生活保障申请",
        department="街道民政办（社会救助窗口）",
        deadline=None,
        answers=(("申请原因", "本人患病，无固定收入，家庭生活困难"), ("家庭人均月收入", "450 元")),
        tables=(AnswerTable("共同生活的家庭成员（含申请人本人）",
                            ("姓名", "身份证号码", "与申请人关系", "就业状况", "月收入"),
                            (("张秀兰", "110105********002X", "本人", "丧失劳动能力", "300 元"),
                             ("王建军", "110105********0017", "配偶", "灵活就业", "600 元"))),),
        materials=[MaterialLine("居民身份证", "原件及复印件", 1), MaterialLine("居民户口簿", "复印件", 1)],
        delivery="",
        progress_query="",
    ),
    DocKind.REPLY: lambda received: dict(
        item_code="ZJ-0105",
        item_name="公共租赁住房备案申请",
        department="西城区住房和城市建设委员会",
        result="经区住房保障部门审核，您家庭在本市名下已有住房一套，人均住房面积高于15平方米，不符合公共租赁住房备案条件，不予备案。",
        result_approved=False,
        delivery="本告知由社区服务站当面送达；纸质答复可于工作日到社区服务站领取。",
        appeal_route="如对答复有异议，可自收到本告知之日起60日内向西城区人民政府申请行政复议，或在6个月内向西城区人民法院提起行政诉讼。",
        decided_at=dt.datetime(2025, 1, 27, 16, 0, tzinfo=CHINA_TZ),
        printed_at=dt.datetime(2025, 1, 28, 9, 20, tzinfo=CHINA_TZ),
    ),
    DocKind.MAKEUP_NOTICE: lambda received: dict(
        materials=[MaterialLine("居民身份证", "原件及复印件", 1),
                   MaterialLine("居民户口簿（户主页及本人页）", "复印件", 1)],
        makeup=(MissingMaterial("社会保障卡",
                                "申请人本人名下、已激活金融功能的社会保障卡，复印卡号一面，卡号清晰，用于发放待遇"),),
        makeup_due=dt.date(2025, 2, 7),  # five working days after 24 January 2025: 1/26, 1/27, then 2/5–2/7
    ),
    DocKind.PLEDGE: lambda received: dict(
        item_code="MZ-14",
        item_name="惠民殡葬补贴申领",
        department="街道民政办",
        deadline=None,
        pledged=(MissingMaterial("与逝者亲属关系证明", "户口簿、结婚证、出生医学证明等能证明亲属关系的材料"),),
        pledge_text="本人承诺：本人与逝者的亲属关系真实，所填申请信息及提交的其他材料真实、完整、有效。本人知晓承办部门将"
                    "对承诺内容进行核查；如承诺不实，本人愿意承担由此产生的法律责任，退回已领取的款项，并同意将不实承诺"
                    "记入个人信用记录。",
    ),
}

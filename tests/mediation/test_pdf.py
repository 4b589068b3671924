"""The 人民调解协议书 and 终止调解告知书 PDFs: what the law requires is in the text, no font files."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from pypdf import PdfReader

from fengqiao.mediation import pdf, services
from fengqiao.mediation.models import TerminationReason
from mediation.conftest import LI_ID, ZHANG_ID

pytestmark = pytest.mark.django_db


def text_of(content: bytes) -> str:
    reader = PdfReader(BytesIO(content))
    text = "".join(page.extract_text() for page in reader.pages)
    # Lines wrap anywhere in Chinese text: compare without whitespace.
    return re.sub(r"\s+", "", text)


def fonts_of(content: bytes) -> list[dict]:
    reader = PdfReader(BytesIO(content))
    fonts = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts.append(font)
            for descendant in font.get("/DescendantFonts", []):
                fonts.append(descendant.get_object())
    return fonts


def test_the_agreement_says_everything_the_law_requires(written_agreement):
    text = text_of(pdf.agreement_pdf(written_agreement))
    assert "人民调解协议书" in text
    assert written_agreement.number in text
    for expected in (
        "张三",
        "李四",
        "性别：男",
        "民族：汉",
        ZHANG_ID,
        LI_ID,
        "枫源村1号",
        "枫源村人民调解委员会",
        "王调解",
        "纠纷主要事实、争议事项",
        "李四家堆放杂物致排水沟堵塞",
        "排水沟疏通责任及张三院内受损物品的赔偿",
        "各方当事人的责任",
        "李四对排水沟堵塞负主要责任",
        "李四赔偿张三损失人民币八百元",
        "履行方式、期限",
        "李四以现金方式向张三支付赔偿款",
        "本协议一式3份，当事人各执一份，人民调解委员会留存一份",
        "自各方当事人签名、盖章或者按指印，人民调解员签名并加盖人民调解委员会印章之日起生效",
        "三十日内共同向人民法院申请司法确认",
        "人民调解员（签名）",
        "（印章）",
    ):
        assert expected in text, expected
    deadline = written_agreement.performance_deadline
    assert f"{deadline.year}年{deadline.month}月{deadline.day}日前履行完毕" in text
    signed = written_agreement.signed_on
    assert f"{signed.year}年{signed.month}月{signed.day}日" in text
    # A signature line for each party.
    assert text.count("（签名、盖章或者按指印）") == 2


def test_the_agreement_uses_the_built_in_cid_font_and_embeds_no_font_file(written_agreement):
    content = pdf.agreement_pdf(written_agreement)
    fonts = fonts_of(content)
    assert any(font.get("/BaseFont") == "/STSong-Light" for font in fonts)
    for font in fonts:
        assert font.get("/Subtype") != "/TrueType", font
        descriptor = font.get("/FontDescriptor")
        if descriptor is not None:
            descriptor = descriptor.get_object()
            assert not {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), font
    assert b"/FontFile" not in content


def test_user_text_cannot_inject_markup(mediation, mediator):
    from mediation.conftest import agreement_data

    agreement = services.record_agreement(
        mediation,
        actor=mediator.user,
        membership=mediator.membership,
        data=agreement_data(terms='<font name="Courier">一、</font> & <b>赔偿</b>'),
    )
    text = text_of(pdf.agreement_pdf(agreement))
    assert '<fontname="Courier">一、</font>&<b>赔偿</b>' in text


def test_the_termination_notice_names_the_other_routes(mediation, mediator):
    termination = services.record_failure(
        mediation,
        actor=mediator.user,
        membership=mediator.membership,
        reason_kind=TerminationReason.NO_AGREEMENT,
        reason="双方对赔偿金额分歧较大。",
        routes=["arbitration", "administrative", "litigation"],
    )
    content = pdf.termination_pdf(termination)
    text = text_of(content)
    for expected in (
        "终止调解告知书",
        mediation.case.code,
        "张三、李四",
        "双方当事人经调解未能达成协议",
        "双方对赔偿金额分歧较大",
        "申请仲裁",
        "请求有关行政机关依法处理",
        "向人民法院提起诉讼",
        "枫源村人民调解委员会（印章）",
    ):
        assert expected in text, expected
    assert b"/FontFile" not in content

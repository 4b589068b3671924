"""The mediation documents as PDF: 人民调解协议书 and 终止调解告知书.

Set in ReportLab's built-in CID font STSong-Light, which every PDF reader provides, so no font
file is read from the system or embedded (ARCHITECTURE §3). The wording is the statutory Chinese
form (人民调解法 arts. 29–33) and is printed in Chinese whatever the interface language: it is a
legal document handed to the parties, not a page of the interface.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from io import BytesIO

from django.utils import timezone
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer
from reportlab.platypus.flowables import Flowable

from fengqiao.mediation.models import Agreement, Termination

FONT = "STSong-Light"
PARTY_LABELS = "甲乙丙丁戊己庚辛壬癸"
BLANK = "＿＿＿＿＿＿＿＿＿＿"


@cache
def _font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


@cache
def _styles() -> dict[str, ParagraphStyle]:
    font = _font()
    # wordWrap="CJK" breaks lines between any two characters, as Chinese text is set.
    body = ParagraphStyle("body", fontName=font, fontSize=12, leading=20, wordWrap="CJK")
    return {
        "title": ParagraphStyle(
            "title", parent=body, fontSize=20, leading=28, alignment=TA_CENTER, spaceAfter=4 * mm
        ),
        "number": ParagraphStyle("number", parent=body, alignment=TA_RIGHT, spaceAfter=4 * mm),
        "heading": ParagraphStyle("heading", parent=body, fontSize=13, spaceBefore=3 * mm),
        "body": ParagraphStyle("text", parent=body, firstLineIndent=24),
        "plain": body,
        "right": ParagraphStyle("right", parent=body, alignment=TA_RIGHT),
    }


def _escape(text: str) -> str:
    # Paragraph reads a small XML markup: user text must not open tags.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _paragraphs(text: str, style: str = "body") -> list[Flowable]:
    styles = _styles()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return [Paragraph(_escape(line), styles[style]) for line in lines] or [
        Paragraph("无", styles[style])
    ]


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _party_label(index: int) -> str:
    return f"{PARTY_LABELS[index]}方" if index < len(PARTY_LABELS) else f"第{index + 1}方"


def _party_line(index: int, party: dict[str, str]) -> str:
    bits = [f"姓名：{party.get('name', '')}"]
    if party.get("sex"):
        bits.append(f"性别：{party['sex']}")
    if party.get("ethnicity"):
        bits.append(f"民族：{party['ethnicity']}")
    bits.append(f"身份证号码：{party.get('id_number') or '（未提供）'}")
    bits.append(f"住址：{party.get('address') or '（未提供）'}")
    return f"当事人（{_party_label(index)}）：" + "，".join(bits)


def _build(flowables: list[Flowable], *, title: str, author: str) -> bytes:
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=25 * mm,
        topMargin=25 * mm,
        bottomMargin=25 * mm,
        # Document metadata names the form and the committee only, never a party.
        title=title,
        author=author,
        creator="Fengqiao",
        subject=title,
    )
    document.build(flowables)
    return buffer.getvalue()


def agreement_pdf(agreement: Agreement) -> bytes:
    """The 人民调解协议书 with everything 人民调解法 art. 29 requires, ready to print and sign."""
    styles = _styles()
    mediation = agreement.mediation
    committee = mediation.committee.name
    parties = agreement.parties
    mediators = "、".join(m.name for m in mediation.mediators.all())
    story: list[Flowable] = [
        Paragraph("人民调解协议书", styles["title"]),
        Paragraph(_escape(f"编号：{agreement.number}"), styles["number"]),
    ]
    for index, party in enumerate(parties):
        story.append(Paragraph(_escape(_party_line(index, party)), styles["plain"]))
    story.append(Paragraph(_escape(f"调解组织：{committee}"), styles["plain"]))
    story.append(Paragraph(_escape(f"人民调解员：{mediators or BLANK}"), styles["plain"]))

    story.append(Paragraph("一、纠纷主要事实、争议事项", styles["heading"]))
    story.extend(_paragraphs(agreement.facts))
    story.append(Paragraph("争议事项：", styles["plain"]))
    story.extend(_paragraphs(agreement.disputed_matters))
    story.append(Paragraph("二、各方当事人的责任", styles["heading"]))
    story.extend(_paragraphs(agreement.responsibilities))
    story.append(
        Paragraph("三、经人民调解委员会主持调解，各方当事人自愿达成如下协议：", styles["heading"])
    )
    story.extend(_paragraphs(agreement.terms))
    story.append(Paragraph("四、履行方式、期限", styles["heading"]))
    story.extend(_paragraphs(agreement.performance))
    if agreement.performed_immediately:
        story.append(Paragraph("本协议约定事项已当场履行完毕。", styles["body"]))
    elif agreement.performance_deadline:
        story.append(
            Paragraph(
                f"履行期限：{chinese_date(agreement.performance_deadline)}前履行完毕。",
                styles["body"],
            )
        )

    story.append(Paragraph("五、其他事项", styles["heading"]))
    story.append(
        Paragraph(
            f"本协议一式{agreement.copies}份，当事人各执一份，人民调解委员会留存一份。",
            styles["body"],
        )
    )
    story.append(
        Paragraph(
            "本协议自各方当事人签名、盖章或者按指印，人民调解员签名并加盖人民调解委员会印章之日起"
            "生效。经人民调解委员会调解达成的调解协议，具有法律约束力，当事人应当按照约定履行。",
            styles["body"],
        )
    )
    story.append(
        Paragraph(
            "当事人认为有必要的，可以自本协议生效之日起三十日内共同向人民法院申请司法确认；"
            "人民法院依法确认调解协议有效，一方当事人拒绝履行或者未全部履行的，"
            "对方当事人可以向人民法院申请强制执行。",
            styles["body"],
        )
    )

    signatures: list[Flowable] = [Spacer(1, 8 * mm)]
    for index, party in enumerate(parties):
        signatures.append(
            Paragraph(
                _escape(
                    f"当事人（{_party_label(index)}）{party.get('name', '')}"
                    f"（签名、盖章或者按指印）：{BLANK}"
                ),
                styles["plain"],
            )
        )
        signatures.append(Spacer(1, 4 * mm))
    signatures.append(Paragraph(f"人民调解员（签名）：{BLANK}", styles["plain"]))
    signatures.append(Spacer(1, 4 * mm))
    signatures.append(Paragraph(_escape(f"{committee}（印章）"), styles["right"]))
    signatures.append(Paragraph(chinese_date(agreement.signed_on), styles["right"]))
    story.append(KeepTogether(signatures))
    return _build(story, title="人民调解协议书", author=committee)


REASON_TEXT = {
    "no_agreement": "双方当事人经调解未能达成协议",
    "party_refused": "当事人拒绝或者要求终止调解",
    "other": "存在不宜继续调解的情形",
}
ROUTE_TEXT = {
    "arbitration": "申请仲裁",
    "administrative": "请求有关行政机关依法处理",
    "litigation": "向人民法院提起诉讼",
}


def termination_pdf(termination: Termination) -> bytes:
    """The 终止调解告知书: mediation has ended; these are the parties' other routes (art. 26)."""
    styles = _styles()
    mediation = termination.mediation
    committee = mediation.committee.name
    case = mediation.case
    names = "、".join(p.name for p in case.parties.all()) or "各方当事人"
    routes = [text for key, text in ROUTE_TEXT.items() if getattr(termination, f"route_{key}")]
    story: list[Flowable] = [
        Paragraph("终止调解告知书", styles["title"]),
        Paragraph(_escape(f"事件编号：{case.code}"), styles["number"]),
        Paragraph(_escape(f"{names}："), styles["plain"]),
        Paragraph(
            _escape(
                f"你们之间的纠纷（{case.title}），本委员会于{chinese_date(timezone.localtime(mediation.started_at).date())}"
                f"受理调解。因{REASON_TEXT[termination.reason_kind]}，"
                f"本委员会决定自{chinese_date(termination.terminated_on)}起终止调解。"
            ),
            styles["body"],
        ),
    ]
    story.extend(_paragraphs(termination.reason))
    story.append(
        Paragraph(
            "根据《中华人民共和国人民调解法》第二十六条的规定，你们可以依法通过"
            + "、".join(routes)
            + "等途径维护自己的权利。",
            styles["body"],
        )
    )
    story.append(Spacer(1, 12 * mm))
    story.append(Paragraph(_escape(f"{committee}（印章）"), styles["right"]))
    story.append(Paragraph(chinese_date(termination.terminated_on), styles["right"]))
    return _build(story, title="终止调解告知书", author=committee)

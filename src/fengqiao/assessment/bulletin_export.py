"""The daily bulletin's exports from its stored JSON document: a standalone HTML page, an A4 PDF
laid out as an official document (issuing unit, 文号, narrative, 超期清单, signature and date)
with the Chinese font embedded, and an XLSX workbook."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from fengqiao.assessment.bulletin_document import DRAFT, ranking_words
from fengqiao.config import Settings
from fengqiao.errors import Problem, invalid

# The bulletin document is standalone (downloaded, mailed, printed): its template lives here.
DOCUMENT = Path(__file__).parent / "templates" / "bulletin_doc.html"

FORMATS = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
RED = (196, 30, 30)  # the red of an official document's heading and rule


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def overdue_span(hours: float) -> str:
    """How long past the deadline, in words: 25分钟, 5.5小时, or 3.2天 from two days on."""
    if hours < 1:
        return f"{max(1, round(hours * 60))}分钟"
    return f"{hours:.1f}小时" if hours < 48 else f"{hours / 24:.1f}天"


_environment = Environment(
    loader=FileSystemLoader(DOCUMENT.parent), autoescape=select_autoescape(["html"])
)
_environment.filters["percent"] = _percent
_environment.filters["number"] = _number
_environment.filters["span"] = overdue_span
_environment.globals["ranking_words"] = ranking_words
_environment.globals["DRAFT"] = DRAFT


def render_html(content: dict[str, Any]) -> str:
    """A standalone, printable HTML page."""
    return _environment.get_template(DOCUMENT.name).render(
        b=content,
        sections=sections(content),
        total_rows=TOTAL_ROWS,
        campaign_rows=[_campaign_cells(r) for r in _campaigns(content)["items"]],
    )


TOTAL_ROWS = (("新增事件", "new"), ("办结事件", "done"), ("按期办结", "done_on_time"),
              ("超期事件", "overdue"), ("其中：超期未办结", "overdue_open"))  # fmt: skip
RANK_HEAD = ("排名", "名称", "所属", "新增", "结案率", "按期结案率", "返工率", "超期数", "综合得分",
             "等级")  # fmt: skip
OVERDUE_HEAD = ("事件编号", "事件描述", "类别", "镇街", "责任单位", "期限", "状态", "超期时长")
ORDER_HEAD = ("督办单号", "事件编号", "类型", "责任单位", "镇街", "回复期限", "逾期")
WARNING_HEAD = ("类型", "镇街", "时间", "内容", "已签收")
CAMPAIGN_HEAD = ("专项整治", "措施", "目标", "完成", "完成率", "滞后镇街")


def _campaigns(content: dict[str, Any]) -> dict[str, Any]:
    # A bulletin stored before campaigns existed has no such section.
    return dict(content.get("campaigns") or {"total": 0, "items": []})


def _campaign_cells(row: dict[str, Any]) -> list[str]:
    def amount(value: float) -> str:
        return f"{value:.0f}" if value == int(value) else f"{value:.1f}"

    return [row["campaign"], row["measure"], f"{amount(row['target'])}{row['unit']}",
            f"{amount(row['done'])}{row['unit']}", _percent(row["rate"]), row["lagging"] or "—"]  # fmt: skip


def _rank_cells(row: dict[str, Any]) -> list[str]:
    return [
        str(row["rank"] or "—"), row["name"], row["area"], str(row["new"]),
        _percent(row["closure_rate"]), _percent(row["on_time_rate"]),
        _percent(row["rework_rate"]), str(row["overdue"]), _number(row["score"]),
        row["grade"] or "—",
    ]  # fmt: skip


def _overdue_cells(row: dict[str, Any]) -> list[str]:
    return [row["code"], row["description"], row["category"], row["town"], row["unit"] or "—",
            row["due_at"], row["status"], overdue_span(row["overdue_hours"])]  # fmt: skip


def _order_cells(row: dict[str, Any]) -> list[str]:
    return [row["code"], row["event_code"], row["kind"], row["unit"], row["town"], row["due_at"],
            "是" if row["late"] else "否"]  # fmt: skip


def _warning_cells(row: dict[str, Any]) -> list[str]:
    return [row["kind"], row["town"], row["at"], row["message"],
            "是" if row["acknowledged"] else "否"]  # fmt: skip


def font_missing(path: Path) -> Problem:
    return Problem(
        503, "pdf-font-missing", "PDF font missing", "缺少 PDF 中文字体",
        f"no Chinese font at {path}: install fonts-wqy-microhei or set FENGQIAO_BULLETIN_FONT "
        "to a .ttf/.ttc with CJK glyphs",
        f"未找到中文字体 {path}：请安装 fonts-wqy-microhei，或将 FENGQIAO_BULLETIN_FONT "
        "设为含中文字形的 .ttf/.ttc 字体文件",
    )  # fmt: skip


def sections(content: dict[str, Any]) -> dict[str, str]:
    """The section headings, numbered in order, named for the bulletin's own area."""
    overdue = content["overdue"]
    return {
        "summary": f"一、{content['district']}概况",
        "ranking": f"二、{content['top_bottom']['subject']}综合得分前五名与后五名（本月）",
        "overdue": f"三、超期清单（本月超期{overdue['total']}件，其中未办结{overdue['open']}件）",
        "orders": f"四、待回复督办单（共{content['orders']['total']}件）",
        "warnings": f"五、当日预警（共{content['warnings']['total']}条）",
        "campaigns": f"六、专项整治进展（进行中{_campaigns(content)['total']}项）",
        "regions": f"附表一：{content['region_word']}考核排名（本月）",
        "units": "附表二：责任单位考核排名（本月）",
    }


def render_pdf(content: dict[str, Any], *, font: Path) -> bytes:
    """An A4 PDF with the font embedded (subset), so Chinese renders on any reader: the red
    heading with the issuing unit and 文号, the title, the sections, the signature and date."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    if not font.is_file():
        raise font_missing(font)
    document = content["document"]
    heads = sections(content)
    pdf = FPDF(orientation="portrait", format="A4")
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.set_margins(16, 14, 16)
    pdf.add_font("cjk", fname=str(font))
    pdf.set_title(f"{document['title']}（{document['day_zh']}）")
    pdf.add_page()
    pdf.set_text_color(*RED)
    pdf.set_font("cjk", size=22)
    pdf.cell(0, 14, document["issuer"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("cjk", size=11)
    pdf.cell(0, 8, document["number"] or f"（{DRAFT}）", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*RED)
    pdf.set_line_width(0.8)
    pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.w - pdf.r_margin, pdf.get_y() + 1)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    pdf.ln(5)
    pdf.set_font("cjk", size=17)
    pdf.cell(0, 10, document["title"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=11)
    pdf.cell(0, 7, f"（{document['day_zh']}）", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=8)
    pdf.cell(0, 6, f"统计截至{document['as_of']}（北京时间）；排名按本月综合得分",
             align="C", new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    head = FontFace(emphasis=None, fill_color=(232, 238, 247))

    def section(title: str) -> None:
        if pdf.get_y() > pdf.h - 45:  # keep a heading with the start of its table
            pdf.add_page()
        pdf.ln(3)
        pdf.set_font("cjk", size=12)
        pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=8)

    def paragraph(text: str, size: int = 10) -> None:
        pdf.set_font("cjk", size=size)
        pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=8)

    def table(header: tuple[str, ...], rows: list[list[str]], widths: tuple[int, ...]) -> None:
        if not rows:
            pdf.cell(0, 6, "无", new_x="LMARGIN", new_y="NEXT")
            return
        with pdf.table(col_widths=widths, headings_style=head, line_height=5) as grid:
            grid.row(list(header))
            for cells in rows:
                grid.row(cells)

    totals = content["totals"]
    section(heads["summary"])
    paragraph("　　" + content["narrative"])
    pdf.ln(2)
    table(
        ("指标", "当日", "本月累计"),
        [[label, str(totals["day"][key]), str(totals["month"][key])] for label, key in TOTAL_ROWS]
        + [
            [
                "按期办结率",
                _percent(totals["day"]["on_time_rate"]),
                _percent(totals["month"]["on_time_rate"]),
            ]
        ],
        (2, 1, 1),
    )
    ranking = content["top_bottom"]
    section(heads["ranking"])
    paragraph(f"前五名：{ranking_words(ranking['top'])}。")
    paragraph(f"后五名：{ranking_words(ranking['bottom'], ranking['ranked'])}。")
    overdue = content["overdue"]
    section(heads["overdue"])
    table(OVERDUE_HEAD, [_overdue_cells(r) for r in overdue["items"]], (6, 6, 3, 3, 4, 3, 3, 2))
    if overdue["total"] > len(overdue["items"]):
        pdf.cell(0, 6, f"仅列出前{len(overdue['items'])}件（未办结的在前，超期最久的在前）。",
                 new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    orders = content["orders"]
    section(heads["orders"])
    table(ORDER_HEAD, [_order_cells(r) for r in orders["items"]], (4, 4, 2, 4, 3, 3, 1))
    warnings = content["warnings"]
    section(heads["warnings"])
    table(WARNING_HEAD, [_warning_cells(r) for r in warnings["items"]], (2, 2, 3, 8, 1))
    section(heads["campaigns"])
    table(CAMPAIGN_HEAD, [_campaign_cells(r) for r in _campaigns(content)["items"]],
          (4, 3, 2, 2, 1, 5))  # fmt: skip
    rank_widths = (1, 4, 3, 1, 2, 2, 2, 1, 2, 1)
    section(heads["regions"])
    table(RANK_HEAD, [_rank_cells(r) for r in content["towns"]], rank_widths)
    section(heads["units"])
    table(RANK_HEAD, [_rank_cells(r) for r in content["units"]], rank_widths)
    # The signature: the issuing unit and the date it was issued, right-aligned.
    if pdf.get_y() > pdf.h - 40:
        pdf.add_page()
    pdf.ln(10)
    pdf.set_font("cjk", size=12)
    pdf.cell(0, 8, document["issuer"], align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 8, document["issued_on"], align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def render_xlsx(content: dict[str, Any]) -> bytes:
    """A workbook: 概况 (with the document's heading and narrative), 排名（区域）, 单位排名,
    超期清单, 督办单, 预警."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    bold = Font(bold=True)

    def sheet(title: str, header: tuple[str, ...], rows: list[list[Any]], first: bool) -> None:
        ws = book.active if first else book.create_sheet()
        assert ws is not None
        ws.title = title
        ws.append(list(header))
        for cell in ws[1]:
            cell.font = bold
        for row in rows:
            ws.append(row)
        for column in ws.columns:
            letter = column[0].column_letter
            widest = max(len(str(c.value or "")) for c in column)
            ws.column_dimensions[letter].width = min(60, 4 + 2 * widest)

    document, totals = content["document"], content["totals"]
    summary: list[list[Any]] = [
        [label, totals["day"][key], totals["month"][key]] for label, key in TOTAL_ROWS
    ]
    summary.append(["按期办结率", _percent(totals["day"]["on_time_rate"]),
                    _percent(totals["month"]["on_time_rate"])])  # fmt: skip
    ranking = content["top_bottom"]
    summary += [
        [],
        ["发文单位", document["issuer"]],
        ["文号", document["number"] or DRAFT],
        ["成文日期", document["issued_on"]],
        ["通报日期", content["day"]],
        ["统计截至", content["as_of"]],
        ["概述", content["narrative"]],
        ["前五名", ranking_words(ranking["top"])],
        ["后五名", ranking_words(ranking["bottom"], ranking["ranked"])],
    ]
    sheet("概况", ("指标", "当日", "本月累计"), summary, True)
    sheet(f"{content['region_word']}排名", RANK_HEAD,
          [_rank_cells(r) for r in content["towns"]], False)  # fmt: skip
    sheet("单位排名", RANK_HEAD, [_rank_cells(r) for r in content["units"]], False)
    overdue_rows = [
        [*_overdue_cells(r)[:7], r["overdue_hours"]] for r in content["overdue"]["items"]
    ]
    sheet("超期清单", (*OVERDUE_HEAD[:7], "超期（小时）"), overdue_rows, False)
    sheet("督办单", ORDER_HEAD, [_order_cells(r) for r in content["orders"]["items"]], False)
    sheet("预警", WARNING_HEAD, [_warning_cells(r) for r in content["warnings"]["items"]], False)
    sheet("专项整治", CAMPAIGN_HEAD,
          [_campaign_cells(r) for r in _campaigns(content)["items"]], False)  # fmt: skip
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export(content: dict[str, Any], *, fmt: str, settings: Settings) -> bytes:
    """The bulletin in `fmt` (html, pdf, xlsx)."""
    if fmt == "html":
        return render_html(content).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(content, font=settings.bulletin_font)
    if fmt == "xlsx":
        return render_xlsx(content)
    raise invalid("format", "one of html, pdf, xlsx", "格式应为 html、pdf 或 xlsx 之一")

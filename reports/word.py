"""The Word annex for the Kamer (python-docx): public tables, Begrippen and a paragraph for the letter."""
from __future__ import annotations

import io
from decimal import Decimal
from xml.sax.saxutils import escape

from babel.numbers import format_decimal
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Pt, RGBColor

from core.dates import datum_lang, tijdstip
from core.metrics import REPORT_SECONDS, timed
from core.money import format_millions, format_pct, format_thousands
from reports import APP_VERSION
from reports.queries import ReportFrames
from reports.terms import TERMS

FONT = "Arial"  # Liberation Sans stands in for it where Arial is not installed (same metrics)
BLUE, HEAD_FILL, RED, RED_FILL = RGBColor(0x15, 0x42, 0x73), "E6ECF2", "C00000", "FDE9E7"
LANDSCAPE_WIDTH = Cm(29.7 - 2 * 1.5)    # A4 landscape, 1,5 cm margins: the tables and the project annex
TWIPS_PER_EMU = 1 / 635
NB_HYPHEN = "\u2011"

#: The project annex: (header, public column(s) it shows, width in cm). Short classifications
#: share a cell, so all public columns fit on a landscape page at a readable size.
ANNEX = [
    ("Code", ("Projectcode",), 1.7),
    ("Project", ("Project",), 4.0),
    ("Categorie, programmalijn, vormen van uitbuiting", ("Categorie", "Programmalijn", "Vormen van uitbuiting"), 3.6),
    ("Uitvoerende organisatie", ("Uitvoerende organisatie",), 3.5),
    ("Instrument, looptijd, status", ("Instrument", "Looptijd", "Status"), 3.3),
    ("Verplicht {year}", ("Verplicht",), 2.2),
    ("Gerealiseerd {year}", ("Gerealiseerd",), 2.2),
    ("Verplicht totaal", ("Verplicht totaal",), 2.2),
    ("Toelichting", ("Toelichting",), 4.0),
]


@timed(REPORT_SECONDS, format="docx")
def build_docx(rf: ReportFrames) -> bytes:
    """The annex as .docx bytes. Public by construction: it reads only public columns, whatever rf holds."""
    m = rf.meta
    if m["internal"]:
        raise ValueError("De Word-bijlage is altijd de openbare versie.")
    doc = Document()
    _styles(doc)
    props = doc.core_properties
    props.title = f"Stand van zaken {m['year']} – {m['programme_name']}"
    # No person: the default author ("python-docx") or a login name would travel with the file.
    props.author = props.last_modified_by = m["ministry"] or "Programmamonitor"
    props.comments = f"Gemaakt met Programmamonitor {APP_VERSION}"
    props.language = "nl-NL"
    section = doc.sections[0]
    _page(section, WD_ORIENT.PORTRAIT)
    _header_footer(section, rf)

    _title_block(doc, rf)
    doc.add_heading("Tekst voor de Kamerbrief", 2)
    doc.add_paragraph(letter_paragraph(rf))
    for _year, note in sorted(rf.overruns.items()):
        _warning(doc, f"Let op: {note}")

    doc.add_heading("Begrippen", 2)
    for term, definition in TERMS:
        p = doc.add_paragraph()
        p.add_run(term).bold = True
        p.add_run(f" – {definition}")

    # The tables on landscape pages: a column per programme year, amounts to the cent, and no
    # amount broken over two lines.
    _page(doc.add_section(), WD_ORIENT.LANDSCAPE)
    money = _money(rf)
    doc.add_heading(f"Tabel 1. Stand van zaken besteding middelen (stand t/m {datum_lang(m['peildatum'])})", 2)
    for _year, note in sorted(rf.overruns.items()):
        _warning(doc, f"Let op: {note}")  # beside the red cells too, as on the workbook's Samenvatting
    _note(doc, rf)
    years = list(rf.summary.columns)
    label_cm = 5.5
    year_cm = min(3.0, (LANDSCAPE_WIDTH.cm - label_cm) / max(len(years), 1))
    rows = []
    for label in rf.summary.index:
        fmt = format_pct if label.startswith("%") else money
        bold = label in ("Beschikbaar budget", "Verplicht totaal", "Vrije ruimte")
        cells = [label] + [fmt(rf.summary.loc[label, y]) for y in years]
        red = [False] + [label in ("Vrije ruimte", "% verplicht") and y in rf.overruns for y in years]
        rows.append((cells, bold, red))
    _table(doc, ["Omschrijving"] + [str(y) for y in years], [label_cm] + [year_cm] * len(years), rows)
    for text in rf.summary_notes:
        run = doc.add_paragraph().add_run(text)
        run.italic, run.font.size = True, Pt(8.5)  # as the unit above the table

    for n, (title, first, df, total) in enumerate((
            (f"Stand per categorie {m['year']}", "Categorie", rf.categories, "Totaal"),
            (f"Stand per programmalijn {m['year']}", "Programmalijn", rf.lines, "Totaal projecten")), start=2):
        doc.add_heading(f"Tabel {n}. {title}", 2)
        _note(doc, rf)
        rows = [([label] + ["" if v is None else str(v) if col == "Aantal projecten" else money(v)
                            for col, v in df.loc[label].items()], label == total, None) for label in df.index]
        _table(doc, [first] + list(df.columns), [5.5, 2.4, 3.0, 3.0, 3.0], rows)

    doc.add_heading(f"Tabel 4. Verplicht {m['year']} per categorie en programmalijn (projecten)", 2)
    _note(doc, rf)
    mx = rf.matrix
    rows = [([label] + [money(v) for v in mx.loc[label]], label == "Totaal", None) for label in mx.index]
    _table(doc, ["Categorie"] + list(mx.columns), [3.5] + [3.0] * len(mx.columns), rows)

    # The budget documents' own tables (RBV models), as in the workbook.
    from reports import word_budgetdocs

    word_budgetdocs.add_tables(doc, rf, 5, money, _table, _note, LANDSCAPE_WIDTH.cm)
    if rf.projects is not None:
        _annex(doc, rf, money)
    _accountability(doc, rf)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def letter_paragraph(rf: ReportFrames) -> str:
    """The figures of the report year in one Dutch paragraph for the Kamerbrief (same values as Tabel 1)."""
    m, year = rf.meta, rf.meta["year"]
    s = rf.summary[year]
    text = (f"Per {datum_lang(m['peildatum'])} is van het beschikbare budget {year} van "
            f"{format_millions(s['Beschikbaar budget'])} {format_millions(s['Verplicht totaal'])} "
            f"({format_pct(s['% verplicht'])}) verplicht en {format_millions(s['Gerealiseerd t/m peildatum'])} "
            f"({format_pct(s['% gerealiseerd'])}) gerealiseerd; "
            f"de vrije ruimte is {format_millions(s['Vrije ruimte'])}")
    # 'mln.' ends the sentence: its own full stop is the sentence's.
    for y in sorted(rf.overruns):
        free = rf.summary.loc["Vrije ruimte", y]
        text += (f" In {y} is {format_millions(-free)} meer verplicht dan er beschikbaar is; "
                 "de budgetstop is doorbroken.")
    return text


def _money(rf: ReportFrames):
    # Without '€' in every cell, as in the budget documents: the note above each table gives the unit.
    if rf.meta["thousands"]:
        return lambda v: "" if v is None else format_thousands(v)
    return lambda v: "" if v is None else format_decimal(v, format="#,##0.00;-#,##0.00", locale="nl_NL")


# --- Document building blocks -------------------------------------------------------------------

def _styles(doc) -> None:
    for name, size, bold, color in (("Normal", 10, False, None), ("Title", 18, True, BLUE),
                                    ("Heading 1", 14, True, BLUE), ("Heading 2", 11.5, True, BLUE)):
        style = doc.styles[name]
        _plain_font(style.element)
        style.font.name, style.font.size, style.font.bold = FONT, Pt(size), bold
        if color is not None:
            style.font.color.rgb = color
        style.font.italic = False
    doc.styles["Normal"].paragraph_format.space_after = Pt(6)
    # Dutch text: Word checks its spelling in Dutch, a screen reader reads it in Dutch.
    doc.styles["Normal"].element.get_or_add_rPr().append(
        parse_xml(f'<w:lang {nsdecls("w")} w:val="nl-NL" w:eastAsia="nl-NL" w:bidi="ar-SA"/>'))
    doc.styles["Heading 2"].paragraph_format.space_before = Pt(14)
    title = doc.styles["Title"].element
    for border in title.findall(qn("w:pPr") + "/" + qn("w:pBdr")):
        border.getparent().remove(border)  # the default title's blue rule: not the ministry's style
    cell = doc.styles.add_style("Tabeltekst", WD_STYLE_TYPE.PARAGRAPH)
    cell.base_style = doc.styles["Normal"]
    cell.font.size = Pt(8.5)
    cell.paragraph_format.space_after = Pt(0)
    cell.paragraph_format.space_before = Pt(0)


def _plain_font(style_element) -> None:
    # Theme fonts (Calibri, Calibri Light) win over a named font in Word: drop them.
    for fonts in style_element.iter(qn("w:rFonts")):
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            fonts.attrib.pop(qn(attr), None)
        fonts.set(qn("w:cs"), FONT)


def _page(section, orientation) -> None:
    section.page_width, section.page_height = (Cm(21.0), Cm(29.7)) if orientation == WD_ORIENT.PORTRAIT \
        else (Cm(29.7), Cm(21.0))
    section.orientation = orientation
    margin = Cm(2.0) if orientation == WD_ORIENT.PORTRAIT else Cm(1.5)
    section.left_margin = section.right_margin = margin
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(1.8)
    section.header_distance = section.footer_distance = Cm(0.9)


def _header_footer(section, rf: ReportFrames) -> None:
    m = rf.meta
    head = section.header.paragraphs[0]
    head.text = (f"{m['programme_name']} · Stand van zaken {m['year']} · stand t/m {datum_lang(m['peildatum'])}"
                 + (f" · vastgelegde stand {m['snapshot']['id']}" if m["snapshot"] else ""))
    for p in (head, section.footer.paragraphs[0]):
        p.style.font.size = Pt(8)
    foot = section.footer.paragraphs[0]
    foot.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    foot.add_run("Pagina ")
    _field(foot, "PAGE")
    foot.add_run(" van ")
    _field(foot, "NUMPAGES")


def _field(paragraph, instruction: str) -> None:
    """A field Word and LibreOffice fill in when the page is laid out (page number, page count)."""
    for part in (f'<w:fldChar {nsdecls("w")} w:fldCharType="begin"/>',
                 f'<w:instrText {nsdecls("w")} xml:space="preserve"> {instruction} </w:instrText>',
                 f'<w:fldChar {nsdecls("w")} w:fldCharType="separate"/>', None,
                 f'<w:fldChar {nsdecls("w")} w:fldCharType="end"/>'):
        run = paragraph.add_run("1" if part is None else "")
        if part is not None:
            run._r.append(parse_xml(part))


def _title_block(doc, rf: ReportFrames) -> None:
    m = rf.meta
    doc.add_paragraph(f"Stand van zaken {m['year']}", style="Title")
    p = doc.add_paragraph()
    p.add_run(m["programme_name"]).bold = True
    lines = [m["ministry"], f"Begrotingsartikel {m['budget_article']}" if m["budget_article"] else "",
             f"Jaar {m['year']}, stand t/m {datum_lang(m['peildatum'])}"]
    snap = m["snapshot"]
    if snap:
        lines.append(f"Vastgelegde stand {snap['id']}: {snap['title']}"
                     + (f" ({snap['kamerstuk']})" if snap.get("kamerstuk") else ""))
    lines.append("Openbare versie: zonder persoonsgegevens")
    for line in filter(None, lines):
        p.add_run().add_break()
        p.add_run(line)


def _note(doc, rf: ReportFrames) -> None:
    text = ("Bedragen x € 1.000, afgerond bij weergave; totalen zijn uit de exacte bedragen berekend, zodat "
            "een optelling van afgeronde bedragen kan afwijken." if rf.meta["thousands"] else "Bedragen in euro.")
    p = doc.add_paragraph(text)
    p.paragraph_format.keep_with_next = True  # the unit stays with its table, never alone at a page's foot
    p.runs[0].italic = True
    p.runs[0].font.size = Pt(8.5)


def _warning(doc, text: str) -> None:
    p = doc.add_paragraph()
    p.paragraph_format.keep_with_next = True
    run = p.add_run(text)
    run.bold = True
    run.font.color.rgb = RGBColor.from_string(RED)


def _table(doc, header: list[str], widths_cm: list[float], rows, numeric_from: int = 1,
           text_columns: frozenset = frozenset()):
    """A table with a repeated, shaded header row; columns from `numeric_from` on are right-aligned.

    Rows are written as XML in one go: python-docx's cell API is quadratic, and an annex has
    thousands of rows. `rows`: (cells, bold, red per cell or None).
    """
    table = doc.add_table(rows=0, cols=len(header))
    table.style = doc.styles["Table Grid"]
    tbl = table._tbl
    twips = [int(Cm(w) * TWIPS_PER_EMU) for w in widths_cm]
    for col, width in zip(tbl.tblGrid.findall(qn("w:gridCol")), twips):
        col.set(qn("w:w"), str(width))
    table.autofit = False  # w:tblLayout fixed: the widths below hold, whatever the text
    tbl.tblPr.find(qn("w:tblW")).attrib.update({qn("w:w"): str(sum(twips)), qn("w:type"): "dxa"})
    # 1 mm either side of a cell's text instead of 1,9 mm: an amount to the cent stays on one line.
    tbl.tblPr.tblLayout.addnext(parse_xml(f'<w:tblCellMar {nsdecls("w")}><w:left w:w="57" w:type="dxa"/>'
                                          '<w:right w:w="57" w:type="dxa"/></w:tblCellMar>'))
    right = [c >= numeric_from and c not in text_columns for c in range(len(header))]
    xml = [_row(header, twips, right, bold=True, head=True)]
    xml += [_row(cells, twips, right, bold, red) for cells, bold, red in rows]
    for tr in parse_xml(f'<w:tbl {nsdecls("w")}>{"".join(xml)}</w:tbl>'):
        tbl.append(tr)
    doc.add_paragraph()  # Word glues two tables that touch into one
    return table


def _row(cells, twips, right, bold=False, red=None, head=False) -> str:
    # tblHeader: Word and LibreOffice repeat the row on every page; cantSplit keeps a row on one page.
    tr = ["<w:tr><w:trPr><w:cantSplit/>" + ("<w:tblHeader/>" if head else "") + "</w:trPr>"]
    for i, value in enumerate(cells):
        shade = f'<w:shd w:val="clear" w:color="auto" w:fill="{HEAD_FILL if head else RED_FILL}"/>' \
            if head or (red and red[i]) else ""
        top = '<w:tcBorders><w:top w:val="single" w:sz="12" w:color="154273"/></w:tcBorders>' \
            if bold and not head else ""
        run_props = ("<w:b/>" if bold or (red and red[i]) else "") + (f'<w:color w:val="{RED}"/>'
                                                                     if red and red[i] else "")
        align = '<w:jc w:val="right"/>' if right[i] else ""
        lines = str(value).split("\n")
        text = "<w:br/>".join(f'<w:t xml:space="preserve">{escape(line)}</w:t>' for line in lines)
        # NB_HYPHEN (in dates) becomes Word's no-break hyphen: '30-6-2025' never splits over two lines.
        text = text.replace(NB_HYPHEN, '</w:t><w:noBreakHyphen/><w:t xml:space="preserve">')
        tr.append(f'<w:tc><w:tcPr><w:tcW w:w="{twips[i]}" w:type="dxa"/>{top}{shade}</w:tcPr>'
                  f'<w:p><w:pPr><w:pStyle w:val="Tabeltekst"/>{align}'
                  f'</w:pPr><w:r><w:rPr>{run_props}</w:rPr>{text}</w:r></w:p></w:tc>')
    tr.append("</w:tr>")
    return "".join(tr)


def _annex(doc, rf: ReportFrames, money) -> None:
    doc.add_page_break()
    year = rf.meta["year"]
    doc.add_heading(f"Bijlage. Projectenoverzicht {year}", 2)
    p = doc.add_paragraph(f"Verplicht en gerealiseerd: {year}; verplicht totaal: alle jaren. "
                          + ("Bedragen x € 1.000." if rf.meta["thousands"] else "Bedragen in euro."))
    p.runs[0].italic = True
    df = rf.projects
    amount_cols = {"Verplicht", "Gerealiseerd", "Verplicht totaal"}
    columns = [[[v.replace("-", NB_HYPHEN) for v in df[c]] if c == "Looptijd" else df[c].tolist() for c in sources]
               for _h, sources, _w in ANNEX]
    rows = []
    for i in range(len(df)):
        cells = []
        for (_h, sources, _w), values in zip(ANNEX, columns):
            if sources[0] in amount_cols:
                cells.append(money(values[0][i]))
            else:
                cells.append("\n".join(str(v[i]) for v in values if v[i]))
        rows.append((cells, False, None))
    total = [sum(df[c].tolist(), Decimal("0.00")) for c in ("Verplicht", "Gerealiseerd", "Verplicht totaal")]
    rows.append((["Totaal"] + [""] * (len(ANNEX) - 5) + [money(v) for v in total] + [""], True, None))
    header = [h.format(year=year) for h, _s, _w in ANNEX]
    money_at = [i for i, (_h, s, _w) in enumerate(ANNEX) if s[0] in amount_cols]
    _table(doc, header, [w for _h, _s, w in ANNEX], rows, numeric_from=money_at[0],
           text_columns=frozenset({len(ANNEX) - 1}))


def _accountability(doc, rf: ReportFrames) -> None:
    m = rf.meta
    doc.add_heading("Verantwoording", 2)
    snap = m["snapshot"]
    lines = [f"Gemaakt met Programmamonitor {APP_VERSION} op {tijdstip(m['made_at'])}."]
    if snap:
        lines.append(f"Vastgelegde stand {snap['id']} ({snap['title']}), sha256 {snap['sha256']}.")
    head = m.get("audit_head")
    if head:
        lines.append(f"Audittrail t/m regel {head['id']}, hash {head['hash']}.")
    lines += [f"Periode heropend op {datum_lang(e['at'])}: {e['text']}" for e in m["reopened"]]
    for line in lines:
        run = doc.add_paragraph(line).runs[0]
        run.font.size = Pt(8)

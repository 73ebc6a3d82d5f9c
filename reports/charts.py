"""Plotly charts and the standalone HTML report: pure functions of ReportFrames, built from aggregates only."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import jinja2
import plotly
import plotly.graph_objects as go
from markupsafe import Markup

from core.dates import datum, datum_lang, tijdstip
from core.money import format_eur, format_pct, format_thousands
from reports import APP_VERSION
from reports.queries import ReportFrames
from reports.terms import TERMS

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
#: The app's chart loader; the standalone HTML carries it inline, so its charts are drawn as on the pages.
CHARTS_JS = Path(__file__).parent.parent / "core" / "static" / "charts.js"
REPORT_CSS = CHARTS_JS.with_name("report.css")
COLORS = ["#154273", "#8fcae7", "#e17000", "#39870c", "#a90061"]
OVERRUN = "#c00000"
#: The words of the modebar and of Plotly's messages, in Dutch (the bundled plotly.js has only English).
_DUTCH = {
    "Download plot as a PNG": "Download als PNG",
    "Download plot": "Download als PNG",
    "Reset axes": "Assen herstellen",
    "Preparing image - this may take a few seconds": "De afbeelding wordt gemaakt; dat kan enkele seconden duren",
    "Image download succeeded": "De afbeelding is gedownload",
    "Sorry, there was a problem downloading your image!": "Het downloaden van de afbeelding is mislukt.",
    "Double-click on legend to isolate one trace": "Dubbelklik op de legenda om één reeks apart te tonen",
    "Double-click to zoom back out": "Dubbelklik om terug te zoomen",
}
#: Dates on the axes in Dutch ("mrt", "okt"), as everywhere else in the app.
_DUTCH_DATES = {
    "days": ["zondag", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag"],
    "shortDays": ["zo", "ma", "di", "wo", "do", "vr", "za"],
    "months": ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
               "oktober", "november", "december"],
    "shortMonths": ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"],
    "date": "%-d-%-m-%Y",
}
#: The same on every chart: the app's pages (core/static/charts.js) and the standalone HTML.
#: modeBarButtons names the only buttons there are: "Download als PNG" and "Assen herstellen". plotly.js 4
#: would otherwise offer "Share chart..." (an upload to Plotly Cloud, showSendToCloud defaults to true);
#: showSendToCloud false and no plotlyServerURL keep that door shut even if the button list changes.
#: (showLink and showEditInChartStudio are gone from plotly.js 4, so plotly.py warns about them.)
_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "locale": "nl",
    "locales": {"nl": {"dictionary": _DUTCH, "format": _DUTCH_DATES}},
    "modeBarButtons": [["toImage", "resetScale2d"]],
    "showSendToCloud": False,
    "plotlyServerURL": "",
    "showTips": False,
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


def _f(amount: Decimal) -> float:
    # Plotly draws floats; the exact Decimal stays in the data table beside the chart.
    return float(amount)


def _layout(fig: go.Figure, title: str, ytitle: str = "euro") -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0},
        separators=",.",  # Dutch: decimal comma, thousands dot
        template="plotly_white",
        font={"family": "Verdana, Arial, sans-serif", "size": 12},
        legend={"orientation": "h", "y": -0.15},
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        yaxis={"title": {"text": ytitle}, "tickformat": ",.0f"},
        height=400,
    )
    return fig


def budget_table(rf: ReportFrames) -> list[tuple[int, Decimal, Decimal, Decimal]]:
    """Per year: available, committed, paid (the data behind budget_chart)."""
    s = rf.summary
    return [(int(y), s.loc["Beschikbaar budget", y], s.loc["Verplicht totaal", y],
             s.loc["Gerealiseerd t/m peildatum", y]) for y in s.columns]


def budget_chart(rf: ReportFrames) -> go.Figure:
    rows = budget_table(rf)
    years = [str(r[0]) for r in rows]
    # The same rounded shares the tables show (core.money.share), never recomputed from the floats.
    shares = {"Verplicht": "% verplicht", "Gerealiseerd": "% gerealiseerd"}
    fig = go.Figure()
    for i, name in enumerate(("Beschikbaar budget", "Verplicht", "Gerealiseerd")):
        color, label = COLORS[i], {}
        if name == "Verplicht":
            # A year past its budget: its bar in the overrun red and labelled, as in the tables.
            # (A label on the bar, not an annotation: plotly.js then lost the bars of this chart.)
            color = [OVERRUN if r[0] in rf.overruns else COLORS[i] for r in rows]
            label = {"text": ["overschreden" if r[0] in rf.overruns else "" for r in rows], "textposition": "outside",
                     "constraintext": "none", "cliponaxis": False,
                     "textfont": {"color": OVERRUN, "size": 12}}
        share = [f" ({format_pct(rf.summary.loc[shares[name], r[0]])})" if name in shares else "" for r in rows]
        fig.add_bar(x=years, y=[_f(r[i + 1]) for r in rows], name=name, marker_color=color, customdata=share,
                    hovertemplate="%{x}: € %{y:,.2f}%{customdata}<extra>" + name + "</extra>",
                    **label)
    fig.update_layout(barmode="group")
    return _layout(fig, f"Budget, verplicht en gerealiseerd per jaar (stand t/m {datum_lang(rf.meta['peildatum'])})")


def group_chart(rf: ReportFrames) -> go.Figure:
    """Committed in the report year by category (bars), split by programme line (stacked)."""
    m = rf.matrix.drop(index="Totaal", columns="Totaal")
    fig = go.Figure()
    for i, line in enumerate(m.columns):
        fig.add_bar(x=list(m.index), y=[_f(v) for v in m[line]], name=line, marker_color=COLORS[i % len(COLORS)],
                    hovertemplate="%{x}: € %{y:,.2f}<extra>" + line + "</extra>")
    fig.update_layout(barmode="stack", legend={"traceorder": "normal", "orientation": "h", "y": -0.15})
    return _layout(fig, f"Verplicht {rf.meta['year']} per categorie en programmalijn (projecten)")


def cumulative_chart(rf: ReportFrames) -> go.Figure:
    """Payments (incl. staffing costs) accumulated through the year against the available budget."""
    year = rf.meta["year"]
    c = rf.cumulative
    days = [date(year, 1, 1)] + list(c["Datum"])
    values = [0.0] + [_f(v) for v in c["Gerealiseerd cumulatief"]]
    fig = go.Figure()
    # d3-time-format: %-d and %-m drop the leading zero, as every date on screen does (core.dates).
    fig.add_scatter(x=days, y=values, mode="lines+markers", line_shape="hv", name="Gerealiseerd cumulatief",
                    line={"color": COLORS[0]}, hovertemplate="%{x|%-d-%-m-%Y}: € %{y:,.2f}<extra></extra>")
    available = _f(rf.meta["available"])
    fig.add_scatter(x=[date(year, 1, 1), date(year, 12, 31)], y=[available, available], mode="lines",
                    name="Beschikbaar budget", line={"color": COLORS[2], "dash": "dash"},
                    hovertemplate="€ %{y:,.2f}<extra>Beschikbaar budget</extra>")
    fig.update_xaxes(range=[date(year, 1, 1), date(year, 12, 31)], tickformat="%b")
    return _layout(fig, f"Gerealiseerd in {year}, cumulatief, tegen het beschikbare budget")


_CHARTS = {"budget": budget_chart, "groepen": group_chart, "cumulatief": cumulative_chart}


def chart_embeds(rf: ReportFrames, names=tuple(_CHARTS)) -> dict[str, Markup]:
    """Charts for the app's pages and the standalone HTML: an empty div plus the figure as inert JSON.

    core/static/charts.js draws them, so the pages need no inline script and the
    Content-Security-Policy can forbid every script that is not a file of the app.
    """
    embeds = {}
    for name in names:
        figure = _CHARTS[name](rf).to_json()
        # "</" inside the JSON would end the <script> element early; "<\/" is the same JSON.
        figure = figure.replace("</", "<\\/")
        embeds[name] = Markup(
            f'<div id="grafiek-{name}" class="plotly-graph-div"></div>'
            f'<script type="application/json" class="plotly-figure" data-target="grafiek-{name}">{figure}</script>')
    return embeds


def chart_config() -> str:
    return json.dumps(_CONFIG)


def chart_data(rf: ReportFrames) -> list[dict]:
    """Every chart's data as plain dicts (what ends up in the page): for checks and tests."""
    return [fn(rf).to_plotly_json() for fn in (budget_chart, group_chart, cumulative_chart)]


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
    autoescape=True,
    extensions=["jinja2.ext.i18n"],
)
# Dutch is the only language; the i18n extension keeps the _() markers working without Flask.
_env.install_null_translations(newstyle=True)
_env.filters.update(datum=datum, datum_lang=datum_lang, tijdstip=tijdstip)
_env.filters["eur"] = format_eur
_env.filters["keur"] = format_thousands
_env.filters["pct"] = format_pct


def standalone_html(rf: ReportFrames) -> str:
    """One self-contained HTML file: tables, charts and plotly.js itself (works offline)."""
    return _env.get_template("reports/standalone.html").render(
        rf=rf, charts=chart_embeds(rf), plotly_js=PLOTLY_JS.read_text(encoding="utf-8"),
        charts_js=CHARTS_JS.read_text(encoding="utf-8"), report_css=REPORT_CSS.read_text(encoding="utf-8"),
        chart_config=chart_config(),
        budget_rows=budget_table(rf), app_version=APP_VERSION, terms=TERMS,
    )

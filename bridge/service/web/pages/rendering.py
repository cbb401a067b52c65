"""Templates of the pages and the report: a Jinja2 environment for HTML, one for Markdown, shared filters."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bridge.domain.fixes import FixStatus
from bridge.domain.keys import ReleaseKey, Subject
from bridge.domain.markup import link_url, markdown_text
from bridge.service.read.releases import FixView
from bridge.service.read.report import DeploymentLine, ReadinessReport

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STYLESHEET = HERE / "static" / "bridge.css"


@dataclass(frozen=True)
class NavItem:
    """An entry of the navigation: a page of the bridge, marked when it is the one shown."""

    label: str
    path: str
    current: bool = False


@dataclass(frozen=True)
class Figure:
    """A count in the report's summary line."""

    count: int
    label: str


# The pages in the order managers use them.
NAV_PAGES = (
    ("Releases", "/"),
    ("Environments", "/environments"),
    ("Findings", "/findings"),
    ("Outbox", "/outbox"),
    ("Report", "/report"),
)


def navigation(current: str) -> list[NavItem]:
    """The navigation, with the current page marked."""
    return [NavItem(label, path, path == current) for label, path in NAV_PAGES]


def when(moment: datetime | None) -> str:
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def words(key: str) -> str:
    """A key as words: backout_plan reads "Backout plan"."""
    return key.replace("_", " ").strip().capitalize()


def release_label(key: str) -> str:
    """A release key as words: dip-platform:1.0.2.0 reads "dip-platform 1.0.2.0"."""
    return ReleaseKey.parse(key).label


def release_subject(component: str, version: str) -> str:
    """The subject of the findings about a release."""
    return str(Subject.release(ReleaseKey(component, version)))


def cell(value: object) -> str:
    """Text for one Markdown table cell: line breaks flattened (the Markdown environment escapes the rest)."""
    return " ".join(str(value).split())


def link(url: str | None) -> str:
    """An address from a system, if safe to link to (http or https), else empty: never a script link."""
    return (link_url(url) or "") if url else ""


def deployment_status(line: DeploymentLine) -> str:
    if line.rolled_back:
        return "rolled back"
    return "current" if line.current else "replaced since"


def deployment_tone(line: DeploymentLine) -> str:
    return "bad" if line.rolled_back else ("good" if line.current else "")


def not_moved(fixes: Iterable[FixView]) -> list[FixView]:
    """The fixes of a release that are not (or no longer) moved: those a list explains."""
    # A filter rather than Jinja's rejectattr, which costs several times as much on a list page's
    # thousand fixes.
    return [fix for fix in fixes if fix.status != FixStatus.MOVED]


def _filters(environment: Environment) -> Environment:
    environment.filters.update(
        when=when,
        day=day,
        cell=cell,
        link=link,
        words=words,
        release_label=release_label,
        release_subject=release_subject,
        deployment_status=deployment_status,
        deployment_tone=deployment_tone,
        not_moved=not_moved,
    )
    return environment


@cache
def html_environment() -> Environment:
    return _filters(
        Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
    )


@cache
def markdown_environment() -> Environment:
    # Markdown is pasted into packs and wikis, which render it: every value written into a template is
    # escaped on its way out (finalize), so what the systems say shows as text, never as markup or links.
    return _filters(
        Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=False,  # noqa: S701 - Markdown, escaped by markdown_text below
            finalize=markdown_text,
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )
    )


@cache
def stylesheet() -> str:
    return STYLESHEET.read_text(encoding="utf-8")


def _figure(count: int, one: str, many: str) -> Figure:
    return Figure(count, one if count == 1 else many)


def report_data(report: ReadinessReport) -> dict[str, Any]:
    """What both renderings of the report show: the report and its summary figures."""
    summary = [
        _figure(len(report.releases), "release published", "releases published"),
        _figure(len(report.deployments), "deployment", "deployments"),
        _figure(len(report.moves), "defect moved to retest", "defects moved to retest"),
        _figure(report.retested_count, "retested since", "retested since"),
        _figure(len(report.release_gaps), "release with gaps", "releases with gaps"),
        _figure(len(report.rfcs_without_release), "RFC without a release", "RFCs without a release"),
        _figure(len(report.releases_without_rfc), "release without an RFC", "releases without an RFC"),
        _figure(
            len(report.carry_forward),
            "emergency release not carried forward",
            "emergency releases not carried forward",
        ),
        _figure(len(report.dead_actions), "dead action", "dead actions"),
    ]
    return {"report": report, "summary": summary}


def render_report_markdown(report: ReadinessReport) -> str:
    """The report as Markdown, plain enough to paste into the weekly pack."""
    return markdown_environment().get_template("report.md").render(report_data(report))


def render_page(template: str, *, nav: list[NavItem], css_url: str, **context: Any) -> str:
    """One of the service's pages: `template` on the base layout, with the navigation and stylesheet."""
    return (
        html_environment()
        .get_template(template)
        .render(context, nav=nav, home_url="/", css_url=css_url, inline_css="")
    )


def render_report_html(
    report: ReadinessReport,
    *,
    nav: list[NavItem] | None = None,
    css_url: str = "",
    report_url: str = "/report",
) -> str:
    """The report as HTML: a page of the service (given `nav` and `css_url`), or one self-contained file."""
    standalone = nav is None
    return (
        html_environment()
        .get_template("report.html")
        .render(
            report_data(report),
            nav=nav or [],
            home_url="/",
            css_url=css_url,
            inline_css=stylesheet() if standalone else "",
            period_form=not standalone,
            report_url=report_url,
        )
    )

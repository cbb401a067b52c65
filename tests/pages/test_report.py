"""The readiness report on the sandbox after a deployment: its model, its Markdown and HTML, and /report."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from markdown_it import MarkdownIt

from bridge.service.read.report import (
    DeploymentLine,
    ReadinessReport,
    ReleaseLine,
    RetestMove,
    UnlinkedRfc,
    period_start,
)
from bridge.service.web.pages import render_report_html, render_report_markdown
from bridge.service.web.pages.router import readiness_report
from tests.pages.conftest import MOVED, RFC, Seeded

SINCE = date(2024, 1, 1)


# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(seeded: Seeded) -> ReadinessReport:
    return readiness_report(seeded.processor, SINCE)


def test_the_report_holds_the_periods_moves_deployments_and_open_items(
    seeded: Seeded, report: ReadinessReport
) -> None:
    moved = seeded.box.seeded.defects[MOVED]
    rfc = seeded.box.seeded.rfcs[RFC]
    [move] = [m for m in report.moves if m.defect_id == moved]
    assert (move.release, move.environment, move.rfc_number) == ("helix-settlement 1.1.0.0", "SIT-B", rfc)
    assert move.state_now == "Ready for Retest" and not move.retested
    assert all(m.environment for m in report.moves), "every move is of a deployment"

    sit_b = report.environments["SIT-B"]
    assert [(d.component, d.version, d.current) for d in sit_b][-1] == ("helix-settlement", "1.1.0.0", True)
    assert {r.version for r in report.releases if r.component == "dip-platform"} == {
        "1.0.0.0",
        "1.0.1.0",
        "1.0.1.1",
    }
    # dip-platform 1.0.1.1 is an emergency release and no regular release has followed it yet.
    assert [(c.emergency, c.regular) for c in report.carry_forward] == [("dip-platform 1.0.1.1", None)]
    assert report.carry_forward[0].fixes
    # The RFC for the next dip-platform patch names no release yet.
    assert "Deploy the next dip-platform patch to SIT-A" in {
        r.short_description for r in report.rfcs_without_release
    }
    assert rfc not in {r.number for r in report.rfcs_without_release}
    assert report.dead_actions == ()


def test_a_period_after_the_activity_lists_the_open_items_only(seeded: Seeded) -> None:
    later = readiness_report(seeded.processor, datetime.now(UTC).date())
    assert later.releases == ()
    assert all(d.deployed_at >= later.since for d in later.deployments)
    # Still deployed now, so still in play: its gaps and carry-forward stay on the report.
    assert later.carry_forward == readiness_report(seeded.processor, SINCE).carry_forward


def test_markdown_has_a_table_per_section_and_the_moved_defect(
    seeded: Seeded, report: ReadinessReport
) -> None:
    text = render_report_markdown(report)
    moved = seeded.box.seeded.defects[MOVED]
    assert text.startswith(f"# Readiness report 2024-01-01 to {report.until:%Y-%m-%d}\n")
    for heading in (
        "## Releases published",
        "## Deployments per environment",
        "### SIT-B",
        "## Defects moved to retest",
        "## Releases with missing note items or failed control points",
        "## RFCs without a release",
        "## Releases without an RFC",
        "## Emergency fixes not yet carried forward",
        "## Dead actions",
    ):
        assert f"\n{heading}\n" in text, heading
    row = next(line for line in text.splitlines() if line.startswith(f"| {moved} |"))
    assert "helix-settlement 1.1.0.0 | SIT-B" in row and row.endswith("| Ready for Retest |")
    assert len(report.moves) == 1 and "- **1** defect moved to retest" in text
    # Every table row has as many cells as its header: nothing in the data broke a table.
    for block in re.findall(r"((?:^\|.*\|\n)+)", text, flags=re.M):
        widths = {line.count(" | ") for line in block.splitlines() if not line.startswith("|---")}
        assert len(widths) == 1, block
    assert "\n\n\n" not in text


def test_markdown_escapes_pipes_and_says_none_for_empty_sections() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    move = RetestMove(7, "Totals | subtotals\nwrong", now, "a 1.0.0.0", "SIT-A", "CHG0000001", "Closed", True)
    empty = ReadinessReport(
        now, period_start(date(2026, 2, 23), now), now, (), (), (move,), (), (), (), (), ()
    )
    text = render_report_markdown(empty)
    assert (
        "| 7 | Totals \\| subtotals wrong | a 1.0.0.0 | SIT-A | CHG0000001 | 2026-03-02 09:00 "
        "| Closed (retested) |" in text
    )
    assert text.count("None in the period.") == 2 and text.count("None.") == 5
    assert "- **1** retested since" in text


def test_html_is_the_same_data_escaped_with_landmarks_for_the_keyboard(
    seeded: Seeded, report: ReadinessReport
) -> None:
    html = render_report_html(report, nav=[], css_url="/assets/bridge.css")
    moved = seeded.box.seeded.defects[MOVED]
    assert f'<td class="num">{moved}</td>' in html
    assert '<a class="skip-link" href="#main">Skip to content</a>' in html
    assert '<main id="main" tabindex="-1">' in html
    assert html.count("<h2 ") == 8
    assert '<th scope="col">In ADO now</th>' in html
    now = report.until
    hostile = ReadinessReport(
        now,
        now,
        now,
        (),
        (),
        (RetestMove(1, "<script>alert(1)</script>", now, "x", None, None, "New", False),),
        (),
        (),
        (),
        (),
        (),
    )
    assert "<script>alert" not in render_report_html(hostile)
    assert "&lt;script&gt;" in render_report_html(hostile)


def test_a_standalone_html_file_carries_its_stylesheet_and_no_navigation(report: ReadinessReport) -> None:
    html = render_report_html(report)
    assert "<style>" in html and "@media print" in html
    assert "<link" not in html and "<nav" not in html and "<form" not in html
    assert "http" not in re.sub(r'href="http[^"]*"', "", html), "no asset from the internet"


def test_the_report_page_its_markdown_and_the_stylesheet_are_served(
    seeded: Seeded, client: TestClient
) -> None:
    page = client.get("/report", params={"since": "2024-01-01"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'<td class="num">{seeded.box.seeded.defects[MOVED]}</td>' in page.text
    assert '<a href="/report" aria-current="page">Report</a>' in page.text
    assert '<a href="/environments">Environments</a>' in page.text
    css_url = re.search(r'<link rel="stylesheet" href="([^"]+)">', page.text)
    assert css_url and css_url.group(1).startswith("/assets/bridge.css?v=")
    css = client.get(css_url.group(1))
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "@media print" in css.text and ":focus-visible" in css.text

    markdown = client.get("/report", params={"since": "2024-01-01", "format": "md"})
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith("# Readiness report 2024-01-01")
    assert client.get("/report", params={"format": "pdf"}).status_code == 422
    assert client.get("/report", params={"since": "2999-01-01"}).status_code == 422
    # Without a date the period is the last seven days.
    week = client.get("/report", params={"format": "md"}).text
    assert f"# Readiness report {datetime.now(UTC) - timedelta(days=7):%Y-%m-%d}" in week


def test_deployment_status_words() -> None:
    at = datetime(2026, 1, 5, tzinfo=UTC)
    lines = [
        DeploymentLine("SIT-A", "c", "1.0.0.0", "CHG1", at, current=True, rolled_back=False),
        DeploymentLine("SIT-A", "c", "1.0.1.0", "CHG2", at, current=False, rolled_back=True),
        DeploymentLine("SIT-A", "c", "1.0.2.0", "CHG3", at, current=False, rolled_back=False),
    ]
    report = ReadinessReport(at, at, at, (), tuple(lines), (), (), (), (), (), ())
    text = render_report_markdown(report)
    assert "| current |" in text and "| rolled back |" in text and "| replaced since |" in text


def test_markdown_shows_what_the_systems_say_as_text_never_as_markup_or_links() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    hostile = "<img src=x onerror=alert(document.domain)> see [plan](javascript:alert(1))"
    rfc = UnlinkedRfc("CHG0000002", "Assess", hostile, "SIT-A<script>alert(1)</script>")
    moves = (
        RetestMove(
            7, "![x](data:text/html,<script>alert(1)</script>)", now, "a | b", "SIT-A", None, "New", False
        ),
        RetestMove(
            8, "[x][r]\n\n[r]: vbscript:msgbox(1)", now, "<a href=javascript:x>", None, None, "New", False
        ),
    )
    report = ReadinessReport(now, now, now, (), (), moves, (), (rfc,), (), (), ())
    text = render_report_markdown(report)
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    assert not re.search(r"<(img|script|a)\b", html), html
    assert not re.search(r"<[a-z]+[^>]*\b(href|src|on\w+)=", html), html
    assert "see [plan](javascript:alert(1))" in html, "the text is shown as written"
    for block in re.findall(r"((?:^\|.*\|\n)+)", text, flags=re.M):
        widths = {line.count(" | ") for line in block.splitlines() if not line.startswith("|---")}
        assert len(widths) == 1, block


def test_a_release_address_that_is_not_http_is_shown_without_a_link() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    lines = tuple(
        ReleaseLine("c", f"1.0.{n}.0", "patch", f"c/1.0.{n}.0", now, (), url)
        for n, url in enumerate(
            ["javascript:alert(document.domain)", " JavaScript:alert(1)", "data:text/html,x", "https://gl/r"]
        )
    )
    report = ReadinessReport(now, now, now, lines, (), (), (), (), (), (), ())
    html = render_report_html(report)
    assert re.findall(r'href="([^"#][^"]*)"', html) == ["https://gl/r"]
    assert ">1.0.0.0<" in html and "javascript" not in html.lower()

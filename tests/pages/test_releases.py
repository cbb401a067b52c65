"""The releases list and a release's page on the sandbox after a deployment, and their JSON twins."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient

from tests.pages.conftest import MOVED, RFC, Seeded

RELEASE = "/releases/helix-settlement/1.1.0.0"


# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


def _text(html: str) -> str:
    """The page's words, tags dropped and spaces folded, for asserting what a reader sees."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _row(html: str, first_cell: str) -> str:
    """The text of the table row whose first cell holds `first_cell`."""
    for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
        if cells and first_cell in _text(cells[0]):
            return _text(row)
    raise AssertionError(f"no row starts with {first_cell!r}")


def test_the_api_lists_each_release_with_its_rfcs_fixes_and_checks(
    seeded: Seeded, client: TestClient
) -> None:
    answer = client.get("/api/releases", params={"component": "helix-settlement"})
    assert answer.status_code == 200
    items = {item["version"]: item for item in answer.json()["items"]}
    assert list(items) == ["1.1.0.0", "1.0.0.0"]  # newest first
    release = items["1.1.0.0"]
    assert [(r["number"], r["state"]) for r in release["rfcs"]] == [(seeded.box.seeded.rfcs[RFC], "review")]
    fixes = {f["id"]: f for f in release["fixes"]}
    moved = seeded.box.seeded.defects[MOVED]
    assert fixes[moved]["status"] == "moved"
    assert "SIT-B" in fixes[moved]["why"] and seeded.box.seeded.rfcs[RFC] in fixes[moved]["why"]
    assert release["fix_counts"]["moved"] == 1
    assert sum(release["fix_counts"].values()) == len(release["fixes"])
    # A defect someone already put in Ready for Retest is left, and the reason says so.
    ready = fixes[seeded.box.seeded.defects["helix-dst"]]
    assert (ready["status"], ready["why"]) == ("left", "already Ready for Retest")
    assert release["deployed_in"] == ["SIT-B"]
    assert release["control_points"] is not None and sum(release["control_points"].values()) > 0


def test_the_api_filters_by_type_environment_and_findings(client: TestClient) -> None:
    def versions(**params: str) -> set[str]:
        answer = client.get("/api/releases", params=params)
        assert answer.status_code == 200, answer.text
        return {f"{i['component']} {i['version']}" for i in answer.json()["items"]}

    everything = versions()
    emergency = versions(type="emergency")
    assert emergency == {"dip-platform 1.0.1.1"}
    assert versions(environment="SIT-B") <= {v for v in everything if v.startswith("helix-settlement")}
    assert "helix-settlement 1.1.0.0" in versions(environment="sit-b")  # an alias, as RFCs write it
    with_findings, without = versions(has_findings="true"), versions(has_findings="false")
    assert with_findings and without and with_findings | without == everything
    assert not with_findings & without
    assert client.get("/api/releases", params={"type": "hotfix"}).status_code == 422


def test_the_releases_page_shows_each_release_at_a_glance(seeded: Seeded, client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<a href="/" aria-current="page">Releases</a>' in page.text
    row = _row(page.text, "helix-settlement 1.1.0.0")
    assert "current in SIT-B" in row
    assert f"{seeded.box.seeded.rfcs[RFC]} Review" in row
    assert "1 moved" in row and "left" in row
    assert '<a href="/releases/helix-settlement/1.1.0.0">' in page.text
    # The reasons a listed defect was not moved are one click away, in the page itself.
    assert "already Ready for Retest" in page.text


def test_the_releases_page_filters_with_a_form_and_pages(client: TestClient) -> None:
    page = client.get(
        "/", params={"component": "dip-platform", "type": "", "environment": "", "findings": ""}
    )
    assert page.status_code == 200
    listed = re.findall(r'<a href="/releases/([^/"]+)/([^"]+)">', page.text)
    assert listed and {component for component, _ in listed} == {"dip-platform"}
    assert '<option value="dip-platform" selected>' in page.text
    assert "Clear the filters" in page.text
    assert (
        "No release matches."
        in client.get("/", params={"type": "emergency", "component": "helix-settlement"}).text
    )
    assert client.get("/", params={"type": "hotfix"}).status_code == 422


def test_a_release_page_shows_the_evidence_rfcs_defects_and_timeline(
    seeded: Seeded, client: TestClient
) -> None:
    page = client.get(RELEASE)
    assert page.status_code == 200
    html = page.text
    rfc = seeded.box.seeded.rfcs[RFC]
    moved = seeded.box.seeded.defects[MOVED]
    for heading in (
        "Release note",
        "Control points",
        "RFCs",
        "Defects fixed",
        "Emergency carry-forward",
        "Timeline",
        "Findings",
    ):
        assert re.search(rf'<h2 id="[a-z-]+">{heading}</h2>', html), heading
    # The RFC links to ServiceNow, the moved defect to ADO, each with what the bridge did.
    sys_id = seeded.box.seeded.rfc_sys_ids[RFC]
    assert re.search(rf'<a href="[^"]+change_request.do\?sys_id={sys_id}">{rfc}</a>', html)
    assert re.search(rf'<a href="[^"]+/_workitems/edit/{moved}">{moved}</a>', html)
    defect = _row(html, str(moved))
    assert "Ready for Retest" in defect and "moved" in defect and f"under {rfc}" in defect
    assert "Fixed → Ready for Retest, done" in defect
    # Control points each with a status and a source.
    assert re.search(r'<span class="status (good|bad|warn|)">(pass|fail|pending|n/a)</span>', html)
    # The timeline runs from publication through the RFC's states (as the bridge read them: the
    # in-process cycles saw Scheduled, then Review) to the deployment and the move.
    timeline = _text(html[html.index('<h2 id="timeline">') : html.index('<h2 id="findings">')])
    order = [
        "published",
        f"{rfc} is Scheduled",
        f"{rfc} is Review",
        "deployed to SIT-B",
        f"defect {moved} moved",
    ]
    positions = [timeline.find(words) for words in order]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), timeline


def test_an_unknown_release_is_a_404_page(client: TestClient) -> None:
    answer = client.get("/releases/helix-settlement/9.9.9.9")
    assert answer.status_code == 404
    assert "no release 9.9.9.9 of helix-settlement" in answer.text


def test_what_a_release_note_says_is_escaped(seeded: Seeded, client: TestClient) -> None:
    # Every value on the page comes from GitLab, ServiceNow or ADO: none may become markup.
    page = client.get(RELEASE)
    assert "<script" not in page.text.lower()
    assert page.text.count("<table") == page.text.count("</table>")


def test_a_person_reads_errors_as_pages_and_programs_keep_json(client: TestClient) -> None:
    browser = {"accept": "text/html,application/xhtml+xml"}
    missing = client.get("/releases/helix-settlement/9.9.9.9", headers=browser)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert (
        '<p class="problem" role="alert">no release 9.9.9.9 of helix-settlement known to the bridge</p>'
        in (missing.text)
    )
    assert '<a href="/environments">Environments</a>' in missing.text  # the navigation, to go on
    bad = client.get("/", params={"findings": "maybe"}, headers=browser)
    assert bad.status_code == 422 and "findings: String should match pattern" in bad.text
    assert client.get("/no-such-page", headers=browser).status_code == 404
    api = client.get("/api/releases/helix-settlement/9.9.9.9", headers=browser)
    assert api.status_code == 404 and api.json() == {
        "detail": "no release 9.9.9.9 of helix-settlement known to the bridge"
    }
    assert client.get("/api/releases", params={"type": "hotfix"}, headers=browser).json()["detail"][0][
        "loc"
    ] == [
        "query",
        "type",
    ]

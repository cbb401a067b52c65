"""ADO simulator contract: WIQL flat queries through the SDK's query_by_wiql, and the WIQL subset."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.devops.exceptions import AzureDevOpsServiceError
from azure.devops.v7_1.work_item_tracking.models import TeamContext, Wiql
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.ado.simulator import wiql
from tests.support.clock import Clock

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(ado: Any) -> Iterator[Clock]:
    fake = Clock(START)
    real = ado.sim.model.clock
    ado.sim.model.clock = fake
    yield fake
    ado.sim.model.clock = real


@pytest.fixture
def seeded(ado: Any, clock: Clock) -> dict[str, int]:
    """Five defects changed a day apart, in several states and severities."""
    rows = [
        ("Login fails", "Fixed", "1 - Critical"),
        ("Rounding error", "Open", "2 - High"),
        ("Typo on invoice", "Fixed", "4 - Low"),
        ("Slow search", "Closed", "3 - Medium"),
        ("Crash on export", "Ready for Retest", "2 - High"),
    ]
    ids = {}
    for n, (title, state, severity) in enumerate(rows):
        clock.now = START + timedelta(days=n)
        item = ado.sim.create_work_item(
            {"System.Title": title, "System.State": state, "Microsoft.VSTS.Common.Severity": severity}
        )
        ids[title] = item["id"]
    return ids


def query(wit: Any, ado: Any, text: str, *, precise: bool = True, top: int | None = None) -> list[int]:
    result = wit.query_by_wiql(
        Wiql(query=text), team_context=TeamContext(project=ado.project), time_precision=precise, top=top
    )
    return [w.id for w in result.work_items]


def test_the_result_shape_is_a_flat_work_item_query(ado: Any, seeded: dict[str, int]) -> None:
    reply = ado.session().post(
        f"{ado.org_url}/{ado.project}/_apis/wit/wiql?api-version=7.1",
        json={"query": "SELECT [System.Id], [System.Title] FROM WorkItems ORDER BY [System.Id] DESC"},
    )
    body = reply.json()
    assert reply.status_code == 200
    assert set(body) == {"queryType", "queryResultType", "asOf", "columns", "sortColumns", "workItems"}
    assert (body["queryType"], body["queryResultType"]) == ("flat", "workItem")
    assert [c["referenceName"] for c in body["columns"]] == ["System.Id", "System.Title"]
    assert body["sortColumns"] == [
        {
            "field": {
                "referenceName": "System.Id",
                "name": "ID",
                "url": body["sortColumns"][0]["field"]["url"],
            },
            "descending": True,
        }
    ]
    assert body["workItems"][0] == {
        "id": 5,
        "url": f"{ado.org_url}/{ado.sim.model.project_id}/_apis/wit/workItems/5",
    }


def test_equality_and_and_or_with_parentheses(ado: Any, wit: Any, seeded: dict[str, int]) -> None:
    got = query(
        wit,
        ado,
        "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project "
        "AND ([System.State] = 'Fixed' OR [Microsoft.VSTS.Common.Severity] = '2 - High') "
        "ORDER BY [System.Id]",
    )
    assert got == [
        seeded["Login fails"],
        seeded["Rounding error"],
        seeded["Typo on invoice"],
        seeded["Crash on export"],
    ]


def test_in_and_not_equal(ado: Any, wit: Any, seeded: dict[str, int]) -> None:
    got = query(
        wit,
        ado,
        "SELECT [System.Id] FROM WorkItems WHERE [System.State] IN ('fixed', 'Closed') "
        "AND [System.Title] <> 'Slow search'",
    )
    assert got == [seeded["Login fails"], seeded["Typo on invoice"]]


def test_date_literals_with_time_precision_and_comparison_operators(
    ado: Any, wit: Any, seeded: dict[str, int]
) -> None:
    base = "SELECT [System.Id] FROM WorkItems WHERE [System.ChangedDate] {op} '2024-03-03T09:00:00Z'"
    assert query(wit, ado, base.format(op=">=")) == [3, 4, 5]
    assert query(wit, ado, base.format(op=">")) == [4, 5]
    assert query(wit, ado, base.format(op="<")) == [1, 2]
    assert query(wit, ado, base.format(op="<=")) == [1, 2, 3]
    assert query(wit, ado, base.format(op="=")) == [3]


def test_a_time_without_time_precision_is_refused_as_ado_does(
    ado: Any, wit: Any, seeded: dict[str, int]
) -> None:
    text = "SELECT [System.Id] FROM WorkItems WHERE [System.ChangedDate] >= '2024-03-03T09:00:00Z'"
    with pytest.raises(AzureDevOpsServiceError, match="cannot supply a time with the date"):
        query(wit, ado, text, precise=False)
    by_day = "SELECT [System.Id] FROM WorkItems WHERE [System.ChangedDate] >= '2024-03-03'"
    assert query(wit, ado, by_day, precise=False) == [3, 4, 5]


def test_today_with_an_offset(ado: Any, wit: Any, seeded: dict[str, int], clock: Clock) -> None:
    clock.now = START + timedelta(days=4, hours=5)  # 2024-03-05 14:00
    assert query(
        wit, ado, "SELECT [System.Id] FROM WorkItems WHERE [System.ChangedDate] >= @today - 1", precise=False
    ) == [4, 5]
    assert query(wit, ado, "SELECT [System.Id] FROM WorkItems WHERE [System.ChangedDate] < @today - 3") == [1]


def test_order_by_a_date_descending_and_top(ado: Any, wit: Any, seeded: dict[str, int]) -> None:
    text = (
        "SELECT [System.Id] FROM WorkItems WHERE [System.WorkItemType] = 'Defect' "
        "ORDER BY [System.ChangedDate] DESC"
    )
    assert query(wit, ado, text) == [5, 4, 3, 2, 1]
    assert query(wit, ado, text, top=2) == [5, 4]


def test_order_by_two_fields(ado: Any, wit: Any, seeded: dict[str, int]) -> None:
    text = (
        "SELECT [System.Id] FROM WorkItems ORDER BY [Microsoft.VSTS.Common.Severity] ASC, "
        "[System.ChangedDate] DESC"
    )
    assert query(wit, ado, text) == [1, 5, 2, 4, 3]


def test_the_incremental_poll_query_of_the_contract(ado: Any, wit: Any, seeded: dict[str, int]) -> None:
    text = (
        "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project "
        "AND [System.WorkItemType] IN ('Bug','Defect') AND [System.ChangedDate] >= '2024-03-04T00:00:00Z' "
        "ORDER BY [System.ChangedDate] ASC"
    )
    assert query(wit, ado, text) == [4, 5]


def test_an_unknown_field_is_tf51005(ado: Any, wit: Any) -> None:
    with pytest.raises(AzureDevOpsServiceError, match="TF51005"):
        query(wit, ado, "SELECT [System.Id] FROM WorkItems WHERE [Custom.Nope] = 1")


def test_a_syntax_error_is_400(ado: Any) -> None:
    reply = ado.session().post(
        f"{ado.org_url}/{ado.project}/_apis/wit/wiql?api-version=7.1",
        json={"query": "SELECT [System.Id] FROM WorkItems WHERE [System.State] 'Fixed'"},
    )
    assert reply.status_code == 400
    assert "Expecting comparison operator" in reply.json()["message"]


def test_the_team_segment_is_accepted(ado: Any, seeded: dict[str, int]) -> None:
    reply = ado.session().post(
        f"{ado.org_url}/{ado.project}/Programme%20Team/_apis/wit/wiql?api-version=7.1",
        json={"query": "SELECT [System.Id] FROM WorkItems WHERE [System.State] = 'Closed'"},
    )
    assert [w["id"] for w in reply.json()["workItems"]] == [seeded["Slow search"]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT FROM WorkItems", "Expecting field name"),
        ("SELECT [System.Id] FROM WorkItemLinks", "Only flat queries"),
        ("SELECT [System.Id] FROM WorkItems WHERE ([System.Id] = 1", "Expecting ')'"),
        ("SELECT [System.Id] FROM WorkItems ORDER BY [System.Id] extra", "Expecting end of string"),
    ],
)
def test_parse_errors_name_the_cause(text: str, message: str) -> None:
    with pytest.raises(wiql.WiqlError, match=message.replace("(", r"\(").replace(")", r"\)")):
        wiql.parse(text)


def test_contains_and_under_and_not() -> None:
    ctx = wiql.Context(
        project="P",
        me="Me",
        today=START.date(),
        time_precision=True,
        field_type=lambda n: {
            "System.Title": "string",
            "System.AreaPath": "treePath",
            "System.Id": "integer",
        }.get(n),
        reference_name=lambda n: n,
    )
    rows = [
        {"System.Id": 1, "System.Title": "Login fails", "System.AreaPath": "P\\Payments"},
        {"System.Id": 2, "System.Title": "Rounding", "System.AreaPath": "P\\Billing"},
        {"System.Id": 3, "System.Title": "login slow", "System.AreaPath": "P\\Payments\\Cards"},
    ]

    def run(where: str) -> list[int]:
        return wiql.run(wiql.parse(f"SELECT [System.Id] FROM WorkItems WHERE {where}"), rows, ctx)

    assert run("[System.Title] CONTAINS 'login'") == [1, 3]
    assert run("[System.AreaPath] UNDER 'P\\Payments'") == [1, 3]
    assert run("NOT [System.AreaPath] UNDER 'P\\Payments'") == [2]
    assert run("[System.Id] NOT IN (1, 2)") == [3]
    assert run("[System.Id] > 1 AND [System.Title] NOT CONTAINS 'slow'") == [2]


@settings(max_examples=60, deadline=None)
@given(
    revisions=st.lists(st.tuples(st.integers(1, 8), st.integers(1, 4)), max_size=20, unique=True),
    excluded=st.lists(st.tuples(st.integers(1, 8), st.integers(1, 4)), max_size=12),
    first=st.booleans(),
)
def test_many_revision_exclusions_exclude_just_those_revisions(
    revisions: list[tuple[int, int]], excluded: list[tuple[int, int]], first: bool
) -> None:
    # The poller's query ANDs one "(Id <> n OR Rev <> m)" per revision already read, sometimes hundreds.
    ctx = wiql.Context(
        project="P",
        me="Me",
        today=START.date(),
        time_precision=True,
        field_type=lambda n: {"System.Id": "integer", "System.Rev": "integer", "System.State": "string"}.get(
            n
        ),
        reference_name=lambda n: n,
    )
    rows = [
        {"System.Id": i, "System.Rev": r, "System.State": "Fixed" if (i + r) % 2 else "Active"}
        for i, r in revisions
    ]
    exclusions = [f"([System.Id] <> {i} OR [System.Rev] <> {r})" for i, r in excluded]
    parts = [*exclusions, "[System.State] = 'Fixed'"] if first else ["[System.State] = 'Fixed'", *exclusions]
    found = wiql.run(wiql.parse(f"SELECT [System.Id] FROM WorkItems WHERE {' AND '.join(parts)}"), rows, ctx)
    expected = [i for i, r in sorted(revisions) if (i + r) % 2 and (i, r) not in set(excluded)]
    assert found == expected


STATES = ["New", "Open", "Fixed", "Ready for Retest", "Closed"]
SEVERITIES = ["1 - Critical", "2 - High", "3 - Medium", "4 - Low"]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(STATES), st.sampled_from(SEVERITIES), st.integers(0, 30)), max_size=25
    ),
    wanted=st.sets(st.sampled_from(STATES), min_size=1),
    severity=st.sampled_from(SEVERITIES),
    days=st.integers(0, 30),
)
def test_where_clauses_agree_with_a_plain_filter(
    rows: list[tuple[str, str, int]], wanted: set[str], severity: str, days: int
) -> None:
    types = {
        "System.State": "string",
        "Microsoft.VSTS.Common.Severity": "string",
        "System.ChangedDate": "dateTime",
        "System.Id": "integer",
    }
    ctx = wiql.Context(
        project="P",
        me="Me",
        today=START.date(),
        time_precision=True,
        field_type=types.get,
        reference_name=lambda n: n if n in types else None,
    )
    table: list[dict[str, Any]] = [
        {
            "System.Id": n + 1,
            "System.State": s,
            "Microsoft.VSTS.Common.Severity": v,
            "System.ChangedDate": (START + timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for n, (s, v, d) in enumerate(rows)
    ]
    listed = ", ".join(f"'{s}'" for s in sorted(wanted))
    limit = (START + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = (
        f"SELECT [System.Id] FROM WorkItems WHERE [System.State] IN ({listed}) "
        f"AND ([Microsoft.VSTS.Common.Severity] <> '{severity}' OR [System.ChangedDate] >= '{limit}') "
        "ORDER BY [System.ChangedDate] DESC, [System.Id]"
    )
    got = wiql.run(wiql.check_fields(wiql.parse(text), ctx), table, ctx)
    expected = [
        r
        for r in table
        if r["System.State"] in wanted
        and (r["Microsoft.VSTS.Common.Severity"] != severity or r["System.ChangedDate"] >= limit)
    ]
    expected.sort(key=lambda r: r["System.Id"])
    expected.sort(key=lambda r: r["System.ChangedDate"], reverse=True)
    assert got == [r["System.Id"] for r in expected]


@settings(max_examples=40, deadline=None)
@given(
    revs=st.lists(st.integers(1, 4), min_size=1, max_size=60),
    excluded=st.lists(st.tuples(st.integers(1, 70), st.integers(1, 4)), max_size=80),
    either=st.sets(st.integers(1, 70), max_size=5),
)
def test_long_exclusion_chains_agree_with_a_plain_filter(
    revs: list[int], excluded: list[tuple[int, int]], either: set[int]
) -> None:
    """The poller's form: many `(id <> n OR rev <> r)` clauses ANDed, here with an OR chain beside them."""
    types = {"System.Id": "integer", "System.Rev": "integer", "System.Title": "string"}
    ctx = wiql.Context(
        project="P",
        me="Me",
        today=START.date(),
        time_precision=True,
        field_type=types.get,
        reference_name=lambda n: n if n in types else None,
    )
    table = [{"System.Id": n + 1, "System.Rev": r, "System.Title": f"T{n}"} for n, r in enumerate(revs)]
    where = ["[System.Title] <> 'none'"]
    where += [f"([System.Id] <> {i} OR [System.Rev] <> {r})" for i, r in excluded]
    if either:
        where.append("(" + " OR ".join(f"[System.Id] = {i}" for i in sorted(either)) + ")")
    text = "SELECT [System.Id] FROM WorkItems WHERE " + " AND ".join(where)

    got = wiql.run(wiql.check_fields(wiql.parse(text), ctx), table, ctx)

    expected = [
        row["System.Id"]
        for row in table
        if (row["System.Id"], row["System.Rev"]) not in set(excluded)
        and (not either or row["System.Id"] in either)
    ]
    assert got == expected


def test_a_value_that_cannot_be_compared_fails_only_when_compared() -> None:
    ctx = wiql.Context(
        project="P",
        me="Me",
        today=START.date(),
        time_precision=True,
        field_type={"System.Id": "integer", "System.Title": "string"}.get,
        reference_name=lambda n: n,
    )
    rows = [{"System.Id": 1, "System.Title": "a"}, {"System.Id": 2, "System.Title": "b"}]
    text = "SELECT [System.Id] FROM WorkItems WHERE [System.Title] = 'zzz' AND [System.Id] = 'one'"
    # No title matches, so the number is never compared: no error, as before.
    assert wiql.run(wiql.parse(text), rows, ctx) == []
    with pytest.raises(wiql.WiqlError, match="not a number"):
        wiql.run(wiql.parse(text.replace("'zzz'", "'a'")), rows, ctx)

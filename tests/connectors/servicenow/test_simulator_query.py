"""Encoded queries and pagination, driven through pysnow and its QueryBuilder."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from pysnow import QueryBuilder

from connectors.servicenow.simulator import query
from connectors.servicenow.simulator.tables import change_request_table

# (short_description, state, type, close_code, u_environment) for CHG0000001 .. CHG0000006
ROWS = [
    ("Deploy payments 1.0.0.0", "-5", "normal", "", "SIT-A"),
    ("Deploy payments 1.0.1.0", "-1", "normal", "", "SIT-B"),
    ("Emergency fix ledger 2.0.0.1", "-1", "emergency", "", ""),
    ("deploy ledger 2.1.0.0", "0", "standard", "", "UIT"),
    ("Deploy settlement 3.0.0.0", "3", "normal", "successful", "SIT-A"),
    ("Backout payments 1.0.1.0", "3", "normal", "unsuccessful", "SIT-B"),
]


@pytest.fixture
def seeded(instance: Any) -> Any:
    for n, (text, state, kind, code, env) in enumerate(ROWS):
        instance.clock.advance(60)
        instance.sim.insert(
            "change_request",
            {
                "short_description": text,
                "state": state,
                "type": kind,
                "close_code": code,
                "u_environment": env,
            },
        )
        if n == 2:
            instance.clock.advance(60)
            first = instance.sim.save()["tables"]["change_request"][0]["sys_id"]
            instance.sim.update("change_request", first, {"description": "rescheduled"})
    return instance


def _numbers(instance: Any, q: Any, **kwargs: Any) -> list[int]:
    records = instance.changes().get(query=q, fields=["number"], **kwargs).all()
    return [int(r["number"][3:]) for r in records]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("state=-1", [2, 3]),
        ("state!=3", [1, 2, 3, 4]),
        ("state>-1", [4, 5, 6]),
        ("state>=0", [4, 5, 6]),
        ("state<-1", [1]),
        ("state<=-1", [1, 2, 3]),
        ("short_descriptionLIKEledger", [3, 4]),
        ("short_descriptionNOT LIKEpayments", [3, 4, 5]),
        ("short_descriptionSTARTSWITHdeploy", [1, 2, 4, 5]),
        ("short_descriptionENDSWITH.0.0", [1, 4, 5]),
        ("typeINemergency,standard", [3, 4]),
        ("typeNOT INnormal", [3, 4]),
        ("close_codeISEMPTY", [1, 2, 3, 4]),
        ("close_codeISNOTEMPTY", [5, 6]),
        ("numberBETWEENCHG0000002@CHG0000004", [2, 3, 4]),
        ("state=3^close_code=successful", [5]),
        ("state=-5^ORstate=0", [1, 4]),
        ("state=3^ORtype=emergency^u_environment=SIT-B", [6]),
        ("state=-5^NQtype=standard", [1, 4]),
        ("u_environmentANYTHING", [1, 2, 3, 4, 5, 6]),
    ],
)
def test_every_operator(seeded: Any, q: str, expected: list[int]) -> None:
    assert _numbers(seeded, q) == expected


def test_not_equal_and_not_in_never_match_an_empty_field(seeded: Any) -> None:
    # Empty is NULL in the database: "is not" skips it on a real instance, a trap for the bridge.
    assert _numbers(seeded, "close_code!=successful") == [6]
    assert _numbers(seeded, "u_environmentNOT INSIT-A") == [2, 4, 6]


def test_ordering_ascending_descending_and_by_several_fields(seeded: Any) -> None:
    assert _numbers(seeded, "ORDERBYDESCnumber") == [6, 5, 4, 3, 2, 1]
    assert _numbers(seeded, "ORDERBYstate^ORDERBYDESCnumber") == [1, 3, 2, 4, 6, 5]
    assert _numbers(seeded, "typeINnormal,standard^ORDERBYDESCstate^ORDERBYnumber") == [5, 6, 4, 2, 1]


def test_integer_fields_order_as_numbers(seeded: Any) -> None:
    # "-5" < "-1" as numbers but not as text; state is an integer choice.
    assert _numbers(seeded, "ORDERBYDESCstate^ORDERBYnumber")[:2] == [5, 6]


def test_an_invalid_field_in_a_query_is_silently_ignored(seeded: Any) -> None:
    assert _numbers(seeded, "u_no_such_field=SIT-A") == [1, 2, 3, 4, 5, 6]
    assert _numbers(seeded, "state=3^u_enviroment=SIT-A") == [5, 6], "typo widens the result"
    assert _numbers(seeded, "ORDERBYno_such_field^state=0") == [4]


def test_query_builder_conditions_and_datetimes(seeded: Any) -> None:
    built = (
        QueryBuilder()
        .field("sys_updated_on")
        .greater_than_or_equal(datetime(2024, 5, 1, 10, 3, 0, tzinfo=UTC))
        .AND()
        .field("type")
        .equals(["normal", "emergency"])
        .AND()
        .field("sys_updated_on")
        .order_ascending()
    )
    assert str(built).startswith("sys_updated_on>=2024-05-01 10:03:00^typeINnormal,emergency")
    assert _numbers(seeded, built) == [3, 1, 5, 6]
    contains = QueryBuilder().field("short_description").contains("PAYMENTS").AND().field("state").is_empty()
    assert _numbers(seeded, contains) == []
    negated = QueryBuilder().field("state").not_equals("3").AND().field("number").order_descending()
    assert _numbers(seeded, negated) == [4, 3, 2, 1]


def test_a_date_generate_operand_is_read_as_utc(seeded: Any) -> None:
    q = "sys_created_on<javascript:gs.dateGenerate('2024-05-01','10:03:00')"
    assert _numbers(seeded, q) == [1, 2]


def test_name_value_pairs_stand_in_for_sysparm_query(seeded: Any) -> None:
    reply = requests.get(
        seeded.api("/table/change_request"),
        params={"state": "3", "type": "normal", "sysparm_fields": "number"},
        auth=seeded.auth,
    )
    assert reply.json()["result"] == [{"number": "CHG0000005"}, {"number": "CHG0000006"}]


def _links(header: str) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>;rel="(\w+)"', header)}


def test_pagination_with_offset_across_pages_with_total_count_and_links(seeded: Any) -> None:
    pages, offset = [], 0
    while True:
        response = seeded.changes().get(query="ORDERBYnumber", limit=4, offset=offset, fields=["number"])
        records = response.all()
        assert response.headers["X-Total-Count"] == "6"
        pages.append([r["number"] for r in records])
        links = _links(response.headers["Link"])
        if "next" not in links:
            break
        offset += 4
    assert pages == [[f"CHG000000{n}" for n in (1, 2, 3, 4)], ["CHG0000005", "CHG0000006"]]
    assert set(links) == {"first", "prev", "last"}
    first_page = _links(seeded.changes().get(query="ORDERBYnumber", limit=4, offset=0).headers["Link"])
    assert set(first_page) == {"first", "next", "last"}
    assert first_page["next"].endswith("sysparm_offset=4&sysparm_limit=4")
    assert first_page["last"].endswith("sysparm_offset=4&sysparm_limit=4")
    assert "sysparm_query=ORDERBYnumber" in first_page["next"]
    assert first_page["next"].startswith(f"{seeded.url}/api/now/table/change_request?")


def test_following_the_next_link_walks_every_record(seeded: Any) -> None:
    url: str | None = seeded.api("/table/change_request?sysparm_query=ORDERBYDESCnumber&sysparm_limit=2")
    seen: list[str] = []
    while url:
        reply = requests.get(url, auth=seeded.auth)
        seen += [r["number"] for r in reply.json()["result"]]
        url = _links(reply.headers.get("Link", "")).get("next")
    assert seen == [f"CHG000000{n}" for n in (6, 5, 4, 3, 2, 1)]


def test_one_page_has_no_link_header_and_suppression_and_no_count_work(seeded: Any) -> None:
    whole = seeded.changes().get(limit=10)
    assert "Link" not in whole.headers and whole.headers["X-Total-Count"] == "6"
    quiet = requests.get(
        seeded.api("/table/change_request"),
        params={
            "sysparm_limit": "2",
            "sysparm_suppress_pagination_header": "true",
            "sysparm_no_count": "true",
        },
        auth=seeded.auth,
    )
    assert "Link" not in quiet.headers and "X-Total-Count" not in quiet.headers


def test_an_offset_past_the_end_is_an_empty_page(seeded: Any) -> None:
    response = seeded.changes().get(limit=4, offset=40)
    assert response.all() == [] and response.headers["X-Total-Count"] == "6"


def test_streamed_results_parse_incrementally(seeded: Any) -> None:
    streamed = seeded.changes().get(query="state=3", stream=True, fields=["number", "state"])
    assert list(streamed.all()) == [
        {"number": "CHG0000005", "state": "3"},
        {"number": "CHG0000006", "state": "3"},
    ]


_TEXTS = st.sampled_from(["", "a", "b", "ab"])
_STATES = st.sampled_from(["", "-5", "-1", "0", "3", "10"])


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(_TEXTS, _STATES), min_size=0, max_size=12),
    limit=st.integers(min_value=1, max_value=5),
)
def test_pages_put_together_are_the_whole_ordered_result(rows: list[tuple[str, str]], limit: int) -> None:
    table = change_request_table()
    records = [{"short_description": d, "state": s, "number": f"CHG{n:07d}"} for n, (d, s) in enumerate(rows)]
    parsed = query.parse("short_descriptionISNOTEMPTY^ORstate>0^ORDERBYDESCstate^ORDERBYnumber", table)
    whole = parsed.apply(records)
    pages = [whole[at : at + limit] for at in range(0, len(whole), limit)]
    assert [r for page in pages for r in page] == whole
    assert whole == [r for r in whole if r["short_description"] or r["state"] in {"3", "10"}]
    assert len(whole) == sum(1 for d, s in rows if d or s in {"3", "10"})
    states = [float(r["state"]) if r["state"] else float("-inf") for r in whole]
    assert states == sorted(states, reverse=True)


_PIECES = [*"^=!<>@,. _-0123456789abcdestOR", "LIKE", "IN", "NQ", "ORDERBY", "state", "ISEMPTY"]


@settings(max_examples=200, deadline=None)
@given(text=st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
def test_any_query_text_parses_without_error(text: str) -> None:
    table = change_request_table()
    records = [{"state": s, "number": f"CHG000000{n}"} for n, s in enumerate(["-5", "3", ""])]
    assert len(query.parse(text, table).apply(records)) <= len(records)

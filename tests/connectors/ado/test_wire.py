"""ADO's wire shapes read into domain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from connectors.ado.wire import parse_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T10:00:00.12Z", datetime(2024, 5, 1, 10, 0, 0, 120000, tzinfo=UTC)),
        # ADO writes up to 7 fractional digits (ticks); Python keeps 6.
        ("2024-05-01T10:00:00.1234567Z", datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2024-05-01T10:00:00.123+01:00", datetime(2024, 5, 1, 9, 0, 0, 123000, tzinfo=UTC)),
        ("2024-05-01T10:00:00.1234567-02:30", datetime(2024, 5, 1, 12, 30, 0, 123456, tzinfo=UTC)),
        ("2024-05-01T10:00:00.5", datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        ("not a date", None),
        ("", None),
    ],
)
def test_dates_are_read_as_utc_with_their_offset(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected


def test_a_datetime_is_taken_as_utc_when_it_has_no_zone() -> None:
    naive = datetime(2024, 5, 1, 10)
    assert parse_date(naive) == naive.replace(tzinfo=UTC)
    aware = datetime(2024, 5, 1, 10, tzinfo=timezone(timedelta(hours=1)))
    assert parse_date(aware) == aware

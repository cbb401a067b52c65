"""A clock the tests set and move by hand, so the times simulators stamp on records are known."""

from __future__ import annotations

from datetime import datetime, timedelta


class Clock:
    """Called like `datetime.now(UTC)`; answers `now`, which `advance` moves on."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

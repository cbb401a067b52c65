"""Logs: one JSON object (or a text line) per record, with the event's correlation id and no secrets."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO

from bridge.config import mask_secrets
from bridge.connector import OutcomeStatus
from bridge.domain.events import Source
from bridge.service.worker.processor import PollOutcome, ProcessorObserver
from bridge.store.inbox import InboxKind, InboxRow

LogFormat = Literal["json", "text"]
MASK = "********"

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "correlation_id", "color_message"}  # uvicorn's copy with terminal colours
)
# Libraries that narrate routine work at INFO (APScheduler: each run of each job); their warnings stay.
QUIET = ("apscheduler",)


@contextmanager
def correlated(value: str | None) -> Iterator[None]:
    """Log everything inside the block under this correlation id."""
    token = correlation_id.set(value)
    try:
        yield
    finally:
        correlation_id.reset(token)


def inbox_correlation(source: Source, inbox_id: int) -> str:
    """The correlation id of an inbox row: the same when the webhook is stored and when it is processed."""
    return f"{source.value}-{inbox_id}"


class _Masking(logging.Formatter):
    """A formatter that replaces each known secret with a mask wherever it appears."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = tuple(secrets)

    def mask(self, text: str) -> str:
        return mask_secrets(text, self.secrets, MASK)


class JsonFormatter(_Masking):
    """One JSON object per record: time, level, logger, message, correlation id, extra fields, error."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self.mask(record.getMessage()),
            "correlation_id": getattr(record, "correlation_id", None) or correlation_id.get(),
        }
        for key, value in _extras(record).items():
            document[key] = self.mask(value) if isinstance(value, str) else _plain(value)
        if record.exc_info:
            document["error"] = self.mask(self.formatException(record.exc_info))
        return json.dumps(document, default=lambda value: self.mask(str(value)), ensure_ascii=False)


class TextFormatter(_Masking):
    """A line for people: time, level, logger, [correlation id], message."""

    def format(self, record: logging.LogRecord) -> str:
        cid = getattr(record, "correlation_id", None) or correlation_id.get()
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
        line = f"{when} {record.levelname:<7} {record.name}" + (f" [{cid}]" if cid else "")
        line += f" {record.getMessage()}"
        extras = [f"{key}={value}" for key, value in _extras(record).items()]
        line += f" ({', '.join(extras)})" if extras else ""
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return self.mask(line)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a call gave with `extra=`."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


def _plain(value: Any) -> Any:
    return value if isinstance(value, (int, float, bool, type(None), list, dict)) else str(value)


def formatter(log_format: LogFormat, secrets: Iterable[str] = ()) -> logging.Formatter:
    """The formatter for a configured log format."""
    return JsonFormatter(secrets) if log_format == "json" else TextFormatter(secrets)


_HANDLER_NAME = "bridge"
_FILE_HANDLER_NAME = "bridge-file"


def configure_logging(
    log_format: LogFormat,
    *,
    secrets: Iterable[str] = (),
    level: int = logging.INFO,
    stream: TextIO | None = None,
    log_file: Path | None = None,
) -> logging.Handler:
    """Send every logger's records (uvicorn's too) to one handler in the given format; returns it.

    With `log_file`, every record is appended to that file and only warnings and errors reach the
    stream as well. Called again, it replaces the handlers it installed before rather than adding more.
    """
    secrets = tuple(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter(log_format, secrets))
    unconfigure_logging()
    root = logging.getLogger()
    root.addHandler(handler)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(log_file, encoding="utf-8")
        to_file.set_name(_FILE_HANDLER_NAME)
        to_file.setFormatter(formatter(log_format, secrets))
        root.addHandler(to_file)
        handler.setLevel(logging.WARNING)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # Uvicorn's own handlers would print in its format; its records go to ours instead.
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    for name in QUIET:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    return handler


def unconfigure_logging() -> None:
    """Remove the handlers configure_logging installed (closing the log file)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() in {_HANDLER_NAME, _FILE_HANDLER_NAME}]:
        root.removeHandler(old)
        old.close()


class LoggingObserver(ProcessorObserver):
    """Logs what the processor does; each inbox row's lines carry the row's correlation id."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or logging.getLogger("bridge.service.worker.processor")

    def polled(self, source: Source, seconds: float, outcome: PollOutcome | None) -> None:
        if outcome is None:
            self.log.warning("poll failed", extra={"source": source.value, "seconds": round(seconds, 3)})
        elif outcome.new:
            self.log.info(
                "poll stored %d new of %d events",
                outcome.new,
                outcome.events,
                extra={"source": source.value, "seconds": round(seconds, 3)},
            )

    def dispatched(self, target: Source, key: str, kind: str, status: OutcomeStatus, attempts: int) -> None:
        # The action's key is its correlation id: the outbox and the audit trail carry the same key.
        self.log.info(
            "action %s: %s",
            kind,
            status.value,
            extra={
                "correlation_id": key,
                "target": target.value,
                "kind": kind,
                "outcome": status.value,
                "attempt": attempts,
            },
        )

    @contextmanager
    def reading(self, row: InboxRow) -> Iterator[None]:
        with correlated(row.correlation_id or inbox_correlation(row.source, row.id)):
            # A webhook is the event an operator follows by its id; polled rows come by the page.
            self.log.log(
                logging.INFO if row.kind is InboxKind.WEBHOOK else logging.DEBUG,
                "reading inbox row",
                extra={"source": row.source.value, "inbox_kind": row.kind.value, "inbox_id": row.id},
            )
            yield

"""Defect moves: read the targets, skip what is already true, then one `$batch` call per 200 updates,
several groups of 200 at once."""

# Each update's JSON Patch tests /rev, so ADO refuses it (412) when a person changed the defect after the
# engine decided; the writer then re-reads it and hands it back (CONFLICT with the fresh record). The
# SDK never retries a POST or PATCH (api-contracts.md 2.10): a `$batch` call that fails as a whole is
# retried here through RetryPolicy. A retried call that ADO had partly applied is safe: the applied
# items fail their /rev test and come back as conflicts, never as a second write.

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from bridge.config import AdoSettings
from bridge.connector import ActionOutcome, OutcomeStatus
from bridge.domain.actions import Hyperlink, MoveDefect
from bridge.domain.events import DefectMoved, DefectUpdated
from bridge.domain.markup import link_url
from bridge.errors import BridgeError, ConflictError, TransientError
from connectors.ado import errors, wire
from connectors.ado.client import MAX_BATCH, AdoClient, BatchReply
from connectors.outcomes import RetryPolicy

log = logging.getLogger(__name__)

# Batches in flight at once unless told otherwise: the settings' default.
DEFAULT_PARALLEL: int = AdoSettings.model_fields["parallel_requests"].default

T = TypeVar("T")


@dataclass(frozen=True)
class PlannedMove:
    """A move that still has something to write, with the defect as read and the links it lacks."""

    move: MoveDefect
    current: DefectUpdated
    links: tuple[Hyperlink, ...]


def chunks(values: Sequence[T], size: int = MAX_BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def defect_groups(moves: Sequence[MoveDefect], size: int = MAX_BATCH) -> list[list[MoveDefect]]:
    """The moves in groups naming at most `size` defects each, every move of a defect in one group, in
    the order given."""
    groups: list[list[MoveDefect]] = []
    group_of: dict[int, int] = {}
    counts: list[int] = []
    for move in moves:
        index = group_of.get(move.defect_id)
        if index is None:
            if not groups or counts[-1] == size:
                groups.append([])
                counts.append(0)
            index = len(groups) - 1
            group_of[move.defect_id] = index
            counts[index] += 1
        groups[index].append(move)
    return groups


def safe_links(move: MoveDefect) -> tuple[Hyperlink, ...]:
    """The move's links that are http(s) addresses: a `javascript:` or `data:` URL (a GitLab release's
    web_url is the sender's word) would become a live link on the defect, so it is never written."""
    return tuple(link for link in move.links if link_url(link.url) is not None)


def missing_links(move: MoveDefect, present: Sequence[str]) -> tuple[Hyperlink, ...]:
    """The move's safe links not on the defect yet, each URL once."""
    seen = set(present)
    out: list[Hyperlink] = []
    for link in safe_links(move):
        if link.url not in seen:
            seen.add(link.url)
            out.append(link)
    return tuple(out)


def looks_like_ours(move: MoveDefect, current: DefectUpdated) -> bool:
    """Whether the defect shows this very move already applied (an earlier attempt whose reply was lost):
    one revision on from the expected one, in the target state, with every link the move adds."""
    if current.rev != move.expected_rev + 1 or current.state != move.to_state:
        return False  # the usual case, told without looking at the links
    links = safe_links(move)
    return bool(links) and all(link.url in current.hyperlinks for link in links)


def batch_request(planned: PlannedMove) -> dict[str, Any]:
    """One `$batch` item: a PATCH of the work item with its JSON Patch (api-contracts.md 2.8)."""
    return {
        "method": "PATCH",
        "uri": f"/_apis/wit/workitems/{planned.move.defect_id}?api-version=7.1",
        "headers": {"Content-Type": "application/json-patch+json"},
        "body": wire.move_patch(planned.move, links=planned.links),
    }


def outcome_for_error(key: str, error: BridgeError) -> ActionOutcome:
    if isinstance(error, TransientError):
        return ActionOutcome(key, OutcomeStatus.RETRY, str(error), retry_after_s=error.retry_after_s)
    return ActionOutcome(key, OutcomeStatus.FAILED, str(error))


class AdoWriter:
    """Carries out MoveDefect actions, many at once: up to `parallel` batches in flight together."""

    def __init__(
        self,
        client: AdoClient,
        *,
        retry: RetryPolicy,
        clock: Callable[[], datetime],
        parallel: int = DEFAULT_PARALLEL,
    ) -> None:
        if parallel < 1:
            raise ValueError("parallel must be at least 1")
        self.client = client
        self.retry = retry
        self.clock = clock
        self.parallel = parallel

    def move(self, moves: Sequence[MoveDefect]) -> dict[str, ActionOutcome]:
        """Outcomes by action key.

        The moves are split into groups of at most 200 defects; each group is read, decided, written and
        its conflicts re-read on its own, and up to `parallel` groups run at once (ADO takes concurrent
        batches; each reply is matched to its own group, so the order they come back in is irrelevant).
        Every move for one defect is in the same group, so they are written in order in one `$batch`.
        """
        groups = defect_groups(moves)
        if self.parallel == 1 or len(groups) <= 1:
            results = [self._move_group(group) for group in groups]
        else:
            workers = min(self.parallel, len(groups))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ado-writer") as pool:
                results = list(pool.map(self._move_group, groups))
        outcomes: dict[str, ActionOutcome] = {}
        for result in results:
            outcomes.update(result)
        return outcomes

    def _move_group(self, moves: Sequence[MoveDefect]) -> dict[str, ActionOutcome]:
        outcomes: dict[str, ActionOutcome] = {}
        current = self._read(moves, outcomes)
        planned: list[PlannedMove] = []
        for move in moves:
            if move.key in outcomes:
                continue
            decided = self._decide(move, current.get(move.defect_id))
            if isinstance(decided, ActionOutcome):
                outcomes[move.key] = decided
            else:
                planned.append(decided)
        conflicted: list[PlannedMove] = []
        for chunk in chunks(planned):
            self._write(chunk, outcomes, conflicted)
        if conflicted:
            self._hand_back(conflicted, outcomes)
        return outcomes

    def _read(
        self, moves: Sequence[MoveDefect], outcomes: dict[str, ActionOutcome]
    ) -> dict[int, Mapping[str, Any]]:
        """The targets with their relations (one read: a group names at most 200); a failed read decides
        its moves."""
        unique = list(dict.fromkeys(m.defect_id for m in moves))
        try:
            items = self.retry.call(partial(self.client.read_batch, unique, relations=True))
        except BridgeError as error:
            for move in moves:
                outcomes[move.key] = outcome_for_error(move.key, error)
            return {}
        return {int(item["id"]): item for item in items}

    def _decide(self, move: MoveDefect, item: Mapping[str, Any] | None) -> ActionOutcome | PlannedMove:
        if item is None:
            return ActionOutcome(
                move.key,
                OutcomeStatus.FAILED,
                f"work item {move.defect_id} does not exist (or is not readable)",
            )
        current = wire.defect(item)
        if current is None:
            return ActionOutcome(
                move.key, OutcomeStatus.FAILED, f"work item {move.defect_id} lacks state, title or dates"
            )
        if looks_like_ours(move, current):
            return self._done(move, move.from_state, current.rev, "moved by an earlier attempt")
        if current.state == move.to_state:
            return ActionOutcome(
                move.key, OutcomeStatus.SKIPPED, f"already in {move.to_state} (rev {current.rev})", current
            )
        if current.rev != move.expected_rev:
            return ActionOutcome(
                move.key,
                OutcomeStatus.CONFLICT,
                _changed(move, current),
                current,
            )
        return PlannedMove(move, current, missing_links(move, current.hyperlinks))

    def _write(
        self, chunk: Sequence[PlannedMove], outcomes: dict[str, ActionOutcome], conflicted: list[PlannedMove]
    ) -> None:
        body = [batch_request(p) for p in chunk]
        try:
            replies = self.retry.call(partial(self.client.send_batch, body))
        except ConflictError:
            # The call as a whole refused as a conflict (409, 412): as for one item's 412, the defects are
            # read again and handed back to the engine (or found moved), never left dead.
            conflicted.extend(chunk)
            return
        except BridgeError as error:
            for p in chunk:
                outcomes[p.move.key] = outcome_for_error(p.move.key, error)
            return
        for planned, reply in zip(chunk, replies, strict=True):
            result = self._result(planned, reply)
            if result is None:
                conflicted.append(planned)
            else:
                outcomes[planned.move.key] = result

    def _result(self, planned: PlannedMove, reply: BatchReply) -> ActionOutcome | None:
        """The outcome of one `$batch` item; None for a conflict, which needs a re-read."""
        move = planned.move
        if 200 <= reply.code < 300:
            rev = _rev(reply.body) or move.expected_rev + 1
            return self._done(move, planned.current.state, rev, "moved")
        message = errors.ado_message(reply.body, f"status {reply.code}")
        error = errors.for_status(reply.code, message, reply.headers)
        if isinstance(error, ConflictError):
            return None
        return outcome_for_error(move.key, error)

    def _done(self, move: MoveDefect, from_state: str, rev: int, how: str) -> ActionOutcome:
        moved = DefectMoved(
            defect_id=move.defect_id,
            deployment=move.deployment,
            from_state=from_state,
            to_state=move.to_state,
            rev=rev,
            reason=move.reason,
            at=self.clock(),
        )
        return ActionOutcome(move.key, OutcomeStatus.DONE, f"{how} to {move.to_state} (rev {rev})", moved)

    def _hand_back(self, conflicted: Sequence[PlannedMove], outcomes: dict[str, ActionOutcome]) -> None:
        """Re-read the defects a person changed first and return them to the engine, unchanged."""
        for chunk in chunks(conflicted):
            try:
                ids = [p.move.defect_id for p in chunk]
                items = self.retry.call(partial(self.client.read_batch, ids, relations=True))
            except BridgeError as error:
                for p in chunk:
                    outcomes[p.move.key] = ActionOutcome(
                        p.move.key,
                        OutcomeStatus.RETRY,
                        f"changed by someone else; re-read failed: {error}",
                        retry_after_s=getattr(error, "retry_after_s", None),
                    )
                continue
            fresh = {int(item["id"]): wire.defect(item) for item in items}
            for p in chunk:
                event = fresh.get(p.move.defect_id)
                if event is None:
                    outcomes[p.move.key] = ActionOutcome(
                        p.move.key, OutcomeStatus.FAILED, f"work item {p.move.defect_id} is gone"
                    )
                    continue
                if looks_like_ours(p.move, event):
                    # A whole-call retry after ADO had applied this item (its reply was lost).
                    outcomes[p.move.key] = self._done(p.move, p.current.state, event.rev, "moved")
                    continue
                outcomes[p.move.key] = ActionOutcome(
                    p.move.key, OutcomeStatus.CONFLICT, _changed(p.move, event), event
                )


def _rev(body: str) -> int | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    rev = value.get("rev") if isinstance(value, dict) else None
    return rev if isinstance(rev, int) and not isinstance(rev, bool) else None


def _changed(move: MoveDefect, current: DefectUpdated) -> str:
    return (
        f"defect {move.defect_id} changed after rev {move.expected_rev} "
        f"(now rev {current.rev}, {current.state})"
    )

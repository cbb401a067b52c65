"""Carrying out the actions that target GitLab: today only reads (the merge base of two tags)."""

from __future__ import annotations

from collections.abc import Mapping

from bridge.config import GitLabProject
from bridge.connector import ActionOutcome, OutcomeStatus
from bridge.domain.actions import Action, CheckAncestry
from bridge.domain.events import AncestryChecked
from bridge.errors import ConflictError, PermanentError, SkippableError, TransientError

from .client import GitLabApi


def apply_action(api: GitLabApi, projects: Mapping[str, GitLabProject], action: Action) -> ActionOutcome:
    """One outcome for one action; failures become outcomes, never exceptions."""
    if not isinstance(action, CheckAncestry):
        return ActionOutcome(
            action.key,
            OutcomeStatus.FAILED,
            f"{action.kind} targets {action.target.value}; GitLab carries out check_ancestry only",
        )
    if action.project not in projects:
        return ActionOutcome(
            action.key, OutcomeStatus.FAILED, f"project {action.project!r} is not configured"
        )
    try:
        return check_ancestry(api, action)
    except TransientError as exc:
        return ActionOutcome(action.key, OutcomeStatus.RETRY, str(exc), retry_after_s=exc.retry_after_s)
    except ConflictError as exc:
        # A read has nothing of ours to conflict with: a repository busy being written; ask again later.
        return ActionOutcome(action.key, OutcomeStatus.RETRY, str(exc))
    except SkippableError as exc:
        return ActionOutcome(action.key, OutcomeStatus.SKIPPED, str(exc))
    except PermanentError as exc:
        return ActionOutcome(action.key, OutcomeStatus.FAILED, str(exc))


def check_ancestry(api: GitLabApi, action: CheckAncestry) -> ActionOutcome:
    """The ancestor tag's commit and the merge base of the two tags: equal means an ancestor.

    A read, so repeating it is harmless; it writes nothing that could need skipping.
    """
    ancestor = api.tag(action.project, action.ancestor_tag)
    if ancestor is None:
        return _missing(action, action.ancestor_tag)
    # A tag GitLab cannot find is a 400 (PermanentError); a 404 means the histories share no commit.
    base = api.merge_base(action.project, [action.ancestor_tag, action.descendant_tag])
    base_sha = base.get("id") if base else None
    commit = ancestor.get("commit")
    ancestor_sha = commit.get("id") if isinstance(commit, dict) else None
    answer = AncestryChecked(
        project=action.project,
        ancestor_tag=action.ancestor_tag,
        descendant_tag=action.descendant_tag,
        is_ancestor=base_sha is not None and base_sha == ancestor_sha,
        merge_base=base_sha if isinstance(base_sha, str) else None,
    )
    verdict = "is" if answer.is_ancestor else "is not"
    detail = f"{action.ancestor_tag} {verdict} an ancestor of {action.descendant_tag} (merge base {base_sha})"
    return ActionOutcome(action.key, OutcomeStatus.DONE, detail, fresh=answer)


def _missing(action: CheckAncestry, tag: str) -> ActionOutcome:
    return ActionOutcome(action.key, OutcomeStatus.FAILED, f"tag {tag!r} does not exist in {action.project}")

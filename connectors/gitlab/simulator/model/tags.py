"""The simulated GitLab's tags and the releases made from them, with the hooks they send."""

# One class for both because GitLab ties them together: creating a release makes its missing tag, and
# deleting a tag deletes its release (app/services/releases/create_service.rb, tags/destroy_service.rb).

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from .. import entities as ent
from ..errors import GitLabApiError, api_message, bad_param, not_found
from .records import (
    ZERO_SHA,
    Release,
    Tag,
    name_matches,
    object_sha,
    parse_time,
    utc,
    valid_ref_name,
    version_key,
)
from .state import JSON, Emit, GitLabState, ProjectRecord, ProjectRef, new_event_uuid


class GitLabTags:
    """Tags and releases; each method behaves as the REST call it mirrors and hands its webhooks to `emit`."""

    def __init__(self, state: GitLabState, emit: Emit) -> None:
        self.state = state
        self.emit = emit

    # --- tags -----------------------------------------------------------------------------------

    def _tag_json(self, rec: ProjectRecord, tag: Tag) -> JSON:
        commit = rec.repo.commits[tag.commit_id]
        return ent.tag_json(tag, commit, rec.releases.get(tag.name), self.state.view(rec))

    def create_tag(self, project_id: ProjectRef, name: str, ref: str, message: str | None = None) -> JSON:
        """POST /repository/tags: annotated when a message is given; sends the Tag Push Hook."""
        with self.state.lock:
            rec = self.state.record(project_id)
            try:
                tag = self._add_tag(rec, name, ref, message, new_event_uuid())
            except GitLabApiError as exc:
                # lib/api/tags.rb renders every Tags::CreateService failure as 400, even its 409.
                raise api_message(400, exc.body["message"]) from exc
            return self._tag_json(rec, tag)

    def _add_tag(self, rec: ProjectRecord, name: str, ref: str, message: str | None, uuid: str) -> Tag:
        # The checks and words of app/services/tags/create_service.rb.
        if not ref:
            raise api_message(400, "Target is empty")
        if not valid_ref_name(name):
            raise api_message(400, "Tag name invalid")
        if name in rec.repo.tags:
            raise api_message(409, f"Tag {name} already exists")
        commit = rec.repo.resolve(ref)
        if commit is None:
            raise api_message(400, f"Target {ref} is invalid")
        text = (message or "").strip() or None
        now = self.state.now().replace(microsecond=0)
        if text is None:
            tag = Tag(name, commit.id, commit.id, None, None)
        else:
            target = object_sha("tag", name, commit.id, text, str(self.state.next_id("object")))
            tag = Tag(name, target, commit.id, text, now)
        rec.repo.tags[name] = tag
        self.state.touch(rec)
        view = self.state.view(rec)
        payload = ent.tag_push_payload(view, self.state.user, name, before=ZERO_SHA, after=tag, commit=commit)
        self.emit(rec, "tag_push_events", payload, uuid)
        return tag

    def get_tag(self, project_id: ProjectRef, name: str) -> JSON:
        with self.state.lock:
            rec = self.state.record(project_id)
            if name not in rec.repo.tags:
                raise not_found("Tag")
            return self._tag_json(rec, rec.repo.tags[name])

    def list_tags(
        self, project_id: ProjectRef, *, order_by: str = "updated", sort: str = "desc", search: str = ""
    ) -> list[JSON]:
        """GET /repository/tags ordered by name, updated (tag or commit date) or version."""
        if order_by not in {"name", "updated", "version"}:
            raise bad_param("order_by does not have a valid value")
        if sort not in {"asc", "desc"}:
            raise bad_param("sort does not have a valid value")
        with self.state.lock:
            rec = self.state.record(project_id)
            tags = [t for t in rec.repo.tags.values() if name_matches(t.name, search)]
            keys: dict[str, Callable[[Tag], Any]] = {
                "name": lambda t: t.name,
                "version": lambda t: version_key(t.name),
                # Gitaly sorts by creator date: the tagger's for an annotated tag, else the commit's.
                "updated": lambda t: (t.created_at or rec.repo.commits[t.commit_id].committed_date, t.name),
            }
            tags.sort(key=keys[order_by], reverse=sort == "desc")
            return [self._tag_json(rec, t) for t in tags]

    def delete_tag(self, project_id: ProjectRef, name: str) -> None:
        """DELETE /repository/tags/:tag_name: its release goes too; sends the Release and Tag Push hooks."""
        with self.state.lock:
            rec = self.state.record(project_id)
            tag = rec.repo.tags.get(name)
            if tag is None:
                raise not_found("Tag")
            uuid = new_event_uuid()
            if name in rec.releases:
                self._remove_release(rec, name, uuid)
            del rec.repo.tags[name]
            self.state.touch(rec)
            payload = ent.tag_push_payload(
                self.state.view(rec), self.state.user, name, before=tag.target, after=None, commit=None
            )
            self.emit(rec, "tag_push_events", payload, uuid)

    # --- releases -------------------------------------------------------------------------------

    def _release_json(self, rec: ProjectRecord, release: Release) -> JSON:
        commit = rec.repo.commits[release.commit_id]
        return ent.release_json(release, commit, self.state.user, self.state.view(rec), self.state.now())

    def create_release(
        self,
        project_id: ProjectRef,
        tag_name: str,
        description: str | None = None,
        *,
        name: str | None = None,
        ref: str | None = None,
        released_at: datetime | str | None = None,
        tag_message: str | None = None,
    ) -> JSON:
        """POST /releases: makes the tag from `ref` when it does not exist; sends the Release Hook."""
        with self.state.lock:
            rec = self.state.record(project_id)
            # The order of checks in app/services/releases/create_service.rb.
            if tag_name in rec.releases:
                raise api_message(409, "Release already exists")
            uuid = new_event_uuid()
            tag = rec.repo.tags.get(tag_name)
            if tag is None:
                if not ref:
                    raise api_message(422, "Ref is not specified")
                tag = self._add_tag(rec, tag_name, ref, tag_message, uuid)
            now = self.state.now()
            release = Release(
                id=self.state.next_id("release"),
                tag_name=tag_name,
                name=name or tag_name,
                description=description,
                created_at=now,
                released_at=_when(released_at) or now,
                author_id=self.state.user.id,
                commit_id=tag.commit_id,
            )
            rec.releases[tag_name] = release
            self.state.touch(rec)
            self._emit_release(rec, release, "create", uuid)
            return self._release_json(rec, release)

    def _existing_release(self, rec: ProjectRecord, tag_name: str) -> Release:
        # app/services/releases/base_service.rb checks the tag before the release.
        if tag_name not in rec.repo.tags:
            raise api_message(404, "Tag does not exist")
        if tag_name not in rec.releases:
            raise api_message(404, "Release does not exist")
        return rec.releases[tag_name]

    def get_release(self, project_id: ProjectRef, tag_name: str) -> JSON:
        with self.state.lock:
            rec = self.state.record(project_id)
            if tag_name not in rec.releases:
                raise not_found()
            return self._release_json(rec, rec.releases[tag_name])

    def list_releases(
        self, project_id: ProjectRef, *, order_by: str = "released_at", sort: str = "desc"
    ) -> list[JSON]:
        if order_by not in {"released_at", "created_at"}:
            raise bad_param("order_by does not have a valid value")
        if sort not in {"asc", "desc"}:
            raise bad_param("sort does not have a valid value")
        with self.state.lock:
            rec = self.state.record(project_id)
            releases = sorted(
                rec.releases.values(), key=lambda r: (getattr(r, order_by), r.id), reverse=sort == "desc"
            )
            return [self._release_json(rec, r) for r in releases]

    def update_release(
        self,
        project_id: ProjectRef,
        tag_name: str,
        *,
        name: str | None = None,
        description: str | None = None,
        released_at: datetime | str | None = None,
    ) -> JSON:
        """PUT /releases/:tag_name: changes what is given; sends the Release Hook with action update."""
        with self.state.lock:
            rec = self.state.record(project_id)
            release = self._existing_release(rec, tag_name)
            if name is None and description is None and released_at is None:
                raise api_message(400, "params is empty")
            changes: dict[str, Any] = {}
            if name is not None:
                changes["name"] = name
            if description is not None:
                changes["description"] = description
            if released_at is not None:
                changes["released_at"] = _when(released_at)
            release = replace(release, **changes)
            rec.releases[tag_name] = release
            self.state.touch(rec)
            self._emit_release(rec, release, "update", new_event_uuid())
            return self._release_json(rec, release)

    def delete_release(self, project_id: ProjectRef, tag_name: str) -> JSON:
        """DELETE /releases/:tag_name: the tag stays; answers the deleted release, sends the hook."""
        with self.state.lock:
            rec = self.state.record(project_id)
            self._existing_release(rec, tag_name)
            return self._remove_release(rec, tag_name, new_event_uuid())

    def _remove_release(self, rec: ProjectRecord, tag_name: str, uuid: str) -> JSON:
        release = rec.releases[tag_name]
        shown = self._release_json(rec, release)
        del rec.releases[tag_name]
        self.state.touch(rec)
        self._emit_release(rec, release, "delete", uuid)
        return shown

    def _emit_release(self, rec: ProjectRecord, release: Release, action: str, uuid: str) -> None:
        commit = rec.repo.commits[release.commit_id]
        payload = ent.release_payload(release, commit, self.state.view(rec), action)
        self.emit(rec, "releases_events", payload, uuid)


def _when(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return utc(value) if value else None
    return parse_time(value)

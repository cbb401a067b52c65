"""The simulated GitLab's repositories: commits, branches and merge bases (`/repository/...`)."""

from __future__ import annotations

from .. import entities as ent
from ..errors import api_message, not_found
from .records import Commit, name_matches, object_sha, valid_ref_name
from .state import JSON, GitLabState, ProjectRecord, ProjectRef


class GitLabRepository:
    """Commits and branches of each project's repository; each method behaves as the REST call it mirrors."""

    def __init__(self, state: GitLabState) -> None:
        self.state = state

    def add_commit(
        self,
        project_id: ProjectRef,
        message: str,
        *,
        branch: str = "main",
        author_name: str | None = None,
        author_email: str | None = None,
    ) -> str:
        """Commit on top of `branch` and move the branch; returns the new sha. Sends no push hook."""
        with self.state.lock:
            rec = self.state.record(project_id)
            if branch not in rec.repo.branches:
                raise not_found("Branch")
            return self._commit(rec, branch, (rec.repo.branches[branch],), message, author_name, author_email)

    def merge(
        self, project_id: ProjectRef, source: str, *, into: str = "main", message: str | None = None
    ) -> str:
        """A merge commit of `source` into the branch `into` (two parents); returns its sha."""
        with self.state.lock:
            rec = self.state.record(project_id)
            if into not in rec.repo.branches:
                raise not_found("Branch")
            theirs = self.state.commit_of(rec, source)
            text = message or f"Merge branch '{source}' into '{into}'"
            return self._commit(rec, into, (rec.repo.branches[into], theirs.id), text, None, None)

    def _commit(
        self,
        rec: ProjectRecord,
        branch: str,
        parents: tuple[str, ...],
        message: str,
        author_name: str | None,
        author_email: str | None,
    ) -> str:
        state, user = self.state, self.state.user
        now = state.now().replace(microsecond=0)  # git keeps whole seconds
        sha = object_sha("commit", str(rec.project.id), *parents, message, str(state.next_id("object")))
        rec.repo.commits[sha] = Commit(
            sha,
            parents,
            message,
            author_name or user.name,
            author_email or user.email,
            now,
            now,
        )
        rec.repo.branches[branch] = sha
        state.touch(rec)
        return sha

    def get_commit(self, project_id: ProjectRef, sha: str) -> JSON:
        with self.state.lock:
            rec = self.state.record(project_id)
            return ent.commit_detail_json(self.state.commit_of(rec, sha), self.state.view(rec))

    def list_commits(
        self, project_id: ProjectRef, *, ref_name: str | None = None, all_refs: bool = False
    ) -> list[JSON]:
        """GET /repository/commits: the history of `ref_name` (default branch), or of every ref."""
        with self.state.lock:
            rec = self.state.record(project_id)
            view = self.state.view(rec)
            if all_refs:
                reach: set[str] = set()
                for sha in [*rec.repo.branches.values(), *(t.commit_id for t in rec.repo.tags.values())]:
                    reach |= set(rec.repo.ancestors(sha))
                history = sorted(
                    (rec.repo.commits[s] for s in reach), key=lambda c: c.committed_date, reverse=True
                )
            else:
                start = rec.repo.resolve(ref_name or rec.project.default_branch)
                # An unknown ref lists nothing, as `git log` through Gitaly does for the API.
                history = rec.repo.log(start.id) if start else []
            return [ent.commit_json(c, view) for c in history]

    def create_branch(self, project_id: ProjectRef, branch: str, ref: str) -> JSON:
        """POST /repository/branches."""
        with self.state.lock:
            rec = self.state.record(project_id)
            if not valid_ref_name(branch):
                raise api_message(400, "Branch name is invalid")
            if branch in rec.repo.branches:
                raise api_message(400, "Branch already exists")
            commit = rec.repo.resolve(ref)
            if commit is None:
                raise api_message(400, "Invalid reference name: " + ref)
            rec.repo.branches[branch] = commit.id
            self.state.touch(rec)
            return ent.branch_json(branch, commit, self.state.view(rec))

    def get_branch(self, project_id: ProjectRef, branch: str) -> JSON:
        with self.state.lock:
            rec = self.state.record(project_id)
            if branch not in rec.repo.branches:
                raise not_found("Branch")
            return ent.branch_json(branch, rec.repo.commits[rec.repo.branches[branch]], self.state.view(rec))

    def list_branches(self, project_id: ProjectRef, *, search: str = "") -> list[JSON]:
        with self.state.lock:
            rec = self.state.record(project_id)
            view = self.state.view(rec)
            names = sorted(n for n in rec.repo.branches if name_matches(n, search))
            return [ent.branch_json(n, rec.repo.commits[rec.repo.branches[n]], view) for n in names]

    def merge_base(self, project_id: ProjectRef, refs: list[str]) -> JSON:
        """GET /repository/merge_base: refs may be branches, tags or shas (lib/api/repositories.rb)."""
        with self.state.lock:
            rec = self.state.record(project_id)
            if len(refs) < 2:
                raise api_message(400, "Provide at least 2 refs")
            resolved = {ref: rec.repo.resolve(ref) for ref in refs}
            unknown = [ref for ref, commit in resolved.items() if commit is None]
            if unknown:
                noun = "ref" if len(unknown) == 1 else "refs"
                raise api_message(400, f"Could not find {noun}: {', '.join(unknown)}")
            base = rec.repo.merge_base([c.id for c in resolved.values() if c is not None])
            if base is None:
                raise not_found("Merge Base")
            return ent.commit_json(base, self.state.view(rec))

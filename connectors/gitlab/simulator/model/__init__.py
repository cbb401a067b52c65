"""The simulated GitLab without HTTP: its state and the rules its REST operations follow."""

from __future__ import annotations

from .projects import GitLabProjects
from .repository import GitLabRepository
from .state import Emit, GitLabState, ProjectRecord, ProjectRef
from .tags import GitLabTags


class GitLabModel:
    """One instance's state and its operations, grouped as GitLab's API groups them."""

    def __init__(self, state: GitLabState, *, emit: Emit) -> None:
        self.state = state
        self.projects = GitLabProjects(self.state)
        self.repository = GitLabRepository(self.state)
        self.tags = GitLabTags(self.state, emit)


__all__ = ["Emit", "GitLabModel", "GitLabState", "ProjectRecord", "ProjectRef"]

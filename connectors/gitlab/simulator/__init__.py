"""A simulator of GitLab's REST API v4 and its webhooks, close enough for python-gitlab to use unchanged."""

from .errors import GitLabApiError
from .model.records import User
from .simulator import GitLabSimulator

__all__ = ["GitLabApiError", "GitLabSimulator", "User"]

"""GitLab: release tags and notes (poller, webhook parser, writer and simulator)."""

from connectors.gitlab.connector import GitLabConnector

__all__ = ["GitLabConnector"]

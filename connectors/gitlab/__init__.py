"""GitLab: release tags and notes (poller, webhook parser, writer and simulator)."""

"""Azure DevOps: defects as work items (poller, webhook parser, writer and simulator)."""

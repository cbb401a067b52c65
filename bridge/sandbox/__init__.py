"""The sandbox: GitLab, ServiceNow and ADO simulators seeded with a demo programme, to try the bridge."""

"""The release bridge: keeps GitLab releases, ServiceNow RFCs and ADO defects in step."""

__version__ = "0.1.0"

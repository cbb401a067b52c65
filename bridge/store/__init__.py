"""The store: inbox, records, links, ledger, findings, outbox, audit and cursors on SQLite or PostgreSQL.

store = Store.from_url(settings.database.url)
store.upgrade()
with store.transaction() as tx:
    put = tx.inbox.put(Source.ADO, "48211:7", InboxKind.WEBHOOK, payload)
    tx.outbox.enqueue(actions)
"""

from bridge.domain.links import LinkKind
from bridge.store.audit import AuditEntry
from bridge.store.cursors import PollState
from bridge.store.findings import FindingRow
from bridge.store.inbox import InboxKind, InboxPut, InboxRow, InboxStats
from bridge.store.ledger import DeploymentRow
from bridge.store.links import LinkRow
from bridge.store.migrate import current_revision, head_revision, is_up_to_date, upgrade
from bridge.store.outbox import ActionStatus, Completion, OutboxRow, completion_for
from bridge.store.records import DefectRecord, ReleaseRecord, RfcRow, defect_record, rfc_record
from bridge.store.store import Store, Tx

__all__ = [
    "ActionStatus",
    "AuditEntry",
    "Completion",
    "DefectRecord",
    "DeploymentRow",
    "FindingRow",
    "InboxKind",
    "InboxPut",
    "InboxRow",
    "InboxStats",
    "LinkKind",
    "LinkRow",
    "OutboxRow",
    "PollState",
    "ReleaseRecord",
    "RfcRow",
    "Store",
    "Tx",
    "completion_for",
    "current_revision",
    "defect_record",
    "head_revision",
    "is_up_to_date",
    "rfc_record",
    "upgrade",
]

"""The fixtures the contract's harnesses stand on, taken from each system's own tests: one server per
session for each simulator, and the receivers of their webhooks."""

# Imported, not copied: each fixture is registered here under the name it has here. The ADO conftest
# comes first: it points the SDK's location cache at a fresh directory before azure.devops is imported.
from tests.connectors.ado.conftest import _shared, ado
from tests.connectors.ado.conftest import receiver as ado_receiver
from tests.connectors.contract.ado_harness import ado_harness, ado_locations
from tests.connectors.contract.gitlab_harness import gitlab_harness
from tests.connectors.contract.servicenow_harness import servicenow_harness
from tests.connectors.gitlab.conftest import _receiving, _served
from tests.connectors.gitlab.conftest import receiver as gitlab_receiver
from tests.connectors.servicenow.conftest import _receiver, _switched
from tests.connectors.servicenow.conftest import receiver as servicenow_receiver

__all__ = [
    "_receiver",
    "_receiving",
    "_served",
    "_shared",
    "_switched",
    "ado",
    "ado_harness",
    "ado_locations",
    "ado_receiver",
    "gitlab_harness",
    "gitlab_receiver",
    "servicenow_harness",
    "servicenow_receiver",
]

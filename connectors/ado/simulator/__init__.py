"""A simulator of Azure DevOps work item tracking (REST 7.1) and service hooks, for tests and the sandbox."""

from connectors.ado.simulator.process import ProcessModel, load_process
from connectors.ado.simulator.simulator import AdoSimulator

__all__ = ["AdoSimulator", "ProcessModel", "load_process"]

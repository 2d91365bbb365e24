"""The embedded AWS stand-in: moto with a fidelity layer, fault injection and call counters (see README.md)."""

from tools.standin.calls import OUTCOMES, Calls
from tools.standin.faults import FaultRule, Faults
from tools.standin.server import StandIn

__all__ = ["OUTCOMES", "Calls", "FaultRule", "Faults", "StandIn"]

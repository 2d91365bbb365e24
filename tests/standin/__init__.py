"""The embedded AWS stand-in: moto with a fidelity layer, fault injection and call counters (see README.md)."""

from tests.standin.calls import OUTCOMES, Calls
from tests.standin.faults import FaultRule, Faults
from tests.standin.server import StandIn

__all__ = ["OUTCOMES", "Calls", "FaultRule", "Faults", "StandIn"]

"""The app's models, one module per area."""

from .events import Event, EventKind, VisitorLink
from .merchandising import Rule
from .registry import ModelVersion, Scenario, TrainingRun
from .serving import PrecomputedList

__all__ = [
    "Event",
    "EventKind",
    "ModelVersion",
    "PrecomputedList",
    "Rule",
    "Scenario",
    "TrainingRun",
    "VisitorLink",
]

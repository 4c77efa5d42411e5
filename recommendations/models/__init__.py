"""The app's models, one module per area."""

from .events import Event, EventKind, VisitorLink
from .merchandising import Rule
from .quarantine import QuarantineCount, QuarantinedVisitor, QuarantineReason
from .registry import ModelVersion, TrainingRun
from .serving import PrecomputedList

__all__ = [
    "Event",
    "EventKind",
    "ModelVersion",
    "PrecomputedList",
    "QuarantineCount",
    "QuarantineReason",
    "QuarantinedVisitor",
    "Rule",
    "TrainingRun",
    "VisitorLink",
]

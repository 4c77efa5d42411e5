"""The app's models, one module per area."""

from .events import Dashboard, Event, EventKind, VisitorLink
from .experiments import Experiment, ExperimentVariant, VariantKind
from .merchandising import Rule
from .privacy import ErasureRequest, Suppression
from .quarantine import QuarantineCount, QuarantinedVisitor, QuarantineReason
from .registry import ModelVersion, TrainingRun
from .serving import PrecomputedList

__all__ = [
    "Dashboard",
    "ErasureRequest",
    "Event",
    "EventKind",
    "Experiment",
    "ExperimentVariant",
    "ModelVersion",
    "PrecomputedList",
    "QuarantineCount",
    "QuarantineReason",
    "QuarantinedVisitor",
    "Rule",
    "Suppression",
    "TrainingRun",
    "VariantKind",
    "VisitorLink",
]

"""The app's models, one module per area."""

from .events import Event, EventKind, VisitorLink
from .merchandising import Rule
from .serving import PrecomputedList

__all__ = ["Event", "EventKind", "PrecomputedList", "Rule", "VisitorLink"]

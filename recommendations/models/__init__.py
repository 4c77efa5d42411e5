"""The app's models, one module per area."""

from .events import Event, EventKind, VisitorLink
from .serving import PrecomputedList

__all__ = ["Event", "EventKind", "PrecomputedList", "VisitorLink"]

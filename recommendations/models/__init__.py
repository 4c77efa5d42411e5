"""The app's models, one module per area."""

from .events import Event, EventKind, VisitorLink

__all__ = ["Event", "EventKind", "VisitorLink"]

"""Training: events in the database → the engine → gated versions in the registry.

``events`` reads events as columns (and asks the adapter what to leave out), ``state`` keeps the
history a run trained on and merges new events into it, ``references`` says what a candidate is
compared with, and ``run`` holds the lock, fits and registers. Importing this package imports
torch only when a run fits (through the engine); web code must not call it.
"""

from .events import EventBatch, catalogue_texts, excluded_orders, excluded_users, read_events
from .references import incremental_candidates, reference_versions
from .run import (
    FULL,
    INCREMENTAL,
    ScenarioOutcome,
    TrainingBusy,
    TrainingResult,
    store_interactions,
    tie_breaks,
    train,
    training_lock,
)
from .state import TrainingState, latest_state, merge

__all__ = [
    "FULL",
    "INCREMENTAL",
    "EventBatch",
    "ScenarioOutcome",
    "TrainingBusy",
    "TrainingResult",
    "TrainingState",
    "catalogue_texts",
    "excluded_orders",
    "excluded_users",
    "incremental_candidates",
    "latest_state",
    "merge",
    "read_events",
    "reference_versions",
    "store_interactions",
    "tie_breaks",
    "train",
    "training_lock",
]

"""Behaviour segments: conditions staff define in admin, turned into member rows by Celery.

* :mod:`.conditions` — one evaluator per condition kind (aggregate queries over events);
* :mod:`.forms` — what each kind requires, checked before a condition is saved;
* :mod:`.membership` — combining conditions, the diff with the stored rows, signals, daily counts;
* :mod:`.incremental` — the frequent update from what changed, and the full rebuild;
* :mod:`.reports` — the member list, its CSV and the daily counts admin shows.
"""

from __future__ import annotations

from .incremental import Summary, rebuild_segments, update_segments
from .membership import Outcome, qualifying, rebuild

__all__ = ["Outcome", "Summary", "qualifying", "rebuild", "rebuild_segments", "update_segments"]

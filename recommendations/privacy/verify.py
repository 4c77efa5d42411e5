"""The second look: does any store still name the person?

Run by :func:`~recommendations.privacy.erase` after the purge; an erase is recorded as completed
only when this finds nothing. Findings describe the store, never the person's ids, so they can
be kept in the erase record.
"""

from __future__ import annotations

from .database import find_rows
from .files import find_files
from .live_state import find_live
from .subject import Subject


def find_references(subject: Subject) -> list[str]:
    """Where the person is still named; empty when nowhere."""
    return [*find_rows(subject), *find_live(subject), *find_files(subject)]

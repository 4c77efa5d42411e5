"""Export and erase of one person across every store the app keeps (GDPR Art. 15, 17, 20).

A person is a user id with every visitor id linked to them, or a bare visitor id
(:mod:`.subject`). What the app holds about them lives in five places, and each module here knows
how to read and purge its share:

* the database: events, visitor links, quarantine flags, precomputed lists (:mod:`.database`);
* Redis: live recent items, precomputed lists, burst counters, in-flight and dead-lettered
  stream messages (:mod:`.live_state`);
* training states and model artifacts, files in the artifact storage (:mod:`.files`).

:func:`export` gathers all of it into one JSON-able document; :func:`erase` suppresses the person
first (so nothing new comes in while it purges), purges, refreshes what is derived from events
(popularity, trending, also-viewed) and scans again (:func:`find_references`) before it records
the erase as completed. Admin, the management command and the self-service API are thin shells
over these functions.
"""

from .erase import ErasureBusy, erase
from .export import export
from .subject import Subject, resolve
from .verify import find_references

__all__ = ["ErasureBusy", "Subject", "erase", "export", "find_references", "resolve"]

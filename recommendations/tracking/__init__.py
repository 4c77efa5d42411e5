"""Event capture: identity, consent, sinks, the beacon and the ingest consumer.

The public entry points are :func:`recommendations.tracking.api.track` for views and
:func:`recommendations.tracking.store.insert_events` for bulk loads (imports, seeds).
"""

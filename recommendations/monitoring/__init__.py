"""What the dashboard shows: the store's activity now, and how fresh and healthy the pipeline is.

Plain functions over the event table, the registry and Redis; admin renders them.
"""

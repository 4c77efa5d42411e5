"""Fraud and risk: checkout attempts, rule-based and anomaly scores, and staff review.

Scores are computed off the request path (a Celery task queued when purchase events are stored,
and a periodic task for visitors); "block" only holds an order for review. Confirmed fraud feeds
the catalogue adapter's ``excluded_users()`` / ``excluded_orders()``, so it never trains models.
"""

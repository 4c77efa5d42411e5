"""Marketing: behaviour segments recomputed by Celery, and the campaigns shown to their members.

``segments`` turns the conditions staff define in admin into member rows (and the
``segment_entered`` / ``segment_left`` signals); ``campaigns`` picks the campaign a visitor is
shown, keeps a holdout and caps how often. Nothing here sends anything to customers.
"""

"""A store set up with the README's quick start and nothing else, run as its own Django project.

``test_quickstart.py`` runs ``scenarios.py`` under ``tests.quickstart.settings`` in a child pytest,
so that no setting of the demo store (its adapter, its throttle rates) can hide a gap in the steps.
"""

"""A/B experiments on recommendation slots: assignment, exposure, analysis, simulation.

Serving asks :func:`~recommendations.experiments.serving.variant_for` which configuration a
visitor's list gets; staff read :func:`~recommendations.experiments.results.experiment_results`.
See docs/experiments.md for the method and its assumptions.
"""

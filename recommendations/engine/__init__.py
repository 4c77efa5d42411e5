"""The recommendation engine: interaction matrices, models, metrics, splits and model selection.

Arrays in, arrays out; nothing here imports Django. Training code (``models``, ``evaluation``,
``selection``) uses torch. Serving code only needs :mod:`recommendations.engine.artifacts`, which
imports numpy alone, so importing this package must stay free of torch as well.
"""

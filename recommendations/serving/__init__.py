"""Serving recommendations: candidates → exact filters → merchandiser rules → diversity → exactly N.

Nothing under serving/ imports torch: it reads precomputed lists, live Redis state and numpy
artifacts.
"""

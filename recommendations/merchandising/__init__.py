"""Merchandising: the rules a merchandiser sets to steer what a slot shows.

``rules`` holds the pure rule engine (no database), ``loading`` reads and caches the live rules.
They are separate modules so that the model can use the rule types without an import cycle.
"""

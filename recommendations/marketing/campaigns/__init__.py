"""Campaigns: which one a visitor is shown, its content, and what it earned.

``live`` keeps the active campaigns in the process; ``selection`` picks the visitor's campaign
(segments, priority, holdout, frequency cap) and records the exposure; ``content`` describes what
it shows; ``performance`` counts impressions, clicks and orders per day and measures the lift
against the holdout. docs/marketing.md has the rules.
"""

"""Merchandising insights: demand forecasts, stock warnings, stock-aware ranking and prices.

- :mod:`.demand`: daily units, views and add-to-carts per product from the stored events;
- :mod:`.forecast`: a per-product forecast, its method chosen by a time-split backtest;
- :mod:`.stock`: days of stock left, about to run out, overstock;
- :mod:`.elasticity`: price elasticity from the store's own price changes;
- :mod:`.pricing`: price suggestions and the merchandiser's decision on them;
- :mod:`.ranking`: the optional, bounded stock-aware nudge of served lists;
- :mod:`.nightly`: the nightly run that writes what admin shows.

Nothing is imported here: :mod:`.forecast` (statsforecast) and :mod:`.nightly` load only in
workers and commands, while serving and admin import :mod:`.ranking` and :mod:`.pricing`, which
read and write stored rows only.
"""

"""Content neighbours for products no model knows yet (saved a moment ago)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np

from recommendations.catalog import get_catalog
from recommendations.conf import app_settings
from recommendations.stores import CONTENT_LABEL, RankedList, get_store

from .model_lists import USER_BLOCK, ranked_rows, top_rows

logger = logging.getLogger("recommendations.training")


def refresh_content_neighbours(item_ids: Iterable[str]) -> int:
    """``item:<id>:similar`` from catalogue content, for those of ``item_ids`` no model has a
    similar list for yet (a product saved a moment ago); returns lists written.

    Neighbours are the whole catalogue's items by cosine of
    :func:`~recommendations.engine.features.item_features` over title + description (TF-IDF) and
    category, best ``PRECOMPUTE_LENGTH`` first, with anything that shares neither a word nor the
    category left out. Price is not used, so serving can say truthfully that they are similar in
    name, description or category. Lists are labelled :data:`CONTENT_LABEL`: an item whose list
    carries another label (a trained model's) is skipped, even when a training run writes it
    meanwhile, and the next training run that has neighbours for the item replaces the content
    list. One pass over the catalogue serves all ``item_ids``, so callers batch them.
    """
    store = get_store()
    keys = {f"item:{item_id}:similar": str(item_id) for item_id in item_ids}
    current = store.get_many_labelled(list(keys))
    wanted = {
        item_id
        for key, item_id in keys.items()
        if key not in current or current[key][1] == CONTENT_LABEL
    }
    if not wanted:
        return 0
    infos = list(get_catalog().all_items())
    rows = np.array([row for row, info in enumerate(infos) if info.item_id in wanted], np.int64)
    if len(rows) == 0:
        return 0
    from recommendations.engine.features import (
        item_features,  # scikit-learn, only where lists are computed
    )

    features = item_features(
        [info.title for info in infos],
        descriptions=[info.description for info in infos],
        categories=[info.category or None for info in infos],
    )
    item_keys = np.asarray([info.item_id for info in infos])
    length = app_settings.PRECOMPUTE_LENGTH
    lists: dict[str, RankedList] = {}
    for start in range(0, len(rows), USER_BLOCK):
        block_rows = rows[start : start + USER_BLOCK]
        block = (features[block_rows] @ features.T).toarray()
        block[block <= 0] = -np.inf
        block[np.arange(len(block_rows)), block_rows] = -np.inf
        ranked = ranked_rows(item_keys, *top_rows(block, length))
        for row, neighbours in zip(block_rows, ranked, strict=True):
            if neighbours:
                lists[f"item:{item_keys[row]}:similar"] = neighbours
    return store.fill_many(lists, model_version=CONTENT_LABEL)

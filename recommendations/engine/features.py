"""Item feature vectors from catalogue text, category and price, for content-based similarity.

Content is what lets a brand-new item (no interactions yet) have neighbours at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize


def item_features(
    titles: Sequence[str],
    descriptions: Sequence[str] | None = None,
    categories: Sequence[str | None] | None = None,
    prices: Sequence[float | None] | None = None,
    *,
    price_buckets: int = 5,
    max_features: int = 20_000,
    category_weight: float = 0.5,
    price_weight: float = 0.25,
) -> sp.csr_matrix:
    """One L2-normalised float32 row per item.

    Blocks: TF-IDF of title + description (unigrams and bigrams, sublinear tf); one-hot category
    scaled by ``category_weight``; one-hot price quantile bucket scaled by ``price_weight`` (missing
    prices get no bucket). Weights below 1 keep text the main signal: two mugs of the same price are
    not as alike as two mugs.
    """
    n = len(titles)
    columns = {"descriptions": descriptions, "categories": categories, "prices": prices}
    for name, column in columns.items():
        if column is not None and len(column) != n:
            raise ValueError(f"{name} must have one entry per title ({n})")
    blocks: list[sp.csr_matrix] = []
    details = descriptions if descriptions is not None else [""] * n
    texts = [
        f"{title or ''} {detail or ''}".strip()
        for title, detail in zip(titles, details, strict=True)
    ]
    if any(texts):
        vectorizer = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, max_features=max_features, dtype=np.float32
        )
        with contextlib.suppress(ValueError):  # raised when no token survives: no text block
            blocks.append(sp.csr_matrix(vectorizer.fit_transform(texts)))
    if categories is not None:
        blocks.append(category_weight * _one_hot([str(c) if c else None for c in categories]))
    if prices is not None:
        blocks.append(price_weight * _one_hot(_price_buckets(prices, price_buckets)))
    if not blocks:
        return sp.csr_matrix((n, 0), dtype=np.float32)
    features = sp.hstack(blocks, format="csr", dtype=np.float32)
    return sp.csr_matrix(normalize(features, norm="l2", axis=1), dtype=np.float32)


def _price_buckets(prices: Sequence[float | None], buckets: int) -> list[str | None]:
    values = np.array([np.nan if p is None else float(p) for p in prices], dtype=np.float64)
    known = np.isfinite(values)
    if not known.any():
        return [None] * len(values)
    edges = np.unique(np.quantile(values[known], np.linspace(0, 1, buckets + 1)[1:-1]))
    bucket = np.searchsorted(edges, values, side="right")
    return [f"price_{b}" if ok else None for b, ok in zip(bucket, known, strict=True)]


def _one_hot(labels: list[str | None]) -> sp.csr_matrix:
    vocabulary = sorted({label for label in labels if label is not None})
    column = {label: i for i, label in enumerate(vocabulary)}
    rows = [i for i, label in enumerate(labels) if label is not None]
    cols = [column[label] for label in labels if label is not None]
    return sp.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(labels), len(vocabulary))
    )

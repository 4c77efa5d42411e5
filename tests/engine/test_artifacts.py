import io
import json
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.engine.artifacts import Artifact, load_artifact, load_scorer, save_artifact
from recommendations.engine.features import item_features
from recommendations.engine.models import (
    ALS,
    EASE,
    BoughtTogether,
    ContentSimilarity,
    Hybrid,
    ItemKNN,
    Popularity,
    Trending,
)

from .synthetic import clustered


@pytest.fixture(scope="module")
def data():
    return clustered()


def fitted_models(matrix, times):
    features = item_features([f"colour{i % 7} shape{i % 5}" for i in range(matrix.shape[1])])
    return [
        Popularity().fit(matrix),
        Trending().fit(matrix, times),
        ItemKNN(neighbours=20).fit(matrix),
        BoughtTogether(min_count=1).fit(matrix),
        EASE(regularization=10.0, artifact_neighbours=matrix.shape[1]).fit(matrix),
        ALS(factors=8, iterations=5).fit(matrix),
        ContentSimilarity().fit(matrix, features),
        Hybrid().fit(matrix, features),
    ]


def round_trip(artifact: Artifact) -> Artifact:
    buffer = io.BytesIO()
    save_artifact(artifact, buffer)
    return load_artifact(buffer.getvalue())


def test_every_model_round_trips_and_scores_like_the_model(data):
    matrix, times = data
    for model in fitted_models(matrix, times):
        artifact = model.to_artifact()
        json.dumps(artifact.params)
        restored = round_trip(artifact)
        assert restored.model == model.name and restored.kind == artifact.kind
        scorer = load_scorer(restored)
        row = matrix[7]
        expected, _ = model.recommend([7], n=5)
        got, _ = scorer.recommend(row.indices, row.data, n=5)
        assert len(set(got) & set(expected[0])) >= 4, model.name
        neighbours, _ = scorer.similar_items(3, n=5)
        assert 3 not in neighbours


def test_item_keys_travel_with_the_artifact(data):
    matrix, _ = data
    artifact = Popularity().fit(matrix).to_artifact()
    artifact.item_keys = np.array([f"sku-{i}" for i in range(matrix.shape[1])])
    assert round_trip(artifact).item_keys[5] == "sku-5"


def test_neighbour_scorer_ignores_unknown_items_and_omits_unreachable_ones():
    table = sp.csr_matrix(np.array([[0, 0.5, 0], [0.5, 0, 0], [0, 0, 0]], dtype=np.float32))
    scorer = load_scorer(ItemKNN.from_table(table).to_artifact())
    top, scores = scorer.recommend([0, -1, 99], n=3)
    assert top.tolist() == [1] and scores.tolist() == [0.5]
    assert scorer.similar_items(99)[0].size == 0


def test_unknown_kind_and_format_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown artifact kind"):
        Artifact("x", "mystery", {})
    path = tmp_path / "bad.npz"
    np.savez(path, __meta__=np.asarray(json.dumps({"format": 99})))
    with pytest.raises(ValueError, match="format"):
        load_artifact(path)


SERVING_SCRIPT = """
import sys
from recommendations.engine.artifacts import load_scorer
for path in sys.argv[1:]:
    scorer = load_scorer(path)
    scorer.recommend([0, 1, 2], n=5)
    scorer.similar_items(0, n=5)
heavy = sorted(name for name in ("torch", "django", "sklearn") if name in sys.modules)
print(",".join(heavy))
"""


def test_serving_path_loads_without_torch(data, tmp_path):
    matrix, times = data
    paths = []
    for model in fitted_models(matrix, times):
        path = tmp_path / f"{model.name}.npz"
        save_artifact(model.to_artifact(), path)
        paths.append(str(path))
    result = subprocess.run(
        [sys.executable, "-c", SERVING_SCRIPT, *paths], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_engine_never_imports_django():
    script = (
        "import sys, pkgutil, importlib, recommendations.engine as e\n"
        "for m in pkgutil.walk_packages(e.__path__, 'recommendations.engine.'):\n"
        "    importlib.import_module(m.name)\n"
        "print('django' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"

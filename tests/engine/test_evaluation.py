import io

import numpy as np
import pytest

from recommendations.engine import evaluation
from recommendations.engine.datasets import read_interactions_csv
from recommendations.engine.evaluation import as_event_log, evaluate_interactions
from recommendations.engine.models import ALS, EASE, ItemKNN, Popularity
from recommendations.engine.selection import Candidate

from .synthetic import clustered


def candidates():
    return [
        Candidate("popularity", lambda: Popularity()),
        Candidate("itemknn", lambda: ItemKNN(neighbours=20)),
        Candidate("ease", lambda: EASE(regularization=20.0)),
        Candidate("als", lambda: ALS(factors=8, regularization=1.0, alpha=5.0, iterations=8)),
    ]


def table():
    matrix, times = clustered()
    coo, stamps = matrix.tocoo(), times.tocoo()
    return {
        "user": [f"u{r}" for r in coo.row],
        "item": [f"i{c}" for c in coo.col],
        "timestamp": stamps.data,
    }


def test_evaluate_interactions_reports_every_family_and_a_selection():
    result = evaluate_interactions(table(), candidates=candidates())
    assert set(result) == {"protocol", "models", "selected"}
    assert result["protocol"] == "leave_last_out"
    assert set(result["models"]) == {"popularity", "itemknn", "ease", "als"}
    for metrics in result["models"].values():
        for key in ("hr@10", "recall@20", "ndcg@10", "fit_s"):
            assert isinstance(metrics[key], float)
    assert result["selected"] in result["models"]
    assert result["selected"] != "popularity"


def test_selection_only_sees_training_data(monkeypatch):
    seen = {}
    real = evaluation.select_for_you

    def spy(matrix, times, **kwargs):
        seen["nnz"] = matrix.nnz
        return real(matrix, times, **kwargs)

    monkeypatch.setattr(evaluation, "select_for_you", spy)
    data = table()
    evaluate_interactions(data, candidates=candidates())
    n_users = len(set(data["user"]))
    assert seen["nnz"] == len(data["user"]) - n_users  # every user (10 items each) gave one up


def test_time_protocol_and_iso_timestamps():
    data = table()
    data["timestamp"] = np.array(data["timestamp"], dtype="datetime64[s]")
    result = evaluate_interactions(data, protocol="time", candidates=candidates()[:2])
    assert result["protocol"] == "time"
    with pytest.raises(ValueError, match="unknown protocol"):
        evaluate_interactions(data, protocol="random")


def test_tables_must_have_the_columns():
    with pytest.raises(ValueError, match=r"missing column.*timestamp"):
        as_event_log({"user": ["a"], "item": ["b"]})
    with pytest.raises(ValueError, match="bad timestamp 'soon' in row 1"):
        as_event_log({"user": ["a", "b"], "item": ["x", "y"], "timestamp": ["2024-01-01", "soon"]})


def csv(text: str):
    return read_interactions_csv(io.StringIO(text))


def test_csv_reader_accepts_iso_unix_and_extra_columns():
    log = csv(
        "item,user,timestamp,weight,extra\n"
        "a,u1,2024-01-01T00:00:00Z,2,x\n"
        "b,u1,1704067200,,y\n"
        "c,u2,2024-01-01 01:00:00+01:00,0.5,z\n"
    )
    assert log.users.tolist() == ["u1", "u1", "u2"]
    assert log.timestamps.tolist() == [1704067200.0] * 3
    assert log.weights.tolist() == [2.0, 1.0, 0.5]


def test_csv_reader_without_weights():
    assert csv("user,item,timestamp\nu,a,0\n").weights.tolist() == [1.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty CSV"),
        ("user,item\nu,a\n", "missing column.*timestamp"),
        ("user,item,timestamp\nu,a,0\nu,b,yesterday\n", "bad timestamp 'yesterday' on line 3"),
        ("user,item,timestamp\nu,a,nan\n", "bad timestamp 'nan' on line 2"),
        ("user,item,timestamp,weight\nu,a,0,heavy\n", "bad weight 'heavy' on line 2"),
        ("user,item,timestamp,weight\nu,a,0,1\nu,b,0,inf\n", "bad weight 'inf' on line 3"),
        ("user,item,timestamp\n,a,0\n", "line 2: empty user"),
        ("user,item,timestamp\nu,a\n", "line 2: expected 3 fields"),
    ],
)
def test_csv_reader_errors_name_the_problem(text, message):
    with pytest.raises(ValueError, match=message):
        csv(text)


def test_csv_path_and_gzip(tmp_path):
    import gzip

    path = tmp_path / "events.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("user,item,timestamp\nu,a,0\n")
    assert len(as_event_log(path)) == 1

"""classification_metrics: scikit-learn's numbers, one dictionary, in memory or on Dask."""

import dask.array as da
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk
from sklearn.datasets import load_iris, make_classification

from noloop.linear_model import LogisticRegression
from noloop.metrics import classification_metrics, match_classes


@pytest.fixture(scope="module")
def iris():
    data = load_iris()
    labels = data.target_names[data.target]
    return data.data, labels, LogisticRegression(max_iter=300).fit(data.data, labels)


def test_multiclass_metrics_are_scikit_learns(iris):
    X, y, model = iris
    result = classification_metrics(model, X, y)
    assert result["n_rows"] == 150
    assert result["accuracy"] == pytest.approx(sk.accuracy_score(y, model.predict(X)))
    assert result["log_loss"] == pytest.approx(sk.log_loss(y, model.predict_proba(X)))
    assert result["confusion_matrix"] == sk.confusion_matrix(y, model.predict(X)).tolist()
    assert list(result["per_class"]) == ["setosa", "versicolor", "virginica"]
    recall = sk.recall_score(y, model.predict(X), average=None)
    assert [row["recall"] for row in result["per_class"].values()] == pytest.approx(recall)
    assert [row["support"] for row in result["per_class"].values()] == [50, 50, 50]
    assert "roc_auc" not in result


def test_binary_metrics_add_roc_auc_and_are_json_ready():
    import json

    X, y = make_classification(n_samples=200, n_features=4, random_state=0)
    model = LogisticRegression().fit(X, y)
    result = classification_metrics(model, X, y)
    assert result["roc_auc"] == pytest.approx(sk.roc_auc_score(y, model.predict_proba(X)[:, 1]))
    assert json.loads(json.dumps(result)) == result
    # a class absent from y: no ROC AUC, and zero support rather than an error
    only_ones = classification_metrics(model, X[y == 1], y[y == 1])
    assert "roc_auc" not in only_ones and only_ones["per_class"]["0"]["support"] == 0


def test_labels_the_model_never_saw_are_a_value_error(iris):
    X, y, model = iris
    wrong = y.copy()
    wrong[:2] = "rose"
    with pytest.raises(ValueError, match=r"labels 'rose' are not among the model's classes "
                                         r"'setosa', 'versicolor', 'virginica'"):
        classification_metrics(model, X, wrong)


def test_dask_metrics_take_one_pass_and_agree_with_memory(iris):
    X, y, model = iris
    order = np.random.default_rng(0).permutation(len(y))  # mix the classes across chunks
    X, y = X[order], y[order]
    result = classification_metrics(model, da.from_array(X, chunks=(40, -1)),
                                    da.from_array(y, chunks=40))
    expected = classification_metrics(model, X, y)
    assert set(result) == {"n_rows", "accuracy", "log_loss"}
    assert result["n_rows"] == 150
    assert result["accuracy"] == pytest.approx(expected["accuracy"])
    assert result["log_loss"] == pytest.approx(expected["log_loss"])


# ------------------------------------------------------------------ issue 15, items 2 and 10


@pytest.mark.parametrize(("labels", "classes", "expected"), [
    ([0, 1, 2, True], [False, True], [-1, -1, -1, 1]),        # 2 is not True; 1 is not True
    (["true", " FALSE", "yes"], [False, True], [1, 0, -1]),
    ([0.0, 1.0, 0.5, 1.7], [0, 1], [0, 1, -1, -1]),           # by value, never truncated
    (["1", " 0 ", "1e0", "x", None], [0, 1], [1, 0, 1, -1, -1]),
    ([0, 1, 2.0], ["0", "1", "2", "other"], [0, 1, 2]),          # text classes, numbers in the file
    ([1.5, np.nan], ["1.5", "nan"], [0, -1]),                   # an empty cell matches nothing
    (np.array([1, 0, 2], dtype=np.float16), np.array([0, 1], dtype=np.float16), [1, 0, -1]),
])
def test_match_classes_compares_labels_by_value_as_read(labels, classes, expected):
    labels = pd.Series(labels, dtype=object)
    assert match_classes(labels, np.array(classes)).tolist() == expected


def test_metrics_refuse_labels_that_only_a_cast_would_match():
    model = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]),
                                     np.array([False, False, True, True]))
    with pytest.raises(ValueError, match=r"labels 1, 2 are not among the model's classes False, True"):
        classification_metrics(model, np.zeros((2, 1)), np.array([1, 2]))


def test_text_classes_score_numeric_labels():
    # issue 15 item 10: a model trained on 0, 1 and "other" refused a file holding only 0 and 1
    X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    model = LogisticRegression().fit(X, np.array(["0", "0", "1", "1", "other", "other"]))
    result = classification_metrics(model, X[:4], np.array([0, 0, 1, 1]))
    assert result["n_rows"] == 4 and result["per_class"]["other"]["support"] == 0
    assert result["accuracy"] == pytest.approx(
        np.mean(model.predict(X[:4]) == np.array(["0", "0", "1", "1"])))


def test_metrics_from_codes_are_scikit_learns_with_ties_and_an_unpredicted_class():
    """Issue 16: NumPy from one confusion matrix, scikit-learn's numbers (ties in the scores
    count one half in the ROC AUC; a class never predicted has precision 0)."""
    from noloop.metrics import metrics_from_codes

    rng = np.random.default_rng(16)
    score = np.round(rng.random(2000), 2)  # many ties
    codes = (rng.random(2000) < score).astype(np.int64)
    binary = metrics_from_codes(np.column_stack([1 - score, score]), codes, ["no", "yes"])
    assert binary["roc_auc"] == pytest.approx(sk.roc_auc_score(codes, score), rel=1e-12)
    assert binary["log_loss"] == pytest.approx(
        sk.log_loss(codes, np.column_stack([1 - score, score])), rel=1e-12)
    proba = rng.dirichlet([1, 1, 1], size=300) * [1, 1, 0.01]  # class 2 is never predicted
    proba /= proba.sum(axis=1, keepdims=True)
    labels = rng.integers(0, 3, 300)
    result = metrics_from_codes(proba, labels, ["a", "b", "c"])
    predicted = proba.argmax(axis=1)
    precision, recall, _, support = sk.precision_recall_fscore_support(
        labels, predicted, labels=[0, 1, 2], zero_division=0)
    assert [row["precision"] for row in result["per_class"].values()] == list(precision)
    assert [row["recall"] for row in result["per_class"].values()] == list(recall)
    assert [row["support"] for row in result["per_class"].values()] == list(support)
    assert result["confusion_matrix"] == sk.confusion_matrix(labels, predicted).tolist()
    assert result["accuracy"] == sk.accuracy_score(labels, predicted)
    assert result["log_loss"] == pytest.approx(sk.log_loss(labels, proba, labels=[0, 1, 2]),
                                               rel=1e-12)

"""Optional learned grader: TF-IDF + rule outputs -> logistic regression (scikit-learn).

Nothing trained ships with the code. ``train`` fits a model at run time from labelled records the
user points to (e.g. MRBench, CC BY-SA 4.0 - a model fitted on it is derived from it, so keep
the attribution with any copy you distribute). ``cross_validate`` reports honest figures: every
prediction comes from a model that never saw the record's conversation (GroupKFold by
``conversation_id``), and a recall-targeted threshold is chosen on inner folds of the training
part only.

Features: the reply's word 1-2-grams and character 3-5-grams (TF-IDF), every rule grader's label
(one-hot) and score, and the answer-leak grader's intermediate signals
(``answer_leak.signals``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import answer_leak, grade_all
from .base import GradeInput

NAME = "learned"
VERSION = "1.0"
RULE_GRADERS = (
    "answer_leak",
    "telling",
    "mistake_identification",
    "mistake_location",
    "tone",
    "naturalness",
    "math_claims",
)


def rule_features(inp: GradeInput) -> dict[str, float]:
    grades = grade_all(inp, RULE_GRADERS)
    feats: dict[str, float] = {}
    for name, g in grades.items():
        feats[f"{name}={g.label}"] = 1.0
        if g.score is not None:
            feats[f"{name}.score"] = float(g.score)
    for key, value in answer_leak.signals(inp).items():
        feats[f"leak.{key}"] = min(value, 3.0) / 3.0 if value > 1 else value
    feats["words"] = min(len(inp.response.split()), 200) / 200
    feats["questions"] = min(inp.response.count("?"), 3) / 3
    return feats


@dataclass
class LearnedModel:
    dimension: str
    classes: tuple[str, ...]
    pipeline: Any  # (word tfidf, char tfidf, DictVectorizer, LogisticRegression)
    threshold: float | None = (
        None  # binary models: probability of the positive class to say yes
    )
    positive: str | None = None

    def predict_proba(
        self,
        inputs: Sequence[GradeInput],
        feats: Sequence[dict[str, float]] | None = None,
    ) -> np.ndarray:
        word, char, dv, clf = self.pipeline
        proba: np.ndarray = clf.predict_proba(
            _matrix(inputs, word, char, dv, fit=False, feats=feats)
        )
        return proba

    def predict(
        self,
        inputs: Sequence[GradeInput],
        feats: Sequence[dict[str, float]] | None = None,
    ) -> list[str]:
        proba = self.predict_proba(inputs, feats)
        if self.threshold is not None and self.positive is not None:
            pos = list(self.pipeline[3].classes_).index(self.positive)
            other = next(c for c in self.pipeline[3].classes_ if c != self.positive)
            return [self.positive if p[pos] >= self.threshold else other for p in proba]
        return [str(self.pipeline[3].classes_[i]) for i in proba.argmax(axis=1)]


def _matrix(
    inputs: Sequence[GradeInput],
    word: Any,
    char: Any,
    dv: Any,
    *,
    fit: bool,
    feats: Sequence[dict[str, float]] | None = None,
) -> Any:
    from scipy.sparse import hstack

    texts = [inp.response for inp in inputs]
    feats = list(feats) if feats is not None else [rule_features(inp) for inp in inputs]
    if fit:
        return hstack(
            [
                word.fit_transform(texts),
                char.fit_transform(texts),
                dv.fit_transform(feats),
            ]
        ).tocsr()
    return hstack(
        [word.transform(texts), char.transform(texts), dv.transform(feats)]
    ).tocsr()


def _new_pipeline(c: float) -> tuple[Any, Any, Any, Any]:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    return (
        TfidfVectorizer(
            ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True
        ),
        TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 4),
            min_df=5,
            sublinear_tf=True,
            max_features=5000,
        ),
        DictVectorizer(),
        OneVsRestClassifier(
            LogisticRegression(
                C=c, max_iter=1000, class_weight="balanced", solver="liblinear"
            )
        ),
    )


def fit(
    inputs: Sequence[GradeInput],
    labels: Sequence[str],
    dimension: str,
    *,
    c: float = 1.0,
    feats: Sequence[dict[str, float]] | None = None,
) -> LearnedModel:
    pipeline = _new_pipeline(c)
    word, char, dv, clf = pipeline
    clf.fit(_matrix(inputs, word, char, dv, fit=True, feats=feats), list(labels))
    return LearnedModel(dimension, tuple(str(x) for x in clf.classes_), pipeline)


def _threshold_for_recall(
    y: Sequence[str], proba: np.ndarray, positive: str, target_recall: float
) -> float:
    """The highest threshold whose recall of ``positive`` reaches the target."""
    pos_scores = np.sort(
        np.array([p for t, p in zip(y, proba, strict=True) if t == positive])
    )
    if len(pos_scores) == 0:
        return 0.5
    k = int(np.floor((1 - target_recall) * len(pos_scores)))
    return float(pos_scores[min(k, len(pos_scores) - 1)])


def _target(dimension: str, label: str, binary: bool) -> str:
    if not binary:
        return label
    if dimension == "Revealing_of_the_Answer":
        return "Yes" if label.startswith("Yes") else "No"
    return "No" if label == "No" else "Yes"


def cross_validate(
    records: Sequence[Mapping[str, Any]],
    dimension: str,
    *,
    to_input: Callable[[Mapping[str, Any]], GradeInput],
    n_splits: int = 5,
    binary: bool = False,
    target_recall: float | None = None,
    c: float = 1.0,
    cache: dict[int, tuple[GradeInput, dict[str, float]]] | None = None,
) -> list[str | None]:
    """Out-of-fold predictions (one per record, None where the record has no label).

    GroupKFold by ``conversation_id``: no conversation is ever in both the training and the test
    part. With ``target_recall`` (binary only) the decision threshold is the one reaching that
    recall on inner GroupKFold predictions of the training part.
    """
    from sklearn.model_selection import GroupKFold

    rows = [
        (i, r)
        for i, r in enumerate(records)
        if r.get("labels", {}).get(dimension) is not None
    ]
    cache = {} if cache is None else cache
    for _, r in rows:
        if id(r) not in cache:
            inp = to_input(r)
            cache[id(r)] = (
                inp,
                rule_features(inp),
            )  # rule features depend on one record only
    inputs = [cache[id(r)][0] for _, r in rows]
    feats = [cache[id(r)][1] for _, r in rows]
    y = [_target(dimension, r["labels"][dimension], binary) for _, r in rows]
    groups = [str(r.get("conversation_id", i)) for i, r in rows]
    predictions: list[str | None] = [None] * len(records)
    for train_idx, test_idx in GroupKFold(n_splits=n_splits).split(inputs, y, groups):
        train_inputs = [inputs[i] for i in train_idx]
        train_feats = [feats[i] for i in train_idx]
        train_y = [y[i] for i in train_idx]
        model = fit(train_inputs, train_y, dimension, c=c, feats=train_feats)
        if binary and target_recall is not None:
            positive = "Yes"
            oof = np.zeros(len(train_idx))
            inner_groups = [groups[i] for i in train_idx]
            for a, b in GroupKFold(n_splits=3).split(
                train_inputs, train_y, inner_groups
            ):
                inner = fit(
                    [train_inputs[i] for i in a],
                    [train_y[i] for i in a],
                    dimension,
                    c=c,
                    feats=[train_feats[i] for i in a],
                )
                pos = list(inner.pipeline[3].classes_).index(positive)
                oof[b] = inner.predict_proba(
                    [train_inputs[i] for i in b], [train_feats[i] for i in b]
                )[:, pos]
            model.threshold = _threshold_for_recall(
                train_y, oof, positive, target_recall
            )
            model.positive = positive
        test_labels = model.predict(
            [inputs[i] for i in test_idx], [feats[i] for i in test_idx]
        )
        for i, label in zip(test_idx, test_labels, strict=True):
            predictions[rows[i][0]] = label
    return predictions


def train(
    records: Sequence[Mapping[str, Any]],
    dimension: str,
    *,
    to_input: Callable[[Mapping[str, Any]], GradeInput],
    binary: bool = False,
    c: float = 1.0,
) -> LearnedModel:
    """A model fitted on every labelled record (for use on other data, never to report figures)."""
    rows = [r for r in records if r.get("labels", {}).get(dimension) is not None]
    return fit(
        [to_input(r) for r in rows],
        [_target(dimension, r["labels"][dimension], binary) for r in rows],
        dimension,
        c=c,
    )

"""From a dataset to evaluated churn scores in one call.

*Snapshot* data (a churn flag, no dates, as in Telco): features of every customer, the flag as the
label, stratified shuffled k-fold cross-validation of the candidate models (out-of-fold
probabilities for every customer), the final model fitted on all customers and applied to those
still active.

*Dated* data: a time-based split. Features are computed at ``as_of - 2 x horizon`` (training) and
``as_of - horizon`` (test), each labelled by churn within the following ``horizon_days``; the
candidates are fitted on the first window and evaluated on the second. The final model is refitted
on both windows and scores the customers active at ``as_of`` for churn in the next ``horizon_days``.

The gradient boosting candidate is tuned inside every fit (:class:`toolkit.churn.models.TunedHGBChurn`:
an inner cross-validation of the fit's own training rows over :data:`toolkit.churn.models.HGB_GRID`),
so its cross-validated and time-split metrics are nested; ``ChurnPrediction.tuning`` says what was
searched and chosen (:func:`toolkit.churn.models.tuning_table`).

``model='auto'`` keeps logistic regression unless gradient boosting has a higher ROC-AUC by more than
``margin`` (see :func:`toolkit.churn.models.choose_kind`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit.data.errors import InsufficientDataError
from toolkit.churn.evaluation import classification_metrics, cross_validate
from toolkit.churn.features import DEFAULT_EXCLUDE, build_features
from toolkit.churn.labels import churn_labels, is_dated, window_labels
from toolkit.churn.models import KINDS, MODEL_NAMES, choose_kind, make_estimator, tuning_table


@dataclass
class ChurnPrediction:
    """Everything the report needs from the prediction step."""

    mode: str                      # "snapshot" (cross-validation) or "time" (time-based split)
    kind: str                      # chosen model: "logit" or "hgb"
    comparison: pd.DataFrame       # evaluation metrics per candidate model
    metrics: dict[str, float]      # the chosen model's evaluation metrics
    y_eval: np.ndarray             # labels of the evaluation rows
    p_eval: np.ndarray             # the chosen model's out-of-sample probabilities for them
    X_eval: pd.DataFrame           # features of the evaluation rows
    model: Any                     # final fitted estimator of the chosen kind
    X_train: pd.DataFrame          # the final model's training features
    y_train: np.ndarray
    X_score: pd.DataFrame          # features of the customers scored at as_of
    scores: pd.Series              # churn probability of each active customer at as_of
    horizon_days: int | None
    cutoffs: dict[str, pd.Timestamp] = field(default_factory=dict)
    folds: pd.DataFrame | None = None
    eval_model: Any = None         # a model of the chosen kind that did not see the held-out rows below
    X_holdout: pd.DataFrame | None = None
    y_holdout: np.ndarray | None = None
    tuning: pd.DataFrame | None = None  # gradient boosting's search: settings and choices (tuning_table)

    @property
    def model_name(self) -> str:
        return MODEL_NAMES[self.kind]

    def summary(self) -> pd.DataFrame:
        return self.comparison


def _candidates(model: str) -> list[str]:
    if model not in KINDS:
        raise ValueError(f"model {model!r} is not one of {', '.join(KINDS)}")
    return ["logit", "hgb"] if model == "auto" else [model]


def predict_churn(ds: Any, definition: str = "explicit", as_of: Any = None, horizon_days: int = 90,
                  model: str = "auto", exclude: tuple[str, ...] | list[str] = DEFAULT_EXCLUDE, seed: int = 0,
                  folds: int = 5, inactivity_days: int = 180, p_alive_threshold: float = 0.5,
                  margin: float = 0.005, n_threads: int = 1) -> ChurnPrediction:
    """Build features and labels, compare the candidate models out of sample, fit and score."""
    as_of = pd.Timestamp(as_of).normalize() if as_of is not None else pd.Timestamp(ds.as_of).normalize()
    kinds = _candidates(model)
    make = {k: (lambda k=k: make_estimator(k, seed, n_threads)) for k in kinds}
    lab_kw = dict(definition=definition, inactivity_days=inactivity_days, p_alive_threshold=p_alive_threshold)
    if not is_dated(ds, definition):
        labels = churn_labels(ds, as_of=as_of, attributes=(), **lab_kw)
        X = build_features(ds, as_of=as_of, exclude=exclude).reindex(labels.index)
        y = labels["churned"].astype(int).to_numpy()
        results = {k: cross_validate(make[k], X, y, folds=folds, seed=seed, keep_models=True) for k in kinds}
        comparison = pd.DataFrame({k: r.mean for k, r in results.items()}).T
        comparison["customers"] = len(y)
        kind = choose_kind(comparison["roc_auc"].to_dict(), margin)
        final = make[kind]().fit(X, y)
        active = labels.index[labels["active"].to_numpy()]
        X_score = X.loc[active]
        scores = pd.Series(final.predict_proba(X_score)[:, 1], index=active, name="churn_probability")
        res = results[kind]
        te = res.test_index[0]
        tuning = tuning_table(results["hgb"].models, final) if "hgb" in results else None
        return ChurnPrediction("snapshot", kind, comparison, res.mean.to_dict(), y, res.oof, X, final, X, y,
                               X_score, scores, None, {"as_of": as_of}, res.folds, res.models[0], X.iloc[te], y[te],
                               tuning)
    h = pd.Timedelta(days=int(horizon_days))
    test_cut, train_cut = as_of - h, as_of - 2 * h
    y1 = window_labels(ds, train_cut, horizon_days, **lab_kw)
    y2 = window_labels(ds, test_cut, horizon_days, **lab_kw)
    for name, yy in (("training", y1), ("test", y2)):
        if yy.sum() < 10 or (~yy).sum() < 10:
            raise InsufficientDataError(f"the {name} window starting {yy.attrs['cutoff'].date()} has {int(yy.sum())} churners "
                             f"among {len(yy)} customers: too few to fit or evaluate a model; try a longer "
                             "horizon or another churn definition")
    X1 = build_features(ds, as_of=train_cut, exclude=exclude, customers=y1.index).reindex(y1.index)
    X2 = build_features(ds, as_of=test_cut, exclude=exclude, customers=y2.index).reindex(index=y2.index,
                                                                                         columns=X1.columns)
    y1a, y2a = y1.astype(int).to_numpy(), y2.astype(int).to_numpy()
    fitted = {k: make[k]().fit(X1, y1a) for k in kinds}
    probs = {k: m.predict_proba(X2)[:, 1] for k, m in fitted.items()}
    comparison = pd.DataFrame({k: classification_metrics(y2a, p) for k, p in probs.items()}).T
    kind = choose_kind(comparison["roc_auc"].to_dict(), margin)
    X_train = pd.concat([X1, X2], ignore_index=True)
    y_train = np.concatenate([y1a, y2a])
    final = make[kind]().fit(X_train, y_train)
    now = churn_labels(ds, as_of=as_of, attributes=(), **lab_kw)
    active = now.index[now["active"].to_numpy()]
    X_score = build_features(ds, as_of=as_of, exclude=exclude, customers=active).reindex(index=active,
                                                                                        columns=X1.columns)
    scores = pd.Series(final.predict_proba(X_score)[:, 1], index=active, name="churn_probability")
    tuning = tuning_table([fitted["hgb"]], final, evaluation="training window") if "hgb" in fitted else None
    return ChurnPrediction("time", kind, comparison, comparison.loc[kind].to_dict(), y2a, probs[kind], X2, final,
                           X_train, y_train, X_score, scores, int(horizon_days),
                           {"train": train_cut, "test": test_cut, "as_of": as_of}, None, fitted[kind], X2, y2a,
                           tuning)

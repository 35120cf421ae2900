"""How good are churn scores: discrimination (ROC-AUC, PR-AUC), calibration (Brier score,
calibration curve) and targeting value (cumulative gains, lift, top-decile lift); cross-validation."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold


def top_share_lift(y: np.ndarray, p: np.ndarray, share: float = 0.1) -> float:
    """Churn rate among the ``share`` highest scores divided by the overall churn rate."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    k = max(int(round(share * len(y))), 1)
    order = np.argsort(-p, kind="stable")[:k]
    base = y.mean()
    return float(y[order].mean() / base) if base > 0 else np.nan


def classification_metrics(y: Any, p: Any) -> dict[str, float]:
    """ROC-AUC, PR-AUC (average precision), Brier score, log loss, base rate and top-decile lift."""
    y, p = np.asarray(y, int), np.clip(np.asarray(p, float), 1e-9, 1 - 1e-9)
    both = len(np.unique(y)) == 2
    return {
        "customers": int(len(y)),
        "churn_rate": float(y.mean()) if len(y) else np.nan,
        "roc_auc": float(roc_auc_score(y, p)) if both else np.nan,
        "pr_auc": float(average_precision_score(y, p)) if both else np.nan,
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "top_decile_lift": top_share_lift(y, p, 0.1),
    }


def calibration_table(y: Any, p: Any, bins: int = 10) -> pd.DataFrame:
    """Mean predicted probability vs observed churn rate in ``bins`` equal-sized score groups."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    ranks = pd.Series(p).rank(method="first").to_numpy()
    group = np.minimum((ranks - 1) * bins // len(p), bins - 1).astype(int) + 1
    frame = pd.DataFrame({"bin": group, "predicted": p, "observed": y})
    out = frame.groupby("bin").agg(customers=("observed", "size"), mean_predicted=("predicted", "mean"),
                                   observed_rate=("observed", "mean"))
    return out


def gains_table(y: Any, p: Any, groups: int = 10) -> pd.DataFrame:
    """Cumulative gains and lift by score decile (decile 1 = highest scores)."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    order = np.argsort(-p, kind="stable")
    ys = y[order]
    n = len(y)
    edges = np.round(np.linspace(0, n, groups + 1)).astype(int)
    total = ys.sum()
    rows = []
    for i in range(groups):
        lo, hi = edges[i], edges[i + 1]
        cum = ys[:hi].sum()
        rows.append({"decile": i + 1, "customers": hi - lo, "churners": int(ys[lo:hi].sum()),
                     "churn_rate": ys[lo:hi].mean() if hi > lo else np.nan,
                     "share_targeted": hi / n, "share_of_churners_captured": cum / total if total else np.nan})
    out = pd.DataFrame(rows).set_index("decile")
    base = y.mean()
    out["lift"] = out["churn_rate"] / base
    out["cumulative_lift"] = out["share_of_churners_captured"] / out["share_targeted"]
    return out


@dataclass
class CVResult:
    """Cross-validation: metrics per fold, their mean, and out-of-fold probabilities."""

    folds: pd.DataFrame
    oof: np.ndarray
    models: list = field(default_factory=list)
    test_index: list = field(default_factory=list)

    @property
    def mean(self) -> pd.Series:
        return self.folds.mean(numeric_only=True)

    def summary(self) -> pd.DataFrame:
        return self.folds.agg(["mean", "std"]).T


def cross_validate(make_model: Callable[[], Any], X: pd.DataFrame, y: Any, folds: int = 5, seed: int = 0,
                   keep_models: bool = False) -> CVResult:
    """Stratified, shuffled k-fold CV (``random_state=seed``) of a model with ``fit``/``predict_proba``;
    ``keep_models`` keeps each fold's fitted model and test rows."""
    y = np.asarray(y, int)
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    oof = np.full(len(y), np.nan)
    rows, models, tests = [], [], []
    for k, (tr, te) in enumerate(skf.split(np.zeros(len(y)), y), start=1):
        model = make_model().fit(X.iloc[tr], y[tr])
        oof[te] = model.predict_proba(X.iloc[te])[:, 1]
        rows.append({"fold": k, **classification_metrics(y[te], oof[te])})
        if keep_models:
            models.append(model)
            tests.append(te)
    return CVResult(pd.DataFrame(rows).set_index("fold"), oof, models, tests)

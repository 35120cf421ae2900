"""Churn classifiers: logistic regression (statsmodels, odds ratios with intervals) and gradient
boosting (scikit-learn ``HistGradientBoostingClassifier`` with probability calibration; as the
``hgb`` candidate, tuned by an inner cross-validation over :data:`HGB_GRID`), an ``auto`` choice
between them, and their drivers: model-level (odds ratios, permutation importance) and per customer
(the features pushing each customer's risk up the most).

All estimators follow scikit-learn conventions (``fit`` returns ``self``, fitted attributes end in
``_``) and take a feature frame from :func:`toolkit.churn.features.build_features`.
"""
from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from toolkit.design import Design, as_text
from toolkit.churn.evaluation import classification_metrics, cross_validate

KINDS = ("auto", "logit", "hgb")
MODEL_NAMES = {"logit": "logistic regression", "hgb": "gradient boosting (tuned, calibrated)"}
#: The settings the ``hgb`` candidate searches, from simple (additive stumps) to complex (31 leaves); every
#: booster stops early on a validation fraction of its training rows (see :class:`TunedHGBChurn`).
HGB_GRID: tuple[dict[str, Any], ...] = (
    {"learning_rate": 0.2, "max_depth": 1, "max_leaf_nodes": 2, "min_samples_leaf": 20, "l2_regularization": 0.0},
    {"learning_rate": 0.1, "max_depth": None, "max_leaf_nodes": 4, "min_samples_leaf": 40, "l2_regularization": 1.0},
    {"learning_rate": 0.05, "max_depth": 3, "max_leaf_nodes": 8, "min_samples_leaf": 80, "l2_regularization": 10.0},
    {"learning_rate": 0.1, "max_depth": None, "max_leaf_nodes": 8, "min_samples_leaf": 40, "l2_regularization": 1.0},
    {"learning_rate": 0.05, "max_depth": None, "max_leaf_nodes": 16, "min_samples_leaf": 20, "l2_regularization": 1.0},
    {"learning_rate": 0.1, "max_depth": None, "max_leaf_nodes": 31, "min_samples_leaf": 20, "l2_regularization": 0.0},
)
SETTING_COLUMNS = ["learning_rate", "max_depth", "max_leaf_nodes", "min_samples_leaf", "l2_regularization"]


def driver_of(feature: str) -> str:
    """The driver a feature belongs to: engineered terms are grouped with what they are built from."""
    if feature in ("tenure_months", "log_tenure", "tenure_band") or feature.startswith("log_tenure x "):
        return "tenure"
    m = re.match(r"^(total_.+)_per_month$", feature)
    if m:
        return m.group(1)
    m = re.match(r"^(monthly_.+?)(_band| x .+)$", feature)
    if m:
        return m.group(1)
    return feature


def driver_groups(columns: list[str]) -> dict[str, list[str]]:
    """Driver -> the feature columns it covers, in column order."""
    out: dict[str, list[str]] = {}
    for c in columns:
        out.setdefault(driver_of(c), []).append(c)
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class _ChurnEstimator:
    """Shared: reference values for occlusion, per-customer contributions and top drivers."""

    def _remember_reference(self, X: pd.DataFrame) -> None:
        ref = {}
        for c in X.columns:
            s = X[c]
            if pd.api.types.is_numeric_dtype(s):
                ref[c] = float(s.median()) if s.notna().any() else np.nan
            else:
                ref[c] = as_text(s).mode().iloc[0]
        self.reference_ = ref
        self.feature_names_in_ = list(X.columns)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:  # pragma: no cover - implemented by subclasses
        raise NotImplementedError

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per customer and driver: log-odds of churn minus the log-odds with that driver's features set
        to a typical customer's values (positive = the driver raises this customer's risk)."""
        base = _logit(self.predict_proba(X)[:, 1])
        out = {}
        for driver, cols in driver_groups([c for c in self.feature_names_in_ if c in X.columns]).items():
            Xo = X.copy()
            for c in cols:
                Xo[c] = self.reference_[c] if not pd.isna(self.reference_[c]) else np.nan
            out[driver] = base - _logit(self.predict_proba(Xo)[:, 1])
        return pd.DataFrame(out, index=X.index)

    def top_drivers(self, X: pd.DataFrame, k: int = 3, contributions: pd.DataFrame | None = None) -> pd.Series:
        """The ``k`` drivers raising each customer's risk the most, as 'a, b, c'."""
        contrib = contributions if contributions is not None else self.contributions(X)
        values = contrib.to_numpy()
        names = np.asarray(contrib.columns)
        order = np.argsort(-values, axis=1, kind="stable")[:, :k]
        top = names[order]
        positive = np.take_along_axis(values, order, axis=1) > 1e-9
        text = [", ".join(n for n, ok in zip(row, okrow) if ok) or "(none above typical)"
                for row, okrow in zip(top, positive)]
        return pd.Series(text, index=X.index, name="top_drivers")


class LogitChurn(_ChurnEstimator):
    """Logistic regression of churn (statsmodels ``Logit``) on the :class:`Design` of the features.

    After ``fit``: ``design_``, ``result_``, ``odds_ratios_`` (per design column: coef, se, odds ratio,
    interval, p-value, and ``estimable``), ``reference_``, ``separated_``.

    Under separation (a term, or the terms together, predict churn exactly) maximum likelihood has no
    finite solution: the fit runs off towards infinite coefficients with standard errors to match.
    ``separated_`` is True when every customer's fitted probability is within 0.001 of their outcome
    (complete separation); a term
    whose coefficient or standard error ran off (``|coef| > MAX_COEF`` or ``se > MAX_SE``) is marked
    ``estimable=False`` (quasi-complete separation, or a level too rare to estimate).
    """

    MAX_COEF = 15.0   # log odds: an odds ratio above 3e6 per unit is a fit running off, not an effect
    MAX_SE = 50.0

    def __init__(self, max_levels: int = 10, min_count: int = 20, alpha: float = 0.05, maxiter: int = 100) -> None:
        self.max_levels = max_levels
        self.min_count = min_count
        self.alpha = alpha
        self.maxiter = maxiter

    def fit(self, X: pd.DataFrame, y: Any) -> "LogitChurn":
        self._remember_reference(X)
        self.design_ = Design(max_levels=self.max_levels, min_count=self.min_count).fit(X)
        Z = sm.add_constant(self.design_.transform(X), has_constant="add")
        y = np.asarray(y, float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                self.result_ = sm.Logit(y, Z).fit(disp=0, method="newton", maxiter=self.maxiter)
            except np.linalg.LinAlgError:
                self.result_ = sm.Logit(y, Z).fit(disp=0, method="bfgs", maxiter=10 * self.maxiter)
        params, bse = np.asarray(self.result_.params), np.asarray(self.result_.bse)
        z = stats.norm.ppf(1 - self.alpha / 2)
        names = list(Z.columns)
        self.converged_ = bool(self.result_.mle_retvals.get("converged", True))
        with np.errstate(over="ignore"):   # a separated fit's linear predictor runs to +-1e3
            fitted = np.asarray(self.result_.predict(), float)
        self.separated_ = bool(len(fitted) and np.max(np.abs(fitted - y)) < 1e-3)   # every churn predicted exactly
        with np.errstate(over="ignore", invalid="ignore"):
            self.odds_ratios_ = self._table(names, params, bse, z)
        self.mean_design_ = self.design_.transform(X).mean()
        return self

    def _table(self, names: list[str], params: np.ndarray, bse: np.ndarray, z: float) -> pd.DataFrame:
        return pd.DataFrame({
            "feature": ["(intercept)"] + [self.design_.source_[c] for c in names[1:]],
            "unit": ["odds for the typical customer"] + [self.design_.units_[c] for c in names[1:]],
            "coef": params, "se": bse, "odds_ratio": np.exp(params),
            "lower": np.exp(params - z * bse), "upper": np.exp(params + z * bse),
            "p_value": 2 * stats.norm.sf(np.abs(params / bse)),
            "estimable": np.isfinite(params) & np.isfinite(bse) & (np.abs(params) <= self.MAX_COEF)
                         & (bse <= self.MAX_SE),
        }, index=pd.Index(names, name="term"))

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        Z = self.design_.transform(X).to_numpy(float)
        params = np.asarray(self.result_.params)
        return params[0] + Z @ params[1:]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Exact log-odds contributions beta_j * (x_j - mean x_j), summed per driver."""
        Z = self.design_.transform(X)
        beta = pd.Series(np.asarray(self.result_.params)[1:], index=Z.columns)
        parts = (Z - self.mean_design_) * beta
        drivers = [driver_of(self.design_.source_[c]) for c in Z.columns]
        return parts.T.groupby(drivers, sort=False).sum().T

    def summary(self) -> Any:
        return self.result_.summary2(title="Logistic regression of churn")


def _calibration_method(method: str, y: np.ndarray) -> str:
    """'auto': isotonic from 5,000 rows and 500 of each class, sigmoid (Platt) below."""
    if method == "auto":
        return "isotonic" if len(y) >= 5000 and min(y.sum(), len(y) - y.sum()) >= 500 else "sigmoid"
    if method not in ("isotonic", "sigmoid"):
        raise ValueError(f"calibration must be 'auto', 'isotonic' or 'sigmoid', not {method!r}")
    return method


class _ScoreCalibrator:
    """Map boosting scores (log-odds) to probabilities: isotonic regression or Platt scaling."""

    def __init__(self, method: str) -> None:
        self.method = method

    def fit(self, scores: np.ndarray, y: np.ndarray) -> "_ScoreCalibrator":
        if self.method == "isotonic":
            self.model_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(scores, y)
        else:
            self.model_ = LogisticRegression(C=1e6).fit(scores[:, None], y)
        return self

    def predict(self, scores: np.ndarray) -> np.ndarray:
        if self.method == "isotonic":
            return self.model_.predict(scores)
        return self.model_.predict_proba(scores[:, None])[:, 1]


class HGBChurn(_ChurnEstimator):
    """Gradient boosting (``HistGradientBoostingClassifier``) with calibrated probabilities.

    ``calibration``: ``"isotonic"``, ``"sigmoid"`` or ``"auto"`` (isotonic from 5,000 rows and 500
    churners, sigmoid below). ``n_threads`` caps OpenMP threads (1 is fastest on a shared machine).
    After ``fit``: ``design_``, ``model_`` (CalibratedClassifierCV), ``calibration_``.
    """

    def __init__(self, calibration: str = "auto", cv: int = 3, seed: int = 0, n_threads: int = 1,
                 learning_rate: float = 0.08, max_iter: int = 120, max_leaf_nodes: int = 8,
                 min_samples_leaf: int = 40, l2_regularization: float = 1.0, max_levels: int = 20,
                 min_count: int = 20) -> None:
        self.calibration = calibration
        self.cv = cv
        self.seed = seed
        self.n_threads = n_threads
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_levels = max_levels
        self.min_count = min_count

    def fit(self, X: pd.DataFrame, y: Any) -> "HGBChurn":
        self._remember_reference(X)
        y = np.asarray(y, int)
        self.design_ = Design(max_levels=self.max_levels, min_count=self.min_count, impute=False,
                              drop_collinear=False).fit(X)
        Z = self.design_.transform(X).to_numpy(float)
        method = self.calibration_ = _calibration_method(self.calibration, y)
        base = HistGradientBoostingClassifier(
            learning_rate=self.learning_rate, max_iter=self.max_iter, max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
            early_stopping=False, random_state=self.seed)
        folds = StratifiedKFold(n_splits=self.cv, shuffle=True, random_state=self.seed)
        with threadpool_limits(limits=self.n_threads):
            # ensemble=False: one booster on all rows, calibrated on cross-validated predictions
            self.model_ = CalibratedClassifierCV(base, method=method, cv=folds, ensemble=False).fit(Z, y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        Z = self.design_.transform(X).to_numpy(float)
        with threadpool_limits(limits=self.n_threads):
            return self.model_.predict_proba(Z)


class TunedHGBChurn(_ChurnEstimator):
    """Gradient boosting tuned by an inner cross-validation, with calibrated probabilities.

    Every setting of ``grid`` (default :data:`HGB_GRID`) is scored by its mean ROC-AUC over a stratified,
    shuffled ``cv``-fold CV of the training rows (``random_state=seed``); each booster stops early when the
    log loss on a ``validation_fraction`` of its own training rows has not improved for ``n_iter_no_change``
    iterations (at most ``max_iter``). The best setting (the first on ties: the grid runs from simple to
    complex) is refitted on all rows, again with early stopping, and its scores are calibrated on the chosen
    setting's out-of-fold scores (as ``CalibratedClassifierCV(ensemble=False)`` does; ``calibration`` as in
    :class:`HGBChurn`). Fitted inside an outer cross-validation, the search sees only the outer training
    rows, so the outer metrics are nested (honest).

    After ``fit``: ``grid_`` (the settings searched), ``search_`` (per setting: inner ROC-AUC mean and SD,
    mean iterations, ``chosen``), ``best_index_`` (0-based row of ``grid_``), ``best_params_``, ``n_iter_``
    (the refit's iterations), ``model_`` (the refitted booster), ``calibrator_``, ``calibration_``,
    ``design_``, ``train_index_`` (the index of the rows the search and refit used).
    """

    def __init__(self, grid: tuple[dict[str, Any], ...] | list[dict[str, Any]] | None = None, cv: int = 3,
                 seed: int = 0, n_threads: int = 1, max_iter: int = 500, validation_fraction: float = 0.15,
                 n_iter_no_change: int = 20, calibration: str = "auto", max_levels: int = 20,
                 min_count: int = 20) -> None:
        self.grid = grid
        self.cv = cv
        self.seed = seed
        self.n_threads = n_threads
        self.max_iter = max_iter
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.calibration = calibration
        self.max_levels = max_levels
        self.min_count = min_count

    def _booster(self, params: dict[str, Any]) -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(
            max_iter=self.max_iter, early_stopping=True, validation_fraction=self.validation_fraction,
            n_iter_no_change=self.n_iter_no_change, scoring="loss", random_state=self.seed, **params)

    def fit(self, X: pd.DataFrame, y: Any) -> "TunedHGBChurn":
        self._remember_reference(X)
        self.train_index_ = X.index.copy()
        y = np.asarray(y, int)
        grid = [dict(g) for g in (self.grid if self.grid is not None else HGB_GRID)]
        if not grid:
            raise ValueError("the tuning grid is empty")
        self.grid_ = pd.DataFrame(grid).reindex(columns=SETTING_COLUMNS + sorted(
            {k for g in grid for k in g} - set(SETTING_COLUMNS))).dropna(axis=1, how="all")
        self.grid_.index = pd.RangeIndex(1, len(grid) + 1, name="setting")
        self.design_ = Design(max_levels=self.max_levels, min_count=self.min_count, impute=False,
                              drop_collinear=False).fit(X)
        Z = self.design_.transform(X).to_numpy(float)
        folds = list(StratifiedKFold(n_splits=self.cv, shuffle=True, random_state=self.seed).split(Z, y))
        aucs = np.full((len(grid), len(folds)), np.nan)
        iters = np.zeros((len(grid), len(folds)))
        oof = np.full((len(grid), len(y)), np.nan)
        with threadpool_limits(limits=self.n_threads):
            for i, params in enumerate(grid):
                for j, (tr, te) in enumerate(folds):
                    booster = self._booster(params).fit(Z[tr], y[tr])
                    oof[i, te] = booster.decision_function(Z[te])
                    aucs[i, j] = roc_auc_score(y[te], oof[i, te])
                    iters[i, j] = booster.n_iter_
            mean = aucs.mean(axis=1)
            best = int(np.argmax(mean))  # first maximum: the simpler setting wins ties
            self.model_ = self._booster(grid[best]).fit(Z, y)
        self.best_index_ = best
        self.best_params_ = grid[best]
        self.n_iter_ = int(self.model_.n_iter_)
        self.search_ = self.grid_.assign(inner_auc=mean, inner_auc_sd=aucs.std(axis=1, ddof=1) if len(folds) > 1
                                         else np.nan, iterations=iters.mean(axis=1),
                                         chosen=np.arange(len(grid)) == best)
        self.calibration_ = _calibration_method(self.calibration, y)
        self.calibrator_ = _ScoreCalibrator(self.calibration_).fit(oof[best], y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        Z = self.design_.transform(X).to_numpy(float)
        with threadpool_limits(limits=self.n_threads):
            scores = self.model_.decision_function(Z)
        p = self.calibrator_.predict(scores)
        return np.column_stack([1 - p, p])


def setting_text(setting: Any) -> str:
    """One grid setting in words, e.g. 'learning rate 0.1, up to 8 leaves, >= 40 customers a leaf, L2 1'."""
    s = dict(setting)
    parts = [f"learning rate {s['learning_rate']:g}"]
    depth = s.get("max_depth")
    if depth is not None and not pd.isna(depth):
        parts.append("stumps (depth 1)" if int(depth) == 1 else f"depth <= {int(depth)}")
    leaves = s.get("max_leaf_nodes")
    if leaves is not None and not pd.isna(leaves) and not (depth is not None and not pd.isna(depth)
                                                          and 2 ** int(depth) <= int(leaves)):
        parts.append(f"up to {int(leaves)} leaves")
    if "min_samples_leaf" in s:
        parts.append(f">= {int(s['min_samples_leaf'])} customers a leaf")
    if "l2_regularization" in s:
        parts.append(f"L2 {s['l2_regularization']:g}")
    return ", ".join(parts)


def tuning_table(evaluation_models: list[Any], final: Any = None, evaluation: str = "outer fold") -> pd.DataFrame:
    """What the tuned boosting searched and chose: one row per grid setting with its words, the number
    of evaluation fits (``evaluation`` names one: 'outer fold', or 'training window' for a time split) that
    chose it and their mean inner ROC-AUC; when ``final`` (the refit that scores customers) is given, its
    inner ROC-AUC and choice (``attrs['final_iterations']``: the refit's boosting iterations)."""
    fits = [m for m in evaluation_models if isinstance(m, TunedHGBChurn)]
    if not fits:
        raise ValueError("no tuned gradient boosting among the models")
    grid = fits[0].grid_
    out = grid.copy()
    out.insert(0, "description", [setting_text(r) for _, r in grid.iterrows()])
    out["chosen_in_evaluation"] = np.sum([m.search_["chosen"].to_numpy() for m in fits], axis=0).astype(int)
    out["evaluation_inner_auc"] = np.mean([m.search_["inner_auc"].to_numpy() for m in fits], axis=0)
    if isinstance(final, TunedHGBChurn):
        out["final_inner_auc"] = final.search_["inner_auc"].to_numpy()
        out["chosen_final"] = final.search_["chosen"].to_numpy()
        out.attrs["final_iterations"] = final.n_iter_
    out.attrs.update(evaluation_fits=len(fits), inner_folds=fits[0].cv, evaluation=evaluation,
                     validation_fraction=fits[0].validation_fraction)
    return out


def _span(values: pd.Series) -> str:
    lo, hi = f"{values.min():g}", f"{values.max():g}"
    return lo if lo == hi else f"{lo}-{hi}"


def tuning_text(table: pd.DataFrame) -> str:
    """The report's sentences on a :func:`tuning_table`: how many settings, how they were scored, what
    was chosen in the evaluation fits and in the final refit."""
    evaluation = table.attrs.get("evaluation", "outer fold")
    n_fits = int(table.attrs.get("evaluation_fits", table["chosen_in_evaluation"].sum()))
    leaves = table["max_leaf_nodes"]
    smallest = "stumps" if "max_depth" in table and (table["max_depth"] == 1).any() else f"{int(leaves.min())} leaves"
    text = (f"Gradient boosting searched {len(table)} settings (learning rate {_span(table['learning_rate'])}, "
            f"from {smallest} to {int(leaves.max())} leaves, at least {_span(table['min_samples_leaf'])} customers "
            f"a leaf, L2 penalty {_span(table['l2_regularization'])}), each scored by its mean ROC-AUC in a "
            f"{table.attrs.get('inner_folds', 3)}-fold cross-validation of the training rows only; every booster "
            f"stopped early on {table.attrs.get('validation_fraction', 0.15):.0%} of its own training rows. Chosen: ")
    picks = table.loc[table["chosen_in_evaluation"] > 0].sort_values("chosen_in_evaluation", ascending=False,
                                                                    kind="stable")
    if n_fits > 1:
        text += "; ".join(f"setting {i} ({r['description']}) in {r['chosen_in_evaluation']} of {n_fits} {evaluation}s"
                          for i, r in picks.iterrows())
    else:
        text += f"setting {picks.index[0]} ({picks['description'].iloc[0]}) in the {evaluation}"
    if "chosen_final" not in table:
        return text + "; boosting was not chosen, so it was not refitted to score the active customers."
    i = int(table.index[table["chosen_final"].to_numpy(bool)][0])
    its = table.attrs.get("final_iterations")
    return (text + f"; the final refit, which scores the active customers, chose setting {i} "
            f"({table.loc[i, 'description']}; inner ROC-AUC {table.loc[i, 'final_inner_auc']:.3f}"
            + (f", {its} boosting iterations" if its is not None else "") + ").")


def make_estimator(kind: str, seed: int = 0, n_threads: int = 1) -> _ChurnEstimator:
    """A fresh, unfitted estimator of ``kind``: 'logit' (:class:`LogitChurn`) or 'hgb' (:class:`TunedHGBChurn`)."""
    if kind == "logit":
        return LogitChurn()
    if kind == "hgb":
        return TunedHGBChurn(seed=seed, n_threads=n_threads)
    raise ValueError(f"model {kind!r} is not one of {', '.join(KINDS)}")


def choose_kind(scores: dict[str, float], margin: float = 0.005) -> str:
    """'hgb' only when its ROC-AUC beats logistic regression's by more than ``margin``: the
    interpretable model wins ties."""
    if "logit" not in scores:
        return next(iter(scores))
    if "hgb" in scores and scores["hgb"] > scores["logit"] + margin:
        return "hgb"
    return "logit"


class ChurnModel(_ChurnEstimator):
    """A churn classifier of ``kind`` 'logit', 'hgb' or 'auto'.

    'auto' compares both by stratified ``cv``-fold ROC-AUC on the training data and keeps logistic
    regression unless boosting is better by more than ``margin``. After ``fit``: ``kind_``,
    ``estimator_``, ``selection_`` (the comparison, for 'auto').
    """

    def __init__(self, kind: str = "auto", seed: int = 0, cv: int = 3, margin: float = 0.005,
                 n_threads: int = 1) -> None:
        self.kind = kind
        self.seed = seed
        self.cv = cv
        self.margin = margin
        self.n_threads = n_threads

    def fit(self, X: pd.DataFrame, y: Any) -> "ChurnModel":
        if self.kind not in KINDS:
            raise ValueError(f"model {self.kind!r} is not one of {', '.join(KINDS)}")
        self.selection_ = None
        kind = self.kind
        if kind == "auto":
            rows = {}
            for k in ("logit", "hgb"):
                res = cross_validate(lambda k=k: make_estimator(k, self.seed, self.n_threads), X, y,
                                     folds=self.cv, seed=self.seed)
                rows[k] = res.mean
            self.selection_ = pd.DataFrame(rows).T
            kind = choose_kind(self.selection_["roc_auc"].to_dict(), self.margin)
        self.kind_ = kind
        self.estimator_ = make_estimator(kind, self.seed, self.n_threads).fit(X, y)
        self.reference_ = self.estimator_.reference_
        self.feature_names_in_ = self.estimator_.feature_names_in_
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.estimator_.predict_proba(X)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        return self.estimator_.contributions(X)


def permutation_importance(model: Any, X: pd.DataFrame, y: Any, n_repeats: int = 3, seed: int = 0,
                           max_rows: int | None = 5000) -> pd.DataFrame:
    """Drop in ROC-AUC when a driver's features are shuffled together (mean and SD over repeats),
    on at most ``max_rows`` randomly chosen rows."""
    y = np.asarray(y, int)
    rng = np.random.default_rng(seed)
    if max_rows is not None and len(X) > max_rows:
        keep = np.sort(rng.choice(len(X), size=max_rows, replace=False))
        X, y = X.iloc[keep], y[keep]
    base = roc_auc_score(y, model.predict_proba(X)[:, 1])
    rows = []
    for driver, cols in driver_groups(list(X.columns)).items():
        drops = []
        for _ in range(n_repeats):
            perm = rng.permutation(len(X))
            Xp = X.copy()
            for c in cols:
                Xp[c] = X[c].to_numpy()[perm]
            drops.append(base - roc_auc_score(y, model.predict_proba(Xp)[:, 1]))
        rows.append({"driver": driver, "auc_drop": float(np.mean(drops)), "sd": float(np.std(drops, ddof=1))
                     if n_repeats > 1 else np.nan, "features": len(cols)})
    out = pd.DataFrame(rows).set_index("driver").sort_values("auc_drop", ascending=False)
    out.attrs["baseline_auc"] = base
    return out


def evaluate(model: Any, X: pd.DataFrame, y: Any) -> dict[str, float]:
    """Classification metrics of a fitted model on (X, y)."""
    return classification_metrics(y, model.predict_proba(X)[:, 1])

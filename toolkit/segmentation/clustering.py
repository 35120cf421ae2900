"""Behavioural clustering: feature preparation, KMeans / Gaussian mixtures, choice of k, stability.

:class:`ClusterFeatures` turns the per-customer feature table into a numeric matrix (signed log
transform of skewed columns, median imputation, scaling, one-hot demographics, feature weights).
:class:`CustomerSegmenter` fits KMeans and a Gaussian mixture for every k in ``k_range``, records
the evidence (silhouette, inertia, BIC) in ``selection_``, chooses k by silhouette (``method=
"kmeans"``) or BIC (``method="gmm"``) and measures stability as the adjusted Rand index between
the final labels and those of models refitted on bootstrap samples.
"""
from __future__ import annotations

from toolkit.data.errors import InsufficientDataError
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits


def signed_log1p(x: np.ndarray) -> np.ndarray:
    """``sign(x) * log(1 + |x|)``: a log transform that keeps zero and negative values (returns)."""
    return np.sign(x) * np.log1p(np.abs(x))


class ClusterFeatures(TransformerMixin, BaseEstimator):
    """Numeric clustering matrix from a per-customer DataFrame.

    Parameters
    ----------
    features : column names to use (``None``: every numeric column). Columns the frame lacks,
        that are empty or constant are skipped and listed in ``skipped_``.
    weights : multiplier per feature after scaling (default 1).
    skew_threshold : numeric columns with a larger sample skewness get :func:`signed_log1p`.
    log : ``"auto"`` (by skewness), a list of columns, or ``False``.
    """

    def __init__(self, features: Sequence[str] | None = None, weights: Mapping[str, float] | None = None,
                 skew_threshold: float = 1.0, log: str | Sequence[str] | bool = "auto") -> None:
        self.features = features
        self.weights = weights
        self.skew_threshold = skew_threshold
        self.log = log

    def fit(self, X: pd.DataFrame, y=None) -> ClusterFeatures:
        wanted = list(self.features) if self.features is not None else [
            c for c in X.columns if pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])]
        self.skipped_: dict[str, str] = {}
        self.numeric_: list[str] = []
        self.categorical_: dict[str, list[str]] = {}
        for c in wanted:
            if c not in X.columns:
                self.skipped_[c] = "not in the data"
            elif X[c].isna().all():
                self.skipped_[c] = "no values"
            elif X[c].nunique(dropna=True) < 2:
                self.skipped_[c] = "constant"
            elif pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c]):
                self.numeric_.append(c)
            else:
                self.categorical_[c] = sorted(X[c].dropna().astype(str).unique().tolist())
        if not self.numeric_ and not self.categorical_:
            raise InsufficientDataError(f"none of the clustering features {wanted} has usable values")
        if self.log == "auto":
            skew = {c: stats.skew(X[c].dropna().to_numpy(dtype=float)) for c in self.numeric_}
            self.log_columns_ = [c for c in self.numeric_ if skew[c] > self.skew_threshold]
        else:
            self.log_columns_ = [c for c in self.numeric_ if self.log and c in self.log]
        num = self._numeric(X)
        self.medians_ = np.nanmedian(num, axis=0) if num.shape[1] else np.zeros(0)
        num = np.where(np.isnan(num), self.medians_, num)
        self.mean_ = num.mean(axis=0)
        sd = num.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        w = dict(self.weights or {})
        names, weights = list(self.numeric_), [float(w.get(c, 1.0)) for c in self.numeric_]
        for c, levels in self.categorical_.items():
            names += [f"{c}={lv}" for lv in levels]
            weights += [float(w.get(c, 1.0)) / np.sqrt(2)] * len(levels)  # two categories differ by `weight`
        self.feature_names_out_ = np.asarray(names, dtype=object)
        self.weights_ = np.asarray(weights)
        self.n_features_in_ = len(wanted)
        return self

    def _numeric(self, X: pd.DataFrame) -> np.ndarray:
        num = X[self.numeric_].to_numpy(dtype="float64", na_value=np.nan) if self.numeric_ else np.zeros((len(X), 0))
        for j, c in enumerate(self.numeric_):
            if c in self.log_columns_:
                num[:, j] = signed_log1p(num[:, j])
        return num

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        num = self._numeric(X)
        num = (np.where(np.isnan(num), self.medians_, num) - self.mean_) / self.scale_
        parts = [num]
        for c, levels in self.categorical_.items():
            v = X[c].astype(object).where(X[c].notna(), None).to_numpy()
            parts.append((v[:, None] == np.asarray(levels, dtype=object)[None, :]).astype(float))
        return np.hstack(parts) * self.weights_

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_


def _kmeans(k: int, n_init: int, seed: int) -> KMeans:
    return KMeans(n_clusters=k, n_init=n_init, random_state=seed)


def _gmm(k: int, n_init: int, seed: int, reg_covar: float) -> GaussianMixture:
    return GaussianMixture(n_components=k, covariance_type="full", n_init=max(1, n_init // 2),
                           reg_covar=reg_covar, random_state=seed)


class CustomerSegmenter(ClusterMixin, BaseEstimator):
    """Choose the number of clusters and fit the final model; measure its bootstrap stability.

    Fitted attributes: ``selection_`` (per k: silhouette, inertia, BIC), ``k_silhouette_``,
    ``k_bic_``, ``n_clusters_``, ``model_``, ``labels_`` (0 = largest cluster), ``agreement_``
    (adjusted Rand index between KMeans and the Gaussian mixture at ``n_clusters_``),
    ``stability_`` (bootstrap adjusted Rand indices; empty when ``n_bootstrap=0``).
    ``n_threads`` limits BLAS/OpenMP threads while fitting (``None``: no limit).
    """

    def __init__(self, k_range: Sequence[int] = (2, 3, 4, 5, 6, 7, 8), method: str = "kmeans", n_init: int = 4,
                 silhouette_sample: int = 2000, n_bootstrap: int = 20, reg_covar: float = 1e-4,
                 random_state: int = 0, n_threads: int | None = 1) -> None:
        self.k_range = k_range
        self.method = method
        self.n_init = n_init
        self.silhouette_sample = silhouette_sample
        self.n_bootstrap = n_bootstrap
        self.reg_covar = reg_covar
        self.random_state = random_state
        self.n_threads = n_threads

    def _model(self, k: int, seed: int):
        if self.method == "kmeans":
            return _kmeans(k, self.n_init, seed)
        return _gmm(k, self.n_init, seed, self.reg_covar)

    def fit(self, X: np.ndarray, y=None) -> CustomerSegmenter:
        # The matrices are small: one thread is much faster than several competing ones.
        with threadpool_limits(limits=self.n_threads):
            return self._fit(X)

    def _fit(self, X: np.ndarray) -> CustomerSegmenter:
        if self.method not in ("kmeans", "gmm"):
            raise ValueError(f"method must be 'kmeans' or 'gmm', not {self.method!r}")
        X = np.asarray(X, dtype=float)
        n = len(X)
        n_distinct = len(np.unique(X, axis=0))
        ks = sorted({int(k) for k in self.k_range if 2 <= int(k) < min(n, n_distinct + 1)})
        if not ks:
            raise InsufficientDataError(f"no k in {list(self.k_range)} fits {n} customers ({n_distinct} distinct)")
        seed = self.random_state
        sample = min(n, int(self.silhouette_sample))
        rows, km_models, gm_models = [], {}, {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for k in ks:
                km = _kmeans(k, self.n_init, seed).fit(X)
                gm = _gmm(k, self.n_init, seed, self.reg_covar).fit(X)
                sil = (silhouette_score(X, km.labels_, sample_size=sample, random_state=seed)
                       if len(np.unique(km.labels_)) > 1 else np.nan)
                rows.append({"k": k, "silhouette": sil, "inertia": km.inertia_, "bic": gm.bic(X)})
                km_models[k], gm_models[k] = km, gm
        self.selection_ = pd.DataFrame(rows).set_index("k")
        self.k_silhouette_ = int(self.selection_["silhouette"].idxmax())
        self.k_bic_ = int(self.selection_["bic"].idxmin())
        k = self.k_silhouette_ if self.method == "kmeans" else self.k_bic_
        self.n_clusters_ = k
        self.model_ = km_models[k] if self.method == "kmeans" else gm_models[k]
        raw = self.model_.predict(X)
        self.agreement_ = float(adjusted_rand_score(km_models[k].labels_, gm_models[k].predict(X)))
        sizes = np.bincount(raw, minlength=k)
        first = np.array([X[raw == j, 0].mean() if sizes[j] else 0.0 for j in range(k)])
        order = np.lexsort((-first, -sizes))  # largest first, then by the first feature
        self.relabel_ = np.empty(k, dtype=int)
        self.relabel_[order] = np.arange(k)
        self.labels_ = self.relabel_[raw]
        self.stability_ = self._bootstrap(X)
        return self

    def _bootstrap(self, X: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(self.random_state)
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for b in range(int(self.n_bootstrap)):
                idx = rng.integers(0, len(X), len(X))
                m = self._model(self.n_clusters_, self.random_state + 1 + b).fit(X[idx])
                out.append(adjusted_rand_score(self.labels_, m.predict(X)))
        return np.asarray(out, dtype=float)

    def predict(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.relabel_[self.model_.predict(np.asarray(X, dtype=float))]

    @property
    def stability_mean_(self) -> float:
        """Mean bootstrap adjusted Rand index (NaN without bootstrap)."""
        return float(np.mean(self.stability_)) if len(self.stability_) else float("nan")

"""Judging the CLV models: holdout validation and scorecard, spend diagnostics, ground-truth recovery, covariate effects and the side-by-side fits."""

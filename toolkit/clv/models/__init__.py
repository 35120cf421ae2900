"""The CLV model families: buy-till-you-die transaction models, spend, contractual retention, covariates and their shared fitting machinery."""

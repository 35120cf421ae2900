"""On the built-in demo (20,000 customers) the per-segment BG/NBD fits recover the generating parameters.

Explicit churn is independent of the purchase process given the segment, so the customers without an
explicit churn date are a BG/NBD sample of their segment (ground_truth.json notes). 16 parameters at
95% leave room for one miss by chance; the likelihood-ratio test of the generating parameters against
the fit must not reject any segment at the 5% level split over the four segments.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
from scipy import stats

from toolkit.clv import BetaGeo, rfm_summary
from toolkit.clv.evaluation.ground_truth import ground_truth_recovery
from toolkit.data import load_dataset


def test_demo_generating_bgnbd_parameters_inside_95pct_intervals(project_root):
    ds = load_dataset(project_root / "config" / "datasets" / "demo.yaml")
    folder = ds.spec.tables["transactions"].path.parent
    files = (folder / "ground_truth.json", folder / "truth_customers.csv")
    purchases = ds.transactions.loc[ds.transactions["amount"] > 0]
    rec = ground_truth_recovery(purchases, ds.as_of, files, ds.customers)
    assert len(rec) == 16 and rec["estimate"].notna().all()
    assert rec["covered"].sum() >= 15, rec.to_string()

    truth = json.loads(files[0].read_text())["segments"]
    seg_of = pd.read_csv(files[1], dtype={"customer_id": str}).set_index("customer_id")["segment"]
    churned = set(ds.customers.loc[ds.customers["churn_date"].notna(), "customer_id"])
    rfm = rfm_summary(purchases, ds.as_of, None, "W")
    for name, spec in truth.items():
        ids = [i for i in rfm.index if seg_of.get(i) == name and i not in churned]
        sub = rfm.loc[ids]
        fit = BetaGeo().fit(sub)
        at_truth = BetaGeo.from_params(**spec["bgnbd"])
        ll_truth = float(np.sum(at_truth.loglik(sub["frequency"], sub["recency"], sub["T"])))
        lr = 2 * (fit.log_likelihood_ - ll_truth)
        assert lr >= -1e-6, "the fit must be at least as likely as the truth"
        assert stats.chi2.sf(lr, df=4) > 0.05 / len(truth), (name, lr, fit.summary())

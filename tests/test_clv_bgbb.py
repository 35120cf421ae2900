"""BG/BB (Fader, Hardie & Shang 2010, Marketing Science 29(6)) on the donations data it was built on.

Published figures used (the data: ../shared/data/donations, 11,104 donors of the 1995 cohort,
6 yearly opportunities 1996-2001):

* FHS 2010 parameter estimates alpha 1.204, beta 0.750, gamma 0.657, delta 2.783 (SOURCE.txt of the
  data) and log-likelihood -33,225.6 (the paper);
* FHS 2010 Table 6, "P(Alive in 2002) as a function of recency and frequency": 0.11 for no repeat
  donation, 0.59 for 2 donations with the last in 1999 (t_x = 4), 0.93 for 6 of 6;
* Hardie's BG/BB spreadsheet (brucehardie.com/notes/010, BGBB_2011-01-20.xlsx), as quoted in the
  lifetimes test suite: "Conditional Expectations (II)" total of expected donations in 2002-2006,
  12,884.2; "In-Sample Fit": expected donors with 0 and with 6 repeat donations, 3,454.9 and 1,253.1.

Independent computations: the likelihood from the process itself (every purchase string and death
time enumerated, integrated over p and theta by Gauss-Jacobi quadrature), the conditional
expectation and DERT from the same posterior, and a simulation of the process.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.special import comb, roots_jacobi

from toolkit.clv import ConvergenceError
from toolkit.clv.models.bgbb import BetaGeoBetaBinom

PUBLISHED = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


@pytest.fixture(scope="module")
def donations(shared_data) -> pd.DataFrame:
    df = pd.read_csv(shared_data / "donations" / "donations.csv")
    assert df["weights"].sum() == 11_104 and len(df) == 22      # SOURCE.txt sanity figures
    return df


@pytest.fixture(scope="module")
def fitted(donations) -> BetaGeoBetaBinom:
    return BetaGeoBetaBinom().fit(donations, weights=donations["weights"])


def _beta_nodes(a: float, b: float, k: int = 60):
    """Nodes and weights of E[f(u)], u ~ Beta(a, b), by Gauss-Jacobi quadrature on u = (1 + s) / 2."""
    s, w = roots_jacobi(k, b - 1.0, a - 1.0)      # weight (1 - s)^(b-1) (1 + s)^(a-1)
    return (1 + s) / 2, w / w.sum()


def test_fhs2010_table_parameter_estimates(fitted):
    for k, v in PUBLISHED.items():
        assert fitted.params_[k] == pytest.approx(v, abs=6e-4), fitted.summary()   # 3 published decimals
    assert fitted.log_likelihood_ == pytest.approx(-33_225.6, abs=0.05)
    assert fitted.converged_ and fitted.n_ == 11_104


def test_fhs2010_table6_prob_alive_in_2002(fitted):
    pa = fitted.prob_alive([0, 2, 6], [0, 4, 6], [6, 6, 6])
    np.testing.assert_allclose(pa, [0.11, 0.59, 0.93], atol=0.005)


def test_hardie_bgbb_spreadsheet_conditional_expectations_and_in_sample_fit(fitted, donations):
    nxt = fitted.conditional_expected_purchases(5, donations) * donations["weights"]
    assert nxt.sum() == pytest.approx(12_884.2, abs=0.5)
    fit = fitted.expected_customers_by_frequency(6, 11_104)
    assert fit[0] == pytest.approx(3_454.9, abs=0.5) and fit[6] == pytest.approx(1_253.1, abs=0.5)
    assert fit.sum() == pytest.approx(11_104)


def _process_likelihood(theta: dict, n: int) -> dict:
    """P(x, t_x | n) for every pattern, straight from the process: death time tau (alive for the first
    tau opportunities; tau = n: alive throughout) and purchase string, integrated over p and theta."""
    p, wp = _beta_nodes(theta["alpha"], theta["beta"])
    th, wt = _beta_nodes(theta["gamma"], theta["delta"])
    out: dict = {}
    for tau in range(n + 1):
        death = (th * (1 - th) ** tau) if tau < n else (1 - th) ** n
        e_death = float(wt @ death)
        for string in itertools.product((0, 1), repeat=tau):
            x = sum(string)
            tx = max((i + 1 for i, s in enumerate(string) if s), default=0)
            e_buy = float(wp @ (p ** x * (1 - p) ** (tau - x)))
            out[(x, tx)] = out.get((x, tx), 0.0) + e_buy * e_death
    return out


def _strings(x, tx):
    return comb(tx - 1, x - 1) if x > 0 else 1.0


def test_likelihood_equals_brute_force_enumeration_of_the_process(donations):
    m = BetaGeoBetaBinom.from_params(**PUBLISHED)
    brute = _process_likelihood(PUBLISHED, 6)
    assert sum(brute.values()) == pytest.approx(1.0, abs=1e-12)
    ll = m.loglik(donations)
    # L is the probability of one purchase string; C(t_x - 1, x - 1) strings share (x, t_x)
    expect = np.log([brute[(x, t)] / _strings(x, t) for x, t in zip(donations.frequency, donations.recency)])
    np.testing.assert_allclose(ll, expect, rtol=1e-10)
    assert float(ll @ donations["weights"]) == pytest.approx(-33_225.6, abs=0.05)


def test_forecasts_equal_the_posterior_by_quadrature():
    """E[X(n, n+5) | .], DERT and P(alive) against sums over the posterior of (p, theta)."""
    m = BetaGeoBetaBinom.from_params(**PUBLISHED)
    p, wp = _beta_nodes(PUBLISHED["alpha"], PUBLISHED["beta"])
    th, wt = _beta_nodes(PUBLISHED["gamma"], PUBLISHED["delta"], 200)
    n, d = 6, 0.1
    z = 1 / (1 + d)
    for x, tx in [(0, 0), (1, 1), (2, 4), (3, 6), (6, 6)]:
        L = np.exp(m.loglik(x, tx, n))[0]
        buy = float(wp @ (p ** (x + 1) * (1 - p) ** (n - x)))          # E[p * p^x (1-p)^(n-x)]
        alive = float(wp @ (p ** x * (1 - p) ** (n - x)))
        cond = sum(buy * float(wt @ (1 - th) ** (n + k)) for k in range(1, 6)) / L
        dert = buy * float(wt @ ((1 - th) ** n * z * (1 - th) / (1 - z * (1 - th)))) / L
        pa = alive * float(wt @ (1 - th) ** (n + 1)) / L
        assert m.conditional_expected_purchases(5, x, tx, n)[0] == pytest.approx(cond, rel=1e-9)
        assert m.dert(d, x, tx, n)[0] == pytest.approx(dert, rel=1e-8)
        assert m.prob_alive(x, tx, n)[0] == pytest.approx(pa, rel=1e-9)


def test_pattern_shares_match_a_simulation_of_the_process():
    """200,000 simulated donors at the published parameters: share of each (x, t_x) within 4 SE."""
    rng = np.random.default_rng(7)
    N, n = 200_000, 6
    p = rng.beta(PUBLISHED["alpha"], PUBLISHED["beta"], N)
    th = rng.beta(PUBLISHED["gamma"], PUBLISHED["delta"], N)
    alive = np.ones(N, bool)
    x = np.zeros(N)
    tx = np.zeros(N)
    for t in range(1, n + 1):
        alive &= rng.random(N) >= th          # death at the beginning of the opportunity
        buy = alive & (rng.random(N) < p)
        x += buy
        tx[buy] = t
    sim = pd.DataFrame({"x": x, "tx": tx}).value_counts() / N
    m = BetaGeoBetaBinom.from_params(**PUBLISHED)
    idx = np.array(sim.index.tolist(), float)
    model = np.exp(m.loglik(idx[:, 0], idx[:, 1], np.full(len(idx), n))) * [_strings(a, b) for a, b in idx]
    se = np.sqrt(model * (1 - model) / N)
    assert np.all(np.abs(sim.to_numpy() - model) < 4 * se + 1e-12)
    assert model.sum() == pytest.approx(1.0, abs=1e-9)       # every possible pattern was simulated


def test_unconditional_expectation_is_the_mean_of_the_pmf_and_continuous_at_gamma_one():
    m = BetaGeoBetaBinom.from_params(**PUBLISHED)
    for n in (1, 6, 30):
        pmf = m.probability_of_n_purchases_up_to_time(n, np.arange(n + 1))
        assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
        assert m.expected_purchases(n) == pytest.approx(float(pmf @ np.arange(n + 1)), rel=1e-10)
    near = [BetaGeoBetaBinom.from_params(alpha=1.2, beta=0.75, gamma=g, delta=2.8) for g in (1 - 1e-6, 1.0, 1 + 1e-6)]
    vals = [float(mm.expected_purchases(10)) for mm in near]
    cond = [float(mm.conditional_expected_purchases(5, 2, 4, 6)[0]) for mm in near]
    assert vals[1] == pytest.approx(vals[0], rel=1e-5) and vals[1] == pytest.approx(vals[2], rel=1e-5)
    assert cond[1] == pytest.approx(cond[0], rel=1e-5) and cond[1] == pytest.approx(cond[2], rel=1e-5)


def test_weighted_fit_equals_fit_on_one_row_per_donor(donations, fitted):
    rows = donations.loc[donations.index.repeat(donations["weights"])]
    m = BetaGeoBetaBinom().fit(rows["frequency"], rows["recency"], rows["periods"])
    np.testing.assert_allclose(m.params_, fitted.params_, rtol=1e-8)
    assert m.log_likelihood_ == pytest.approx(fitted.log_likelihood_, abs=1e-6)


def test_bad_inputs_are_refused():
    m = BetaGeoBetaBinom()
    with pytest.raises(ValueError, match="recency"):
        m.fit([1, 2], [3, 2], [2, 6])           # recency beyond the opportunities
    with pytest.raises(ValueError, match="recency must be 0"):
        m.fit([0, 1], [2, 1], [6, 6])
    with pytest.raises(ConvergenceError):
        m.fit([0, 0], [0, 0], [6, 6])           # nobody transacts again

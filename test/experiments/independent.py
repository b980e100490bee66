"""Independent answers for the experiment statistics tests: GrowthBook's gbstats, scipy and
statsmodels, fed the same sufficient statistics as Tally. Reads a JSON list of cases on stdin,
writes a JSON list of answers."""
import json
import sys

import numpy as np
from gbstats.frequentist.tests import (
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import (
    RatioStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
)
from gbstats.utils import check_srm
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower


def mean_stat(s):
    return SampleMeanStatistic(n=s["n"], sum=s["sum"], sum_squares=s["sumSquares"])


def statistic(case, side):
    v = case[side]
    if case["kind"] == "mean":
        return mean_stat(v)
    if case["kind"] == "ratio":
        return RatioStatistic(
            n=v["num"]["n"],
            m_statistic=mean_stat(v["num"]),
            d_statistic=mean_stat(v["den"]),
            m_d_sum_of_products=v["cross"],
        )
    return RegressionAdjustedStatistic(
        n=v["post"]["n"],
        post_statistic=mean_stat(v["post"]),
        pre_statistic=mean_stat(v["pre"]),
        post_pre_sum_of_products=v["sumProducts"],
        theta=0,
    )


def result(test):
    r = test.compute_result()
    return {"estimate": r.expected, "ci": list(r.ci), "pValue": r.p_value}


def answer(case):
    if case["kind"] == "srm":
        return {"pValue": float(check_srm(case["observed"], case["planned"]))}
    if case["kind"] == "correction":
        method = {"holm": "holm", "benjamini_hochberg": "fdr_bh"}[case["method"]]
        return {"adjusted": [float(x) for x in multipletests(case["pValues"], method=method)[1]]}
    if case["kind"] == "power":
        effect = case["relativeLift"] * case["mean"] / np.sqrt(case["variance"])
        n = NormalIndPower().solve_power(effect_size=effect, alpha=case["alpha"], power=case["power"], ratio=1.0)
        return {"n": float(n)}
    if case["kind"] == "welch_scipy":
        a, b = case["control"], case["treatment"]
        var = lambda s: (s["sumSquares"] - s["sum"] ** 2 / s["n"]) / (s["n"] - 1)
        t = sps.ttest_ind_from_stats(
            b["sum"] / b["n"], np.sqrt(var(b)), b["n"], a["sum"] / a["n"], np.sqrt(var(a)), a["n"], equal_var=False
        )
        return {"pValue": float(t.pvalue)}
    out = {}
    for difference in ["relative", "absolute"]:
        a, b = statistic(case, "control"), statistic(case, "treatment")
        out[difference] = result(TwoSidedTTest(a, b, FrequentistConfig(alpha=case["alpha"], difference_type=difference)))
        a, b = statistic(case, "control"), statistic(case, "treatment")
        out["sequential_" + difference] = result(
            SequentialTwoSidedTTest(a, b, SequentialConfig(alpha=case["alpha"], difference_type=difference, sequential_tuning_parameter=case.get("tuning", 5000)))
        )
    if case["kind"] == "cuped":
        a, b = statistic(case, "control"), statistic(case, "treatment")
        TwoSidedTTest(a, b, FrequentistConfig(alpha=case["alpha"]))
        out["theta"] = a.theta
    return out


json.dump([answer(c) for c in json.load(sys.stdin)], sys.stdout)

"""Survey analysis: Likert distributions, CSAT and NPS by group, reliability, key drivers.

    from toolkit import survey as sv
    frame = sv.respondents(ds)                       # surveys + region, segment, wave
    sv.csat_by(frame, "region", sv.scale(ds))        # top-2-box with Wilson interval, test vs rest
    sv.nps_by(frame, "region")                       # bootstrap interval and test
    cons = sv.constructs(ds.surveys, sv.settings(ds))
    sv.reliability(ds.surveys, cons)                 # Cronbach's alpha per construct
    kd = sv.key_drivers(sv.construct_scores(ds.surveys, cons), ds.surveys["overall_satisfaction"], drivers)
    sv.importance_performance(kd, scores, sv.scale(ds))
"""
from toolkit.survey.drivers import (construct_scores, importance_performance, key_drivers, relative_weights,
                                    shapley_r2)
from toolkit.survey.groups import available_groups, respondents, segment_source
from toolkit.survey.items import constructs, item_columns, labels, scale, settings
from toolkit.survey.quality import answer_quality, totals
from toolkit.survey.reliability import cronbach_alpha, item_statistics, reliability
from toolkit.survey.scores import csat_by, distribution, nps_by, nps_category, top2box

__all__ = ["settings", "scale", "item_columns", "constructs", "labels", "respondents", "segment_source",
           "available_groups", "top2box", "nps_category", "csat_by", "nps_by", "distribution", "cronbach_alpha",
           "reliability", "item_statistics", "construct_scores", "key_drivers", "shapley_r2", "relative_weights",
           "importance_performance", "answer_quality", "totals"]

"""Factory defaults of the scoring schemes (配置项: seeded by migration 0002, editable in the admin).

Plain data, no model imports, so the data migration can read it. Weights are percent and sum to 100 in
every scheme. Where the reference implementation in ``shared/reference/standards.md`` §4 has a bug, the
default here is the corrected form (see docs/evaluation.md, "Differences from the reference"):

- 监督员: 漏报率 enters as (1 − 漏报率), not as 漏报率.
- 受理员: the 35 % term is 按时派发核查率 (the reference reused 按时派发核实率).
- 值班长: the 25 % term is 按时立案率 (the reference used 按时结案率).
- 派遣员: 派遣数 enters as a step score (the reference added the raw count × 0.2).
- 区域: weights sum to 100 (the reference's summed to 70), and 结案率 / 按期结案率 count for the region
  (the reference subtracted them from 100).

Count step scores are "per 30 days" (``monthly``) so a month, a quarter and a year are scored alike. The
region count score steps on 立案密度 (cases per km² per 30 days); the reference's thresholds are per
unit grid (≈ 1 公顷 = 0.01 km²) per month, so they are multiplied by 100 here.
"""

from __future__ import annotations

from typing import Any

#: A step: (comparison, bound, score); comparisons "ge", "gt", "le", "lt".
Step = tuple[str, float, float]

OPERATOR_STEPS: list[Step] = [("ge", 2001, 100), ("ge", 1201, 90), ("ge", 501, 75), ("ge", 301, 60), ("ge", 101, 40)]
DISPATCHER_STEPS: list[Step] = [("ge", 1001, 100), ("ge", 601, 90), ("ge", 301, 75), ("ge", 151, 60), ("ge", 51, 40)]
DEPARTMENT_STEPS: list[Step] = [("le", 50, 100), ("le", 100, 90), ("le", 200, 75), ("le", 500, 60), ("le", 1000, 40)]
REGION_STEPS: dict[str, list[Step]] = {
    "1": [("le", 0, 100), ("lt", 300, 90), ("lt", 500, 75), ("lt", 700, 60), ("lt", 900, 40)],
    "2": [("le", 0, 100), ("lt", 400, 90), ("lt", 600, 75), ("lt", 800, 60), ("lt", 1000, 40)],
}

DEFAULT_SCHEMES: dict[str, dict[str, Any]] = {
    "inspector": {
        "name": "监督员综合评价",
        "note": "有效上报率40% + (1−漏报率)20% + 按时核实率20% + 按时核查率20%",
        "weights": [
            {"indicator": "valid_rate", "weight": 40, "method": "rate"},
            {"indicator": "missed_rate", "weight": 20, "method": "inverse_rate"},
            {"indicator": "verify_on_time_rate", "weight": 20, "method": "rate"},
            {"indicator": "check_on_time_rate", "weight": 20, "method": "rate"},
        ],
    },
    "operator": {
        "name": "受理员综合评价",
        "note": "受理数分值25% + 按时派发核实率40% + 按时派发核查率35%",
        "weights": [
            {"indicator": "accepted", "weight": 25, "method": "steps", "monthly": True, "steps": {"": OPERATOR_STEPS}},
            {"indicator": "verify_sent_on_time_rate", "weight": 40, "method": "rate"},
            {"indicator": "check_sent_on_time_rate", "weight": 35, "method": "rate"},
        ],
    },
    "shift_leader": {
        "name": "值班长综合评价",
        "note": "按时立案率25% + 准确立案率40% + 按时结案率35%",
        "weights": [
            {"indicator": "register_on_time_rate", "weight": 25, "method": "rate"},
            {"indicator": "register_accuracy", "weight": 40, "method": "rate"},
            {"indicator": "close_on_time_rate", "weight": 35, "method": "rate"},
        ],
    },
    "dispatcher": {
        "name": "派遣员综合评价",
        "note": "派遣数分值20% + 按时派遣率40% + 准确派遣率40%",
        "weights": [
            {"indicator": "dispatched", "weight": 20, "method": "steps", "monthly": True,
             "steps": {"": DISPATCHER_STEPS}},
            {"indicator": "dispatch_on_time_rate", "weight": 40, "method": "rate"},
            {"indicator": "dispatch_accuracy", "weight": 40, "method": "rate"},
        ],
    },
    "department": {
        "name": "处置单位综合评价",
        "note": "立案数分值10% + 结案率30% + 按时处置率30% + (1−返工率)30%",
        "weights": [
            {"indicator": "registered", "weight": 10, "method": "steps", "monthly": True,
             "steps": {"": DEPARTMENT_STEPS}},
            {"indicator": "close_rate", "weight": 30, "method": "rate"},
            {"indicator": "handle_on_time_rate", "weight": 30, "method": "rate"},
            {"indicator": "rework_rate", "weight": 30, "method": "inverse_rate"},
        ],
    },
    "region": {
        "name": "区域综合评价",
        "note": "立案数分值20%（按区域类别分档）+ (1−监督举报率)10% + 结案率30% + 按期结案率40%",
        "weights": [
            {"indicator": "density", "weight": 20, "method": "steps", "monthly": True, "steps": REGION_STEPS},
            {"indicator": "public_rate", "weight": 10, "method": "inverse_rate"},
            {"indicator": "close_rate", "weight": 30, "method": "rate"},
            {"indicator": "in_time_close_rate", "weight": 40, "method": "rate"},
        ],
    },
}

#: Grade thresholds (评价等级): the first grade whose minimum the score reaches.
GRADES: list[tuple[str, float]] = [("A", 90), ("B", 75), ("C", 60), ("D", 40), ("E", float("-inf"))]

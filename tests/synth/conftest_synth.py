"""Simulated country-month panels and reference tables shared by the synthetic-control tests."""
from __future__ import annotations

import numpy as np
import pandas as pd

DONORS = ["AGO", "BEN", "BWA", "CMR", "GHA", "KEN", "MOZ", "NGA", "SEN", "TZA", "ZMB", "ZWE", "NER", "SOM"]
BASE = {"id": "m1", "label": "x", "role": "main", "treated": ["MLI"], "event": "EV_1", "outcome": "acled_pv_events"}


def _events(year=2022, month=8):
    return pd.DataFrame({"event_id": ["EV_1"], "iso3_list": [("MLI",)], "year": [year], "month": [month]})


def _deployments():
    return pd.DataFrame({"actor": ["US"], "operation": ["op"], "iso3": ["SOM"], "end_year": [2021],
                         "end_month": [1], "exit_type": ["withdrawal"]})


def month_panel(seed=0, effect=0.0, seasonal=0.0):
    rng = np.random.default_rng(seed)
    rows = []
    factor = np.cumsum(rng.normal(0, 0.05, 120))
    for k, c in enumerate(DONORS + ["MLI"]):
        load = rng.uniform(0.5, 1.5)
        level = rng.uniform(2, 5)
        prof = seasonal * rng.normal(0, 1, 12)
        for i in range(120):
            y, m = 2016 + i // 12, i % 12 + 1
            v = level + load * factor[i] + prof[m - 1] + rng.normal(0, 0.1)
            if c == "MLI" and (y, m) > (2022, 8):
                v += effect
            rows.append({"iso3": c, "year": y, "month": m, "acled_pv_events": float(np.expm1(v)),
                         "acled_month_complete": not (y == 2025 and m == 12)})
    return pd.DataFrame(rows)

"""Country groups used by the descriptive outputs."""
from __future__ import annotations

import pandas as pd

G5 = "Sahel G5"
PARTNERS = "Other U.S. CT partners"
REST = "Rest of Africa"
ORDER = [G5, PARTNERS, REST]


def country_group(panel: pd.DataFrame) -> pd.Series:
    """Sahel G5; other states that were ever PSI/TSCTP partners (needs ``tsctp_entry_year``); the rest."""
    group = pd.Series(REST, index=panel.index)
    if "tsctp_entry_year" in panel.columns:
        ever = panel.groupby("iso3")["tsctp_entry_year"].transform(lambda s: s.notna().any())
        group[ever.astype(bool)] = PARTNERS
    group[panel["sahel_g5"] == 1] = G5
    return group

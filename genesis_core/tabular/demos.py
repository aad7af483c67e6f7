"""Demo tables that ship inside packages (offline): what the page offers and `demo:NAME` reads."""

from __future__ import annotations

import pandas as pd

from genesis_core.tabular.ingest import TableError

DEMOS = {
    "penguins": "palmerpenguins: 344 penguins, species, island, measurements, sex",
    "wine": "scikit-learn wine: 178 wines, 13 chemical measurements and the cultivar",
    "fair": "statsmodels fair: 6,366 women, affairs survey (age, children, religiousness, occupation...)",
}


def load_demo(name: str) -> pd.DataFrame:
    if name == "penguins":
        import palmerpenguins

        return palmerpenguins.load_penguins()
    if name == "wine":
        from sklearn.datasets import load_wine

        d = load_wine(as_frame=True)
        df = d.frame.copy()
        df["target"] = df["target"].map({i: str(n) for i, n in enumerate(d.target_names)})
        return df.rename(columns={"target": "cultivar"})
    if name == "fair":
        import statsmodels.api as sm

        return sm.datasets.fair.load_pandas().data
    raise TableError(f"unknown demo dataset {name!r}; choose one of {', '.join(DEMOS)}")

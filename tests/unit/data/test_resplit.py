"""Re-splits of train + val: test rows untouched, the given validation share per species,
a train clip for every species, groups never split, seeded."""

import numpy as np
import pandas as pd

from jaxaudio.data.resplit import resplit, val_fraction


def table(groups=False):
    rng = np.random.default_rng(0)
    rows = []
    for s, n in (("a", 20), ("b", 7), ("c", 2)):
        for i in range(n):
            rows.append(
                {"species": s, "split": "train", "recording": f"{s}{i // 2 if groups else i}"}
            )
        rows += [{"species": s, "split": "test", "recording": f"{s}t{i}"} for i in range(3)]
    df = pd.DataFrame(rows)
    pooled = np.flatnonzero(df["split"] == "train")
    df.loc[rng.choice(pooled, 6, replace=False), "split"] = "val"  # 6 of 29 pooled clips
    return df


def test_test_rows_stay_and_each_species_keeps_the_validation_share():
    df = table()
    f = val_fraction(df)
    assert f == 6 / 29
    out = resplit(df, seed=3)
    pd.testing.assert_frame_equal(out[df["split"] == "test"], df[df["split"] == "test"])
    assert (out.drop(columns="split") == df.drop(columns="split")).all().all()
    for s, n in (("a", 20), ("b", 7), ("c", 2)):
        got = out[(out["species"] == s) & (out["split"] != "test")]["split"].value_counts()
        n_val = min(
            round(f * n), n - 1
        )  # a: round(4.14) = 4, b: round(1.45) = 1, c: round(0.41) = 0
        assert got.get("val", 0) == n_val and got["train"] == n - n_val, s


def test_seeds_differ_and_repeat():
    df = table()
    a, b, c = resplit(df, 1), resplit(df, 1), resplit(df, 2)
    pd.testing.assert_frame_equal(a, b)
    assert not a["split"].equals(c["split"])


def test_clips_of_one_recording_stay_in_one_split():
    df = table(groups=True)  # two clips per recording
    for seed in range(5):
        out = resplit(df, seed)
        assert (out.groupby("recording")["split"].nunique() == 1).all()
        assert set(out.loc[out["split"] != "test", "species"]) == {"a", "b", "c"}
        assert (out[out["split"] == "train"].groupby("species").size() >= 1).all()

"""evaluation.open_set: species held out of training, their test clips kept as unknowns."""

import copy
import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from jaxaudio.config.load import ConfigError, check_config, load_config
from jaxaudio.data.clips import ClipTable
from jaxaudio.data.manifest import (
    ManifestError,
    check_manifest,
    dataset_summary,
    prepare_manifest,
    resolve_manifest,
)
from jaxaudio.data.open_set import (
    OpenSetError,
    OpenSetSettings,
    draw_held_out,
    held_out_count,
)
from jaxaudio.features.cache import build_feature_cache
from jaxaudio.training.weights import compute_class_weights
from tests.conftest import ROOT
from tests.unit.evaluation.scoring_case import score_table

SPECIES = ["Blue Jay", "Common Loon", "Dunlin", "Osprey"]
#: rows per species and split of the hand-made manifest (its own split column)
SPLIT_ROWS = {"train": 3, "val": 2, "test": 2}
DEFAULT = load_config(ROOT / "config" / "config.yaml")
SILENCE = np.zeros(100, np.float32)


def manifest(tmp_path, rows=None, name="m.csv", audio=SILENCE, rate=8000):
    """A manifest over tiny WAV files: ``rows`` of (species, split), by default SPLIT_ROWS of
    each of SPECIES; a split of ``None`` everywhere: no split column."""
    if rows is None:
        rows = [(sp, s) for sp in SPECIES for s, n in SPLIT_ROWS.items() for _ in range(n)]
    out = []
    for i, (sp, split) in enumerate(rows):
        path = tmp_path / "audio" / f"{i}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, audio, rate)
        out.append({"path": f"audio/{i}.wav", "species": sp, "split": split})
    csv = tmp_path / name
    df = pd.DataFrame(out)
    df.drop(columns=[] if df["split"].notna().any() else "split").to_csv(csv, index=False)
    return csv


def test_a_held_out_species_keeps_only_its_test_rows_as_unknowns(tmp_path):
    df, species = resolve_manifest(manifest(tmp_path), open_set={"species": ["Dunlin"]})
    assert species == ["Blue Jay", "Common Loon", "Osprey"]
    held = df[df["species"] == "Dunlin"]
    assert held["split"].tolist() == ["test", "test"]  # its 3 train and 2 val rows are gone
    assert held["unknown"].all() and set(held["label"]) == {3}  # the reserved label C = 3
    known = df[df["species"] != "Dunlin"]
    assert not known["unknown"].any()
    assert known.groupby("species")["label"].first().to_dict() == {
        "Blue Jay": 0,
        "Common Loon": 1,
        "Osprey": 2,
    }
    assert len(df) == 4 * 7 - 5
    summary = dataset_summary(df, species)
    assert summary["held_out_species"] == ["Dunlin"]
    assert summary["unknown"] == {"train": 0, "val": 0, "test": 2}
    assert "Dunlin" not in summary["counts"]


def test_the_clip_table_and_class_weights_leave_the_held_out_species_out(tmp_path):
    df, _ = resolve_manifest(manifest(tmp_path), open_set={"species": ["Dunlin"]})
    df.to_csv(tmp_path / "clips.csv", index=False)
    table = ClipTable.read(tmp_path / "clips.csv")
    assert table.species == table.classes == ["Blue Jay", "Common Loon", "Osprey"]
    assert table.held_out_species == ["Dunlin"]
    assert table.frame.loc[table.is_unknown, "species"].unique().tolist() == ["Dunlin"]
    weights = compute_class_weights(table.train_species(), table.classes)
    assert weights["train_counts"] == {"Blue Jay": 3, "Common Loon": 3, "Osprey": 3}


def test_known_species_keep_the_split_they_have_without_open_set(tmp_path):
    """The seeded split is made with every species; holding one out changes no other's rows."""
    m = manifest(tmp_path, [(sp, None) for sp in SPECIES for _ in range(9)])
    assert "split" not in pd.read_csv(m).columns
    closed, _ = resolve_manifest(m, seed=4)
    held, _ = resolve_manifest(m, seed=4, open_set={"species": ["Osprey"]})
    keep = closed["species"] != "Osprey"
    pd.testing.assert_frame_equal(
        closed.loc[keep, ["path", "split"]].reset_index(drop=True),
        held.loc[held["species"] != "Osprey", ["path", "split"]].reset_index(drop=True),
    )
    osprey_test = (closed["species"] == "Osprey") & (closed["split"] == "test")
    assert held.loc[held["unknown"], "path"].tolist() == closed.loc[osprey_test, "path"].tolist()


def test_a_test_only_species_is_no_coverage_error_when_held_out(tmp_path):
    rows = [(sp, s) for sp in SPECIES[:3] for s in ("train", "val", "test")]
    m = manifest(tmp_path, rows + [("Osprey", "test")] * 2)
    with pytest.raises(ManifestError, match="no training clip: \\['Osprey'\\]"):
        resolve_manifest(m)
    with pytest.raises(ManifestError, match="no training clip"):
        check_manifest(m)
    check_manifest(m, held_out=["Osprey"])
    df, species = resolve_manifest(m, open_set={"species": ["Osprey"]})
    assert species == SPECIES[:3] and df["unknown"].sum() == 2


def test_the_feature_cache_featurises_the_unknown_test_clips(tmp_path):
    """The features step keeps the unknown rows (test clips to score) and does not ask them
    for a training clip."""
    rows = [(sp, s) for sp in ("a", "b") for s in ("train", "val", "test")]
    noise = np.random.default_rng(0).normal(0, 0.1, 22050).astype(np.float32)
    m = manifest(tmp_path, rows + [("c", "train"), ("c", "test")], audio=noise, rate=22050)
    resolved, summary = tmp_path / "manifest.csv", tmp_path / "dataset.json"
    prepare_manifest(m, resolved, summary, open_set={"species": ["c"]})
    assert json.loads(summary.read_text())["held_out_species"] == ["c"]
    clips = build_feature_cache(
        resolved,
        {"clip_seconds": 1.0, "backend": "librosa"},
        tmp_path / "f.npy",
        tmp_path / "clips.csv",
        tmp_path / "skipped.csv",
        progress=False,
    )
    assert len(clips) == len(np.load(tmp_path / "f.npy", mmap_mode="r")) == 7
    table = ClipTable.read(tmp_path / "clips.csv")
    assert table.species == ["a", "b"]
    assert table.frame.loc[table.is_unknown, ["species", "split", "label"]].values.tolist() == [
        ["c", "test", 2]
    ]


def test_the_fraction_draw_is_seeded_never_all_and_at_least_one():
    assert held_out_count(4, 0.0) == 0
    assert held_out_count(4, 0.01) == 1  # at least 1 when f > 0
    assert held_out_count(4, 0.5) == 2
    assert held_out_count(4, 0.99) == 3  # never all
    assert held_out_count(1, 0.5) == 0  # one species: nothing can be held out
    assert held_out_count(10, 0.3) == 3  # round, not ceil, of 3.0000000000000004
    for seed in range(20):
        drawn = draw_held_out(SPECIES, 0.99, seed)
        assert len(drawn) == 3 and drawn == sorted(drawn) and set(drawn) < set(SPECIES)
        assert draw_held_out(list(reversed(SPECIES)), 0.99, seed) == drawn  # order-free
    draws = {tuple(draw_held_out(SPECIES, 0.25, seed)) for seed in range(20)}
    assert len(draws) > 1 and all(len(d) == 1 for d in draws)  # the seed matters


def test_resolve_with_a_fraction_holds_out_the_drawn_species(tmp_path):
    m = manifest(tmp_path)
    a, species = resolve_manifest(m, open_set={"fraction": 0.5, "seed": 7})
    b, _ = resolve_manifest(m, open_set={"fraction": 0.5, "seed": 7})
    pd.testing.assert_frame_equal(a, b)
    drawn = draw_held_out(SPECIES, 0.5, 7)
    assert a.attrs["held_out"] == drawn and species == [s for s in SPECIES if s not in drawn]
    assert set(a.loc[a["unknown"], "species"]) == set(drawn)


def test_unknown_names_are_an_error_naming_the_key_and_close_matches(tmp_path):
    m = manifest(tmp_path)
    with pytest.raises(OpenSetError) as err:
        resolve_manifest(m, open_set={"species": ["Blue Jya", "dunlin", "Zebra Finch"]})
    msg = str(err.value)
    assert msg.startswith("evaluation.open_set.species: not species of ")
    assert "'Blue Jya' (did you mean 'Blue Jay'?)" in msg
    assert "'dunlin' (did you mean 'Dunlin'?)" in msg
    assert "'Zebra Finch' (no close match)" in msg


@pytest.mark.parametrize(
    "value, match",
    [
        ({"fraction": 1.0}, r"^evaluation.open_set.fraction: 1.0 is not in \[0, 1\)"),
        ({"fraction": -0.2}, r"^evaluation.open_set.fraction: -0.2 is not in \[0, 1\)"),
        (
            {"fraction": 0.2, "species": ["Dunlin"]},
            "^evaluation.open_set: give species or fraction",
        ),
        ({"share": 0.2}, r"^evaluation.open_set: unknown OpenSetSettings keys: \['share'\]"),
        ("Dunlin", "^evaluation.open_set: null or a mapping"),
    ],
)
def test_bad_settings_name_the_key(value, match):
    with pytest.raises(OpenSetError, match=match):
        OpenSetSettings.from_config(value)


def test_holding_out_every_species_is_an_error(tmp_path):
    with pytest.raises(OpenSetError, match="^evaluation.open_set.species: holds out every species"):
        resolve_manifest(manifest(tmp_path), open_set={"species": SPECIES})


def config_with(m, open_set):
    c = copy.deepcopy(DEFAULT)
    c["data"].update(source="manifest", manifest=str(m))
    c["evaluation"]["open_set"] = open_set
    return c


def test_the_workflow_checks_reject_bad_open_sets_at_load(tmp_path):
    m = manifest(tmp_path)
    with pytest.raises(
        ConfigError, match=r"^config key evaluation.open_set.species: not species of .*'Osprey'"
    ):
        check_config(config_with(m, {"species": ["Ospray"]}))
    with pytest.raises(ConfigError, match=r"^config key evaluation.open_set.fraction: "):
        check_config(config_with(m, {"fraction": 1.5}))
    with pytest.raises(
        ConfigError, match="and evaluation.open_set .*: a classifier needs at least 2"
    ):
        check_config(config_with(m, {"species": SPECIES[:3]}))
    check_config(config_with(m, {"species": ["Dunlin"]}))
    # the job processes' cheap check (no dataset): a test-only held-out species passes
    rows = [(sp, s) for sp in SPECIES[:3] for s in SPLIT_ROWS] + [("Osprey", "test")]
    only_test = manifest(tmp_path, rows, name="only_test.csv")
    check_config(config_with(only_test, {"species": ["Osprey"]}), dataset=False)


def test_scoring_leaves_unknown_clips_out_of_the_clip_metrics(tmp_path):
    """score_splits on a hand-made clip table: 2 known species, 1 background clip per split
    (label 2 = C, the reserved last output) and 3 unknown test clips (label 2 too)."""
    rows = [  # (species, split, label, background, unknown)
        *[("a", "train", 0, False, False), ("b", "train", 1, False, False)] * 2,
        ("a", "val", 0, False, False),
        ("b", "val", 1, False, False),
        ("noise", "val", 2, True, False),
        ("a", "test", 0, False, False),
        ("b", "test", 1, False, False),
        ("noise", "test", 2, True, False),
        *[("c", "test", 2, False, True)] * 3,
    ]
    clips = tmp_path / "clips.csv"
    pd.DataFrame(rows, columns=["species", "split", "label", "background", "unknown"]).assign(
        path="x"
    ).to_csv(clips, index=False)
    table = ClipTable.read(clips)
    assert table.classes == ["a", "b", "noise"]
    weights = tmp_path / "w.json"
    weights.write_text(json.dumps({"train_counts": {"a": 2, "b": 2, "noise": 0}}))
    # logits: the true class of every known clip wins; unknown clips look like species a
    z = np.full((len(rows), 3), -4.0)
    for i, (_, _, label, _, unknown) in enumerate(rows):
        z[i, 0 if unknown else label] = 4.0
    scored, m = score_table(tmp_path, table, clips, weights, z)
    assert m["n_test"] == 2 and m["accuracy"] == 1.0  # the known species' test clips only
    assert m["calibration"]["n"] == 3  # a, b and the background clip
    assert table.frame.loc[scored.test_rows, "species"].tolist() == ["a", "b"]
    det = m["detection"]["test"]
    assert det["unknown_clips"] == 3
    assert det["unknown_detections"] == 3 and det["unknown_detections_per_clip"] == 1.0
    assert det["n_clips"] == 3 and det["micro_recall"] == 1.0  # known figures as before
    assert det["background_detections_per_hour"] == 0.0
    assert "unknown_clips" not in m["detection"]["val"]

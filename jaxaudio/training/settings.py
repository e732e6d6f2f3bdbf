"""The hyperparameters of one training run, typed, with the config's defaults.

The workflow builds a run's settings from ``config/config.yaml``
(:func:`jaxaudio.config.load.run_settings`: the ``training:`` section, the model's entry
under ``models:``, the experiment's keys) and passes them as a plain dict;
:meth:`TrainSettings.from_dict` turns that dict into this dataclass and rejects unknown
keys by name. The defaults here are the config's defaults (``training:`` and the ``cnn``
model's ``epochs``/``batch_size``/``lr``), so a run built from a partial dict (a test, a
benchmark) trains as the shipped config would.

The choice fields are :data:`typing.Literal` aliases whose values are exactly the enums of
``workflow/schemas/config.schema.yaml`` (``tests/unit/training/test_settings.py`` checks both):
the optimiser's and the objective's here, ``class_weights``' and ``normalise``'s where they are used
(:mod:`jaxaudio.training.weights`, :mod:`jaxaudio.features.stats`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from jaxaudio.config.typed import FromDict
from jaxaudio.features.stats import NormMode
from jaxaudio.training.weights import ExperimentChoice

Optimizer = Literal["adamw", "adam", "sgd"]
Schedule = Literal["cosine", "constant"]
ComputeDtype = Literal["float32", "bfloat16"]
#: ``training.objective``: one species per clip (softmax over the species, background a reserved
#: class) or a yes/no question per species (sigmoid; a clip may hold several species or none).
Objective = Literal["softmax", "sigmoid"]
#: ``training.sampler``: every clip once per epoch (a permutation), or clips drawn with
#: replacement so that each class is drawn equally often (balanced) or in proportion to the
#: square root of its count (sqrt) (:mod:`jaxaudio.training.sampling`).
Sampler = Literal["uniform", "balanced", "sqrt"]


@dataclass(frozen=True)
class TrainSettings(FromDict):
    """Every hyperparameter of one (experiment, model, seed) run.

    The field order and names are part of the checkpoint fingerprint
    (:func:`jaxaudio.training.checkpoint.run_fingerprint` hashes ``asdict``): adding or
    renaming a field makes every existing checkpoint start afresh.
    """

    arch: str
    model: dict[str, Any] = field(default_factory=dict)  # the architecture's constructor options
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    optimizer: Optimizer = "adamw"
    schedule: Schedule = "cosine"
    warmup_epochs: int = 0
    grad_clip: float | None = None
    patience: int = 8
    seed: int = 0
    class_weights: ExperimentChoice = "none"
    normalise: bool | NormMode = False  # false = "none", true = "channel"
    augment: dict[str, Any] = field(
        default_factory=dict
    )  # jaxaudio.training.augment.AugmentSettings keys
    eval_batch_size: int = 256
    data_parallel: bool = False
    compute_dtype: ComputeDtype = "float32"
    device_memory_mb: float = 2048.0
    logit_adjust: float = 0.0
    objective: Objective = "softmax"
    sampler: Sampler = "uniform"  # which clips an epoch draws (jaxaudio/training/sampling.py)
    focal_gamma: float = 0.0  # γ of the focal loss (softmax; 0: cross-entropy)
    label_smoothing: float = 0.0  # ε (softmax; PyTorch CrossEntropyLoss semantics)

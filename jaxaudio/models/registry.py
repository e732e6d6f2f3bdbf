"""Classifier architectures. Inputs are feature stacks ``(B, C, F, T)`` (channels first, as
cached); outputs are logits ``(B, n_classes)`` in species index order. The CNN and the ViT
need a time-frequency map; the MLP takes any input, an embedding (``(B, 1, 1024, 1)``) too."""

from __future__ import annotations

from typing import Any

from flax import nnx

from jaxaudio.models.cnn import AudioCNN
from jaxaudio.models.mlp import AudioMLP
from jaxaudio.models.vit import AudioViT

ARCHITECTURES = {"cnn": AudioCNN, "vit": AudioViT, "mlp": AudioMLP}


def build_model(
    arch: str, n_classes: int, input_shape: tuple[int, int, int], options: dict[str, Any], seed: int
) -> nnx.Module:
    """Instantiate ``arch`` with its architecture ``options`` (the keys its constructor takes)."""
    if arch not in ARCHITECTURES:
        raise ValueError(
            f"unknown model architecture {arch!r}; choose from {sorted(ARCHITECTURES)}"
        )
    return ARCHITECTURES[arch](
        n_classes=n_classes, input_shape=tuple(input_shape), rngs=nnx.Rngs(params=seed), **options
    )


__all__ = ["ARCHITECTURES", "AudioCNN", "AudioMLP", "AudioViT", "build_model"]

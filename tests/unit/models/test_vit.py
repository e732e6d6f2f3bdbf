"""``AudioViT``'s convolutional stem (jaxaudio/models/vit.py): patches cut from the map the
CNN's blocks make."""

import jax
import numpy as np
import pytest

from jaxaudio.models.cnn import apply_conv_blocks
from jaxaudio.models.registry import build_model


def test_the_stem_halves_the_map_per_block_and_the_patches_tile_what_is_left():
    vit = build_model(
        "vit", 5, (3, 40, 44), {"patch": [2, 2], "dim": 16, "heads": 2, "stem": [8, 16]}, seed=0
    )
    # 40 x 44 -> 20 x 22 -> 10 x 11; 2 x 2 patches: 5 x 5 tokens (the odd frame dropped) + cls
    assert vit.pos[...].shape == (1, 5 * 5 + 1, 16)
    assert vit.embed.kernel[...].shape == (2, 2, 16, 16)  # 16 stem channels in


def test_a_stem_block_is_a_3x3_convolution_batch_norm_relu_and_2x2_max_pool():
    """Against lax's convolution, BatchNorm's formula at its initial statistics (mean 0,
    variance 1, epsilon 1e-5: x / sqrt(1 + 1e-5)) and a numpy max-pool."""
    vit = build_model(
        "vit", 5, (3, 16, 12), {"patch": [2, 2], "dim": 16, "heads": 2, "stem": [8]}, 0
    )
    vit.eval()
    x = np.random.default_rng(0).normal(size=(2, 16, 12, 3)).astype(np.float32)
    z = jax.lax.conv_general_dilated(
        x, vit.stem_convs[0].kernel[...], (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    h = np.maximum(np.asarray(z) / np.sqrt(1 + 1e-5), 0)
    expected = h.reshape(2, 8, 2, 6, 2, 8).max(axis=(2, 4))
    got = apply_conv_blocks(vit.stem_convs, vit.stem_norms, x)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_a_patch_larger_than_the_stems_output_is_refused():
    with pytest.raises(ValueError, match=r"larger than the stem output \(4, 3\)"):
        build_model("vit", 5, (3, 16, 12), {"patch": [8, 4], "stem": [8, 8]}, seed=0)

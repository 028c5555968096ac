"""Between images and the network (numpy only): uint8 crops + masks <-> N x 4 float32 input,
N x 3 output in [-1, 1] -> uint8 crops."""

from __future__ import annotations

import numpy as np


def to_network_input(white_filled: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """``white_filled`` N x S x S x 3 uint8, ``masks`` N x S x S (1 = fill) -> N x 4 x S x S.
    The mask is binarised and the RGB set to +1 (white) inside it, as in training."""
    hard = (np.asarray(masks, np.float32) >= 0.5).astype(np.float32)
    rgb = np.asarray(white_filled, np.float32).transpose(0, 3, 1, 2) / 127.5 - 1.0
    rgb = np.where(hard[:, None] > 0, 1.0, rgb).astype(np.float32)
    return np.concatenate([rgb, hard[:, None]], axis=1)


def from_network_output(output: np.ndarray) -> np.ndarray:
    """N x 3 x S x S in [-1, 1] -> N x S x S x 3 uint8."""
    return np.clip(np.rint((output.transpose(0, 2, 3, 1) + 1.0) * 127.5), 0, 255).astype(np.uint8)

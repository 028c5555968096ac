"""The generator on ONNX Runtime: numpy in, numpy out, no torch anywhere on this path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from mouthsynth.errors import ModelError
from mouthsynth.inference.packing import from_network_output, to_network_input

INPUT_NAME = "input"
OUTPUT_NAME = "output"


class OnnxGenerator:
    def __init__(self, path: str | Path, providers: list[str] | None = None, threads: int | None = None):
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"{self.path}: model file not found")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        threads = threads or min(4, os.cpu_count() or 1)
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle pool threads sleep instead of spinning: in `mouthsynth video` decoding, landmarks
        # and encoding share the 2 cores with generation, and spinning took ~20 ms of CPU per
        # 720p frame from them (end to end 74-80 -> 50-60 ms CPU per frame).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(
                str(self.path), options, providers=providers or ["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelError(f"{self.path}: not a valid ONNX model ({type(exc).__name__})") from exc
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if (
            len(inputs) != 1
            or inputs[0].name != INPUT_NAME
            or len(inputs[0].shape) != 4
            or inputs[0].shape[1] != 4
        ):
            got = [(i.name, i.shape) for i in inputs]
            raise ModelError(f"{self.path}: expected one input '{INPUT_NAME}' of N x 4 x S x S, got {got}")
        if (
            len(outputs) != 1
            or outputs[0].name != OUTPUT_NAME
            or len(outputs[0].shape) != 4
            or outputs[0].shape[1] != 3
        ):
            got = [(o.name, o.shape) for o in outputs]
            raise ModelError(f"{self.path}: expected one output '{OUTPUT_NAME}' of N x 3 x S x S, got {got}")
        meta = self.session.get_modelmeta().custom_metadata_map
        self.metadata = dict(meta)
        try:
            self.card = json.loads(meta.get("mouthsynth.card") or "{}")
            size = meta.get("mouthsynth.crop_size")
            static = inputs[0].shape[2]
            self.crop_size = int(size) if size else static if isinstance(static, int) else 128
            # A model exported with a dynamic side runs up to the largest side it was trained at.
            largest = meta.get("mouthsynth.max_crop_size")
            dynamic = not isinstance(static, int)
            self.max_crop_size = int(largest) if largest and dynamic else self.crop_size
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise ModelError(f"{self.path}: unreadable mouthsynth metadata ({exc})") from exc

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """N x 4 x S x S float32 -> N x 3 x S x S float32 (composited, in [-1, 1])."""
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim != 4 or batch.shape[1] != 4 or batch.shape[2] % 32 or batch.shape[3] % 32:
            raise ValueError(
                f"generator input must be N x 4 x H x W with H, W multiples of 32, got {batch.shape}"
            )
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]

    def run_crops(self, white_filled: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """N x S x S x 3 uint8 white-filled crops + N x S x S masks -> N x S x S x 3 uint8."""
        return from_network_output(self(to_network_input(white_filled, masks)))

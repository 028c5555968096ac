"""`mouthsynth export`: a training checkpoint -> an ONNX model for ONNX Runtime and phones."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from mouthsynth.cli.common import console, user_errors


def command(
    checkpoint: Annotated[
        Path, typer.Argument(help="Checkpoint folder, run folder (its best), or .safetensors.")
    ],
    out: Annotated[Path, typer.Option("-o", "--out", help="ONNX file to write.")],
    card: Annotated[Path | None, typer.Option(help="Extra JSON merged into the model card.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
    state_out: Annotated[
        Path | None,
        typer.Option(
            help="Also write the checkpoint's compact training state here (weights of G, its EMA and "
            "both Ds; what `mouthsynth train --init-from` continues), e.g. "
            "src/mouthsynth/models/default_state."
        ),
    ] = None,
    shipped_note: Annotated[
        str | None,
        typer.Option(
            help="With --state-out: this export is the shipped default model; record its step as the "
            "state's shipped_model_step and this text (why it was chosen) as the state's note."
        ),
    ] = None,
) -> None:
    """Export the EMA generator to ONNX (opset 17, dynamic batch), check it against PyTorch
    (max abs diff <= 1e-3), and write the model card beside it (OUT with .json)."""
    with user_errors():
        from mouthsynth.errors import ConfigError
        from mouthsynth.export.onnx_export import export_generator, model_card
        from mouthsynth.inference.torch_generator import load_generator, resolve_checkpoint

        if shipped_note is not None and state_out is None:
            raise ConfigError("--shipped-note describes the state that --state-out writes; give both")

        net, cfg = load_generator(checkpoint)
        weights, _ = resolve_checkpoint(checkpoint)
        info = model_card(cfg, weights.parent, {"exported": date.today().isoformat()})
        # The checkpoint's own step, taken before --card extras are merged into the card.
        shipped = None
        if shipped_note is not None:
            shipped = {"shipped_model_step": info["steps"], "note": shipped_note}
        if card is not None:
            info.update(json.loads(card.read_text()))
        result = export_generator(net, cfg, out, info, overwrite=overwrite)
        card_path = out.with_suffix(".json")
        card_path.write_text(json.dumps(info, indent=2) + "\n")
        if state_out is not None:
            from mouthsynth.training.state import state_from_checkpoint

            # The state names the backbone its card names, whichever record the card came from.
            backbone = {k: info[k] for k in ("perceptual_net", "perceptual_sha256") if info.get(k)}
            state_from_checkpoint(weights.parent, state_out, {**backbone, **(shipped or {})})
            console.print(f"wrote the training state {state_out}")
        console.print(
            f"wrote {out} ({result['bytes'] / 1e6:.2f} MB, ONNX Runtime vs PyTorch max abs diff "
            f"{result['max_abs_diff']:.1e}) and {card_path}"
        )

"""Recover a training state (generator, its EMA) from an exported ONNX generator.

The default model's first run (1,750 CPU steps) left only its ONNX export: its run folder was lost
with the machine that trained it. Export folds every BatchNorm into the convolution before it, so
this script puts each folded weight back into the conv and gives the BatchNorm after it
statistics measured on real crops, chosen so that the network computes exactly what the ONNX
model computes in eval mode, and nearly the same with batch statistics in training. The
discriminators are new (a short discriminator warm-up follows in training).

    python scripts/state_from_onnx.py src/mouthsynth/models/default.onnx data/shared \
        -o src/mouthsynth/models/default_state --steps 1750
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper
from torch import nn

from mouthsynth.config import load_config
from mouthsynth.data.dataset import MouthDataset
from mouthsynth.nets.generator import build_generator


def conv_order(model: nn.Module, x: torch.Tensor) -> list[nn.Conv2d]:
    """Conv modules in the order the forward pass runs them (the ONNX graph's node order)."""
    seen: list[nn.Conv2d] = []
    hooks = [
        m.register_forward_hook(lambda mod, _i, _o: seen.append(mod))
        for m in model.modules()
        if isinstance(m, nn.Conv2d)
    ]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return seen


def following_bn(model: nn.Module) -> dict[nn.Conv2d, nn.BatchNorm2d]:
    pairs = {}
    for module in model.modules():
        children = list(module.children())
        for a, b in zip(children, children[1:], strict=False):
            if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                pairs[a] = b
    return pairs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("onnx_model", type=Path)
    ap.add_argument("data", type=Path, help="prepared dataset: real crops for the BatchNorm statistics")
    ap.add_argument("-o", "--out", type=Path, required=True)
    ap.add_argument("--steps", type=int, required=True, help="training steps behind the ONNX model")
    ap.add_argument("--config", type=Path, default=Path("configs/train_default.yaml"))
    args = ap.parse_args()

    cfg = load_config(args.config)
    graph = onnx.load(str(args.onnx_model)).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    onnx_convs = [
        (n.input[1], n.input[2] if len(n.input) > 2 else None) for n in graph.node if n.op_type == "Conv"
    ]

    G = build_generator(cfg.model).eval()
    size = cfg.data.size
    data = MouthDataset(args.data, None, size, cfg.data, cfg.geometry, train=False)
    picks = np.linspace(0, len(data) - 1, min(256, len(data))).round().astype(int)
    x = torch.stack([data[int(i)]["input"] for i in picks])

    convs = conv_order(G, x[:1])
    if len(convs) != len(onnx_convs):
        raise SystemExit(f"{len(convs)} torch convs, {len(onnx_convs)} ONNX convs: not this architecture")
    bns = following_bn(G)
    folded_bias: dict[nn.Conv2d, torch.Tensor] = {}
    with torch.no_grad():
        for conv, (w_name, b_name) in zip(convs, onnx_convs, strict=True):
            weight = torch.from_numpy(inits[w_name].copy())
            if weight.shape != conv.weight.shape:
                raise SystemExit(f"{w_name}: shape {tuple(weight.shape)} != {tuple(conv.weight.shape)}")
            conv.weight.copy_(weight)
            bias = torch.from_numpy(inits[b_name].copy()) if b_name else torch.zeros(conv.out_channels)
            if conv in bns:
                folded_bias[conv] = bias
                bn = bns[conv]
                bn.weight.fill_(1.0)
                bn.bias.copy_(bias)
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
            else:
                conv.bias.copy_(bias)

        # Per-channel statistics of every folded conv's output on real crops, in eval mode
        # (where the network is exactly the ONNX model), then the BatchNorm that keeps eval
        # output unchanged: (y - m) / s * s + m + b = y + b.
        stats: dict[nn.Conv2d, tuple[torch.Tensor, torch.Tensor]] = {}
        hooks = [
            c.register_forward_hook(
                lambda mod, _i, out: stats.__setitem__(mod, (out.mean((0, 2, 3)), out.std((0, 2, 3))))
            )
            for c in bns
        ]
        G(x)
        for h in hooks:
            h.remove()
        for conv, bn in bns.items():
            mean, std = stats[conv]
            std = std.clamp_min(1e-3)
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(std**2 - bn.eps)
            bn.weight.copy_(std)
            bn.bias.copy_(mean + folded_bias[conv])

        session = ort.InferenceSession(str(args.onnx_model), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        ref = session.run(None, {name: x[:32].numpy()})[0]
        ours = G(x[:32]).numpy()
        err = float(np.abs(ref - ours).max())
        G.train()
        train_err = float((G(x[:32]) - torch.from_numpy(ref)).abs().mean())
    print(f"eval-mode max |torch - onnx| = {err:.2e}; train-mode mean |diff| = {train_err:.4f}")
    if err > 1e-3:
        raise SystemExit("recovered generator does not reproduce the ONNX model")

    from mouthsynth.training.state import save_state

    G.eval()
    save_state(args.out, {"generator": G, "generator_ema": G}, {"step": args.steps})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

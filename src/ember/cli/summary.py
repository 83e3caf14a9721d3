"""`ember summary`: a model's layers, output shapes and parameter counts (as torchinfo prints).

    ember summary path/to/model.py:Net --input-size 1 28 28 [--batch-size 1] [--model-args JSON]
"""
from __future__ import annotations


def summarize(model, input_size: tuple, batch_size: int = 1, prepare=None) -> dict:
    """Run one forward pass of zeros through `model` and record, for every leaf module, its
    name, type, output shape and parameter count."""
    import ember
    rows, handles = [], []
    for name, m in model.named_modules():
        if name and not list(m.children()):
            def hook(mod, inp, out, name=name):
                shape = list(out.shape) if isinstance(out, ember.Tensor) else \
                    [list(o.shape) for o in out if isinstance(o, ember.Tensor)] \
                    if isinstance(out, (tuple, list)) else []
                rows.append({"name": name, "type": type(mod).__name__, "output": shape,
                             "params": sum(p.numel() for p in mod.parameters(recurse=False))})
            handles.append(m.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        x = ember.zeros(batch_size, *input_size)
        with ember.no_grad():
            model(prepare(x) if prepare else x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"model": type(model).__name__, "input": [batch_size, *input_size], "layers": rows,
            "total_params": total, "trainable_params": trainable}


def format_summary(s: dict) -> str:
    w = max([len(f"{r['name']} ({r['type']})") for r in s["layers"]] + [20])
    line = "=" * (w + 40)
    out = [line, f"{'Layer (type)':<{w}}  {'Output Shape':<24}{'Param #':>12}", line]
    for r in s["layers"]:
        out.append(f"{r['name'] + ' (' + r['type'] + ')':<{w}}  {str(r['output']):<24}"
                   f"{r['params']:>12,}")
    out += [line, f"Total params: {s['total_params']:,}",
            f"Trainable params: {s['trainable_params']:,}",
            f"Non-trainable params: {s['total_params'] - s['trainable_params']:,}", line]
    return "\n".join(out)


def summary_command(argv: list[str]) -> int:
    import argparse
    import json
    import sys
    from ._user_code import SpecError, build_model
    p = argparse.ArgumentParser(prog="ember summary",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                description="Print a model's layers, output shapes and "
                                            "parameter counts.")
    p.add_argument("model", help="FILE.py:CLASS or MODULE:FACTORY (or mlp, cnn)")
    p.add_argument("--input-size", type=int, nargs="+", required=True,
                   help="one sample's shape, e.g. 1 28 28")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--model-args", default="{}", help="keyword arguments, as JSON")
    a = p.parse_args(argv)
    try:
        kwargs = json.loads(a.model_args)
        if a.model in ("mlp", "cnn"):
            from . import models
            model = models.seed_mlp() if a.model == "mlp" else models.SeedCNN()
        else:
            model = build_model(a.model, kwargs)
        s = summarize(model, tuple(a.input_size), a.batch_size)
    except SpecError as e:
        print(f"ember summary: error: {e}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as e:
        print(f"ember summary: error: --model-args is not valid JSON ({e.msg})", file=sys.stderr)
        return 2
    except (RuntimeError, ValueError, TypeError) as e:
        print(f"ember summary: error: a forward pass with input size {a.input_size} failed: "
              f"{' '.join(str(e).split())}", file=sys.stderr)
        return 2
    print(format_summary(s))
    return 0

"""report.html: one self-contained page per run (no network, no script), and `ember report`.

    ember report runs/latest                 # rebuild a run's page
    ember report RUN1 RUN2 ... --out cmp.html # overlay several runs' curves

Charts are inline SVG drawn here; images are inline PNGs. Every curve carries its numbers in
`data-` attributes, so the page can be checked by a browser as well as looked at.
"""
from __future__ import annotations

import html
import json
import os
import struct
import zlib

from . import _runs

_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f"]


def encode_png(a) -> bytes:
    """A uint8 array (H, W) or (H, W, 3) as PNG bytes (zlib-compressed, no filters)."""
    import numpy as np
    a = np.ascontiguousarray(a, dtype=np.uint8)
    h, w = a.shape[:2]
    color = 2 if a.ndim == 3 else 0
    raw = b"".join(b"\x00" + a[i].tobytes() for i in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


# ---- charts ---------------------------------------------------------------------------------

def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def line_chart(title: str, series: list[tuple], xlabel: str, ylabel: str, log_x: bool = False,
               width: int = 560, height: int = 300) -> str:
    """series: (label, xs, ys). An SVG with axes, ticks, a legend and one polyline each."""
    import math
    series = [(lab, xs, ys) for lab, xs, ys in series if xs]
    if not series:
        return f'<p class="empty">{html.escape(title)}: no data</p>'
    fx = (lambda v: math.log10(v)) if log_x else (lambda v: v)
    allx = [fx(x) for _, xs, _ in series for x in xs]
    ally = [y for _, _, ys in series for y in ys if y == y]
    x0, x1 = min(allx), max(allx)
    y0, y1 = min(ally), max(ally)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1
    L, R, T, B = 60, 130, 30, 40
    pw, ph = width - L - R, height - T - B

    def px(x):
        return L + (fx(x) - x0) / (x1 - x0) * pw

    def py(y):
        return T + (1 - (y - y0) / (y1 - y0)) * ph
    parts = [f'<svg class="chart" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" '
             f'data-title="{html.escape(title)}">',
             f'<title>{html.escape(title)}</title>',
             f'<text x="{L}" y="18" class="ct">{html.escape(title)}</text>',
             f'<rect x="{L}" y="{T}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>']
    for v in _ticks(y0, y1):
        y = py(v)
        parts.append(f'<line x1="{L - 4}" y1="{y:.1f}" x2="{L + pw}" y2="{y:.1f}" '
                     f'stroke="#eee"/><text x="{L - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'class="tk">{v:.4g}</text>')
    for v in _ticks(x0, x1):
        x = L + (v - x0) / (x1 - x0) * pw
        label = f"{10 ** v:.0e}" if log_x else f"{v:.4g}"
        parts.append(f'<text x="{x:.1f}" y="{T + ph + 16}" text-anchor="middle" '
                     f'class="tk">{label}</text>')
    parts.append(f'<text x="{L + pw / 2}" y="{height - 4}" text-anchor="middle" '
                 f'class="ax">{html.escape(xlabel)}</text>')
    parts.append(f'<text x="12" y="{T + ph / 2}" transform="rotate(-90 12 {T + ph / 2})" '
                 f'text-anchor="middle" class="ax">{html.escape(ylabel)}</text>')
    for i, (label, xs, ys) in enumerate(series):
        c = _COLORS[i % len(_COLORS)]
        pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys) if y == y)
        parts.append(f'<polyline class="series" fill="none" stroke="{c}" stroke-width="1.8" '
                     f'points="{pts}" data-label="{html.escape(label)}" '
                     f'data-y="{" ".join(f"{y:.6g}" for y in ys)}"/>')
        if len(xs) <= 60:
            parts += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{c}">'
                      f'<title>{html.escape(label)}: {y:.4g} at {x:.4g}</title></circle>'
                      for x, y in zip(xs, ys) if y == y]
        ly = T + 14 + 18 * i
        parts.append(f'<line x1="{L + pw + 10}" y1="{ly - 4}" x2="{L + pw + 28}" y2="{ly - 4}" '
                     f'stroke="{c}" stroke-width="3"/><text x="{L + pw + 32}" y="{ly}" '
                     f'class="lg">{html.escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, labels: list, values: list[float], width: int = 560,
              height: int = 240) -> str:
    L, T, B = 50, 30, 30
    pw, ph = width - L - 20, height - T - B
    n = max(len(values), 1)
    bw = pw / n
    parts = [f'<svg class="chart bars" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg" data-title="{html.escape(title)}">',
             f'<title>{html.escape(title)}</title>',
             f'<text x="{L}" y="18" class="ct">{html.escape(title)}</text>']
    for v in (0, 0.5, 1):
        y = T + (1 - v) * ph
        parts.append(f'<line x1="{L}" y1="{y}" x2="{L + pw}" y2="{y}" stroke="#eee"/>'
                     f'<text x="{L - 6}" y="{y + 4}" text-anchor="end" class="tk">{v:g}</text>')
    for i, (lab, v) in enumerate(zip(labels, values)):
        h = v * ph
        x = L + i * bw
        parts.append(f'<rect class="bar" x="{x + 2:.1f}" y="{T + ph - h:.1f}" '
                     f'width="{max(bw - 4, 1):.1f}" height="{h:.1f}" fill="{_COLORS[0]}" '
                     f'data-value="{v:.4f}"><title>class {lab}: {v:.4f}</title></rect>'
                     f'<text x="{x + bw / 2:.1f}" y="{T + ph + 14}" text-anchor="middle" '
                     f'class="tk">{html.escape(str(lab))}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ---- the page -------------------------------------------------------------------------------

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f4f4f4}.cfg td{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:12px}
.ct{font-weight:600;font-size:13px}.tk{font-size:10px;fill:#555}.ax{font-size:11px}
.lg{font-size:11px}figure{display:inline-block;margin:4px;text-align:center;font-size:11px}
figure img{width:56px;height:56px;image-rendering:pixelated;border:1px solid #ccc}
.cm td{min-width:28px}.empty{color:#888}
"""


def _load(folder: str) -> dict:
    def read_json(name):
        p = os.path.join(folder, name)
        if os.path.isfile(p):
            with open(p) as f:
                return json.load(f)
        return {}
    p = os.path.join(folder, "metrics.csv")
    if not os.path.isfile(p) and not os.path.isfile(os.path.join(folder, "lr_find.csv")):
        raise FileNotFoundError(f"{folder}: no metrics.csv (not an `ember train` run folder)")
    metrics = _runs.read_csv(p) if os.path.isfile(p) else []
    steps_p = os.path.join(folder, "steps.csv")
    return {"folder": folder, "name": os.path.basename(os.path.normpath(folder)),
            "config": read_json("config.json"), "metrics": metrics,
            "steps": _runs.read_csv(steps_p) if os.path.isfile(steps_p) else [],
            "eval": read_json("eval.json")}


def _epoch_series(run, key):
    xs, ys = [], []
    for r in run["metrics"]:
        if r.get(key, "") != "":
            xs.append(float(r["epoch"]))
            ys.append(float(r[key]))
    return xs, ys


def _step_series(run, key):
    xs, ys = [], []
    for r in run["steps"]:
        if r.get(key, "") != "":
            xs.append(float(r["step"]))
            ys.append(float(r[key]))
    return xs, ys


def render(runs: list[dict]) -> str:
    one = len(runs) == 1
    title = f"ember train — {runs[0]['name']}" if one else "ember train — comparison of " + \
        ", ".join(r["name"] for r in runs)
    body = [f"<h1>{html.escape(title)}</h1>"]
    body.append("<h2>Configuration</h2>")
    keys = sorted({k for r in runs for k in r["config"]})
    rows = "".join(f"<tr><th>{html.escape(k)}</th>" + "".join(
        f"<td>{html.escape(json.dumps(r['config'].get(k)))}</td>" for r in runs) + "</tr>"
        for k in keys)
    head = "".join(f"<th>{html.escape(r['name'])}</th>" for r in runs)
    body.append(f'<table class="cfg"><tr><th></th>{head}</tr>{rows}</table>')

    def label(run, what):
        return what if one else f"{run['name']}: {what}"
    loss, acc, step_loss, lr = [], [], [], []
    for run in runs:
        for key, what in (("train_loss", "train"), ("val_loss", "validation"),
                          ("test_loss", "test")):
            xs, ys = _epoch_series(run, key)
            loss.append((label(run, what), xs, ys))
        for key, what in (("val_accuracy", "validation"), ("test_accuracy", "test")):
            xs, ys = _epoch_series(run, key)
            acc.append((label(run, what), xs, ys))
        step_loss.append((label(run, "train loss"), *_step_series(run, "loss")))
        lr.append((label(run, "learning rate"), *_step_series(run, "lr")))
    body.append("<h2>Curves</h2><div class='charts'>")
    body.append(line_chart("Loss per epoch", loss, "epoch", "loss"))
    body.append(line_chart("Accuracy per epoch", acc, "epoch", "accuracy"))
    body.append(line_chart("Training loss per step", step_loss, "step", "loss"))
    body.append(line_chart("Learning-rate schedule", lr, "step", "learning rate"))
    body.append("</div>")
    body.append("<h2>Time per epoch</h2><table><tr><th>epoch</th>" + "".join(
        f"<th>{html.escape(r['name'])} (s)</th>" for r in runs) + "</tr>")
    n = max(len(r["metrics"]) for r in runs)
    for i in range(n):
        body.append(f"<tr><td>{i + 1}</td>" + "".join(
            f"<td>{r['metrics'][i]['seconds'] if i < len(r['metrics']) else ''}</td>"
            for r in runs) + "</tr>")
    body.append("</table>")
    for run in runs:
        ev = run["eval"]
        if not ev:
            continue
        suffix = "" if one else f" — {html.escape(run['name'])}"
        if "per_class_accuracy" in ev:
            pc = ev["per_class_accuracy"]
            body.append(f"<h2>Per-class test accuracy{suffix}</h2>")
            body.append(bar_chart("Accuracy by class", list(range(len(pc))), pc))
            cm = ev["confusion"]
            top = max(max(r) for r in cm) or 1
            body.append(f"<h2>Confusion matrix{suffix} (rows: true class, columns: predicted)"
                        f"</h2><table class='cm'><tr><th></th>" +
                        "".join(f"<th>{j}</th>" for j in range(len(cm))) + "</tr>")
            for i, r in enumerate(cm):
                cells = "".join(
                    f"<td style='background:rgba(31,119,180,{v / top:.3f});"
                    f"color:{'#fff' if v / top > 0.5 else '#222'}'>{v}</td>" for v in r)
                body.append(f"<tr><th>{i}</th>{cells}</tr>")
            body.append("</table>")
        if ev.get("misclassified"):
            body.append(f"<h2>Misclassified test images{suffix}</h2><div class='grid'>")
            for m in ev["misclassified"]:
                if m.get("png"):
                    body.append(f"<figure><img alt='test image {m['index']}' "
                                f"src='data:image/png;base64,{m['png']}'><figcaption>true "
                                f"{m['label']} / predicted {m['pred']}</figcaption></figure>")
            body.append("</div>")
        s = ev.get("summary")
        if s and "layers" in s:
            body.append(f"<h2>Model{suffix}: {html.escape(s['model'])}, input "
                        f"{s['input']}</h2><table><tr><th>layer</th><th>type</th>"
                        f"<th>output shape</th><th>parameters</th></tr>")
            for r in s["layers"]:
                body.append(f"<tr><td>{html.escape(r['name'])}</td><td>{r['type']}</td>"
                            f"<td>{r['output']}</td><td>{r['params']:,}</td></tr>")
            body.append(f"<tr><th colspan='3'>total</th><th>{s['total_params']:,}</th></tr>"
                        f"</table>")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")


def write_report(folder: str, out: str | None = None, others: list[str] = ()) -> str:
    runs = [_load(folder)] + [_load(f) for f in others]
    path = out or os.path.join(folder, "report.html")
    _runs.atomic_write_text(path, render(runs))
    return path


def report_command(argv: list[str]) -> int:
    import argparse
    import sys
    p = argparse.ArgumentParser(prog="ember report",
                                description="Rebuild a run's report.html, or compare runs.")
    p.add_argument("runs", nargs="+", help="run folders (runs/latest, runs/<run>, ...)")
    p.add_argument("--out", default=None,
                   help="where to write (default: the run's report.html; with several runs "
                        "./report-comparison.html)")
    a = p.parse_args(argv)
    for r in a.runs:
        if not os.path.isdir(r):
            print(f"ember report: error: no such run folder: {r}", file=sys.stderr)
            return 2
    out = a.out or (None if len(a.runs) == 1 else "report-comparison.html")
    try:
        path = write_report(a.runs[0], out, a.runs[1:])
    except (FileNotFoundError, ValueError, KeyError) as e:
        print(f"ember report: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0

#!/usr/bin/env python3
"""Draws `kflex bench --json` results as SVG bar charts (standard library only).

    ./kflex bench --json > results.jsonl
    bin/bench-plot.py results.jsonl docs/img

Writes OUTDIR/bench-per-unit.svg (time per iteration / node / request, log scale, one group
per suite, one bar per engine), OUTDIR/bench-vs-linux.svg (each engine's time over Linux's
JIT on the same suite; 1.0 = parity) when Linux rows are present, and OUTDIR/bench-paired.svg
(the paired A/B ratios of `--pair` rows, with their bootstrap 95% intervals) when there are any.
Several files may be given before OUTDIR; their rows are read in order.
"""
import json
import math
import sys
from xml.sax.saxutils import escape

COLORS = {"interpreter": "#9e9e9e", "jit": "#1f77b4", "jit-uninstrumented": "#aec7e8",
          "java": "#2ca02c", "linux": "#ff7f0e"}
W, H, LEFT, RIGHT, TOP, BOTTOM = 860, 420, 70, 20, 40, 90


def load(paths):
    rows = [dict(json.loads(line), _file=k) for k, path in enumerate(paths) for line in open(path) if line.strip().startswith("{")]
    return [r for r in rows if r.get("status") == "ok"]


def nice_step(span, most=10):
    """The smallest of 1, 2 or 5 times a power of ten that divides span into at most `most` steps."""
    base = 10 ** math.floor(math.log10(span / most))
    return next(m * base for m in (1, 2, 5, 10) if span / (m * base) <= most)


def tick_label(t, step):
    return f"{t:.{max(0, -math.floor(math.log10(step)))}f}"


def paired_svg(rows):
    """One group per suite, one bar per (A/B pair, file): the median ratio, its 95% interval as a whisker."""
    files = sorted({r["_file"] for r in rows})
    pairs = list(dict.fromkeys(f'{r["a"]}/{r["b"]}' for r in rows))
    suites = list(dict.fromkeys(r["suite"] for r in rows))
    by = {(r["suite"], f'{r["a"]}/{r["b"]}', r["_file"]): r for r in rows}
    bars = [(p, f) for p in pairs for f in files]
    lo = min(0.9, min(r["ratio_ci95_low"] for r in rows) - 0.02)
    hi = max(1.1, max(r["ratio_ci95_high"] for r in rows) + 0.02)
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    y = lambda v: TOP + plot_h * (1 - (v - lo) / (hi - lo))
    title = "Paired A/B ratio (median of round-pair ratios, 95% interval; dashed: 1.00 and 1.03)"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>']
    step = nice_step(hi - lo)
    for k in range(math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9) + 1):
        t = k * step
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#e0e0e0"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{tick_label(t, step)}</text>')
    for ref, color in ((1.0, "#555"), (1.03, "#d62728")):
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(ref):.1f}" y2="{y(ref):.1f}" stroke="{color}" stroke-dasharray="5,4"/>')
    group_w = plot_w / len(suites)
    bar_w = group_w * 0.8 / len(bars)
    shades = ["#1f77b4", "#6baed6", "#ff7f0e", "#fdae6b", "#2ca02c", "#98df8a"]
    for gi, suite in enumerate(suites):
        for bi, (pair, f) in enumerate(bars):
            r = by.get((suite, pair, f))
            if r is None:
                continue
            cx = LEFT + gi * group_w + group_w * 0.1 + (bi + 0.5) * bar_w
            ratio, low, high = r["ratio"], r["ratio_ci95_low"], r["ratio_ci95_high"]
            base, top = y(1.0), y(ratio)
            out.append(f'<rect x="{cx - bar_w * 0.4:.1f}" y="{min(base, top):.1f}" width="{bar_w * 0.8:.1f}" '
                       f'height="{max(abs(base - top), 1):.1f}" fill="{shades[bi % len(shades)]}">'
                       f'<title>{escape(suite)} {escape(pair)}: {ratio:.4f} ({low:.4f}-{high:.4f})</title></rect>')
            out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(low):.1f}" y2="{y(high):.1f}" stroke="black"/>')
            for v in (low, high):
                out.append(f'<line x1="{cx - 4:.1f}" x2="{cx + 4:.1f}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="black"/>')
            out.append(f'<text x="{cx:.1f}" y="{y(high) - 4:.1f}" text-anchor="middle" font-size="9">{ratio:.3f}</text>')
        out.append(f'<text x="{LEFT + (gi + 0.5) * group_w:.1f}" y="{TOP + plot_h + 18}" text-anchor="middle" font-size="11">'
                   f'{escape(suite)}</text>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="black"/>')
    out.append(f'<text x="16" y="{TOP + plot_h / 2}" transform="rotate(-90 16 {TOP + plot_h / 2})" text-anchor="middle">A / B</text>')
    lx = LEFT
    for bi, (pair, f) in enumerate(bars):
        name = pair + (f" (file {files.index(f) + 1})" if len(files) > 1 else "")
        out.append(f'<rect x="{lx}" y="{H - 30}" width="12" height="12" fill="{shades[bi % len(shades)]}"/>')
        out.append(f'<text x="{lx + 16}" y="{H - 20}">{escape(name)}</text>')
        lx += 28 + 7 * len(name)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def svg(title, groups, engines, value, axis_label, log, reference=None):
    """groups: ordered suite names; value(suite, engine) -> float or None."""
    values = [v for g in groups for e in engines if (v := value(g, e)) is not None and v > 0]
    if not values:
        return None
    if log:
        lo = 10 ** math.floor(math.log10(min(values)))
        hi = 10 ** math.ceil(math.log10(max(values)))
        scale = lambda v: (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        ticks = [10 ** k for k in range(int(math.log10(lo)), int(math.log10(hi)) + 1)]
    else:
        hi = max(values + [reference or 0]) * 1.15
        lo = 0
        scale = lambda v: v / hi
        step = nice_step(hi)
        ticks = [i * step for i in range(int(hi / step + 1e-9) + 1)]
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    y = lambda v: TOP + plot_h * (1 - scale(v))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>']
    for t in ticks:
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#e0e0e0"/>')
        label = f"{t:g}" if log else tick_label(t, step)
        out.append(f'<text x="{LEFT - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{label}</text>')
    out.append(f'<text x="16" y="{TOP + plot_h / 2}" transform="rotate(-90 16 {TOP + plot_h / 2})" '
               f'text-anchor="middle">{escape(axis_label)}</text>')
    group_w = plot_w / len(groups)
    bar_w = group_w * 0.8 / len(engines)
    for gi, g in enumerate(groups):
        x0 = LEFT + gi * group_w + group_w * 0.1
        for ei, e in enumerate(engines):
            v = value(g, e)
            if v is None or v <= 0:
                continue
            top = y(v)
            base = TOP + plot_h
            x = x0 + ei * bar_w
            out.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="{bar_w - 2:.1f}" height="{base - top:.1f}" '
                       f'fill="{COLORS.get(e, "#777")}"><title>{escape(g)} {escape(e)}: {v:.3g}</title></rect>')
            shown = f"{v:,.0f}" if v >= 1000 else f"{v:.3g}"
            out.append(f'<text x="{x + bar_w / 2 - 1:.1f}" y="{top - 3:.1f}" text-anchor="middle" font-size="9">{shown}</text>')
        out.append(f'<text x="{LEFT + (gi + 0.5) * group_w:.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">{escape(g)}</text>')
    if reference is not None:
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(reference):.1f}" y2="{y(reference):.1f}" '
                   f'stroke="#d62728" stroke-dasharray="5,4"/>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="black"/>')
    out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="black"/>')
    lx = LEFT
    for e in engines:
        out.append(f'<rect x="{lx}" y="{H - 30}" width="12" height="12" fill="{COLORS.get(e, "#777")}"/>')
        out.append(f'<text x="{lx + 16}" y="{H - 20}">{escape(e)}</text>')
        lx += 28 + 7 * len(e)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    outdir = argv[-1]
    everything = load(argv[1:-1])
    pairs = [r for r in everything if r.get("kind") == "pair"]
    rows = [r for r in everything if "engine" in r]
    groups = list(dict.fromkeys(r["suite"] for r in rows))
    engines = [e for e in COLORS if any(r["engine"] == e for r in rows)]
    by = {(r["suite"], r["engine"]): r for r in rows}
    units = {r["suite"]: r["unit"] for r in rows}
    per_unit = svg("Time per unit of work (" + ", ".join(sorted(set(units.values()))) + "), median, log scale",
                   groups, engines, lambda g, e: by.get((g, e), {}).get("ns_per_unit"), "ns per unit", True)
    if per_unit:
        with open(f"{outdir}/bench-per-unit.svg", "w") as f:
            f.write(per_unit)
    if "linux" in engines:
        compared = [e for e in engines if e not in ("linux", "interpreter")]
        with_linux = [g for g in groups if (g, "linux") in by]
        vs = svg("Time relative to Linux's JIT on the same object (1.0 = parity, lower is faster)", with_linux, compared,
                 lambda g, e: by.get((g, e), {}).get("vs_linux"), "x Linux", False, reference=1.0)
        with open(f"{outdir}/bench-vs-linux.svg", "w") as f:
            f.write(vs)
    if pairs:
        with open(f"{outdir}/bench-paired.svg", "w") as f:
            f.write(paired_svg(pairs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

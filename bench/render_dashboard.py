"""Draws a Grafana dashboard JSON from Prometheus' answers to its queries, into a PNG.

usage: render_dashboard.py PROMETHEUS_URL DASHBOARD_JSON START END OUT_PNG
Timeseries panels use query_range over [START, END]; bargauge and table panels the instant value at END.
"""
import json
import re
import sys
import urllib.parse
import urllib.request
from datetime import datetime, timezone

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

prom, dash_path, start, end, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
dash = json.load(open(dash_path))
BG, PANEL, TEXT, GRID = "#111217", "#181b1f", "#ccccdc", "#2c3235"
COLORS = ["#73bf69", "#f2cc0c", "#5794f2", "#ff9830", "#f2495c", "#b877d9", "#8ab8ff", "#96d98d", "#ffb357", "#ff7383"]


def query(path, params):
    with urllib.request.urlopen(f"{prom}{path}?{urllib.parse.urlencode(params)}") as r:
        body = json.load(r)
    if body["status"] != "success":
        raise RuntimeError(body)
    return body["data"]["result"]


def legend(fmt, metric):
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: metric.get(m.group(1), ""), fmt or "") or json.dumps(metric)


def fmt_value(v, unit):
    if unit == "percentunit":
        return f"{v * 100:.1f}%"
    if unit == "s":
        return f"{v:.3f} s" if v < 60 else f"{v / 60:.1f} min"
    if unit == "Bps":
        return f"{v / 1024:.1f} KiB/s"
    if unit in ("ops", "reqps"):
        return f"{v:.1f}/s"
    return f"{v:.1f}" if v < 100 else f"{v:,.0f}"


# Grafana's variables: every API root, and a rate window that suits a short load run.
expr_of = lambda t: t["expr"].replace("$api_root", ".*").replace("$__rate_interval", "30s")
cols, row_h = 24, 1.0
max_y = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dash["panels"])
fig = plt.figure(figsize=(20, max_y * 0.42 + 0.8), facecolor=BG)
fig.suptitle(f'{dash["title"]}  ·  {datetime.fromtimestamp(start, timezone.utc):%Y-%m-%d %H:%M}–{datetime.fromtimestamp(end, timezone.utc):%H:%M} UTC  ·  rendered from Prometheus', color=TEXT, fontsize=13, x=0.01, ha="left")
H = max_y + 1
for p in dash["panels"]:
    g = p["gridPos"]
    ax = fig.add_axes([g["x"] / cols + 0.004, 1 - (g["y"] + g["h"]) / H - 0.004, g["w"] / cols - 0.008, g["h"] / H - 0.03], facecolor=PANEL)
    ax.set_title(p["title"], color=TEXT, fontsize=10, loc="left")
    for s in ax.spines.values():
        s.set_color(GRID)
    ax.tick_params(colors=TEXT, labelsize=7)
    unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
    if p["type"] == "timeseries":
        i = 0
        for t in p["targets"]:
            for series in query("/api/v1/query_range", {"query": expr_of(t), "start": start, "end": end, "step": 5}):
                xs = [datetime.fromtimestamp(float(ts), timezone.utc) for ts, _ in series["values"]]
                ys = [float(v) for _, v in series["values"]]
                ax.plot(xs, ys, color=COLORS[i % len(COLORS)], linewidth=1.2, label=legend(t.get("legendFormat"), series["metric"]))
                i += 1
        ax.grid(color=GRID, linewidth=0.5)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _, u=unit: fmt_value(v, u)))
        if i:
            ax.legend(fontsize=6, loc="upper left", facecolor=PANEL, edgecolor=GRID, labelcolor=TEXT, ncol=2 if i > 4 else 1)
    else:
        rows = []
        for t in p["targets"]:
            for series in query("/api/v1/query", {"query": expr_of(t), "time": end}):
                rows.append((legend(t.get("legendFormat") or "{{api_root}} {{principal}}", series["metric"]), float(series["value"][1])))
        if p["type"] == "bargauge":
            rows.sort(key=lambda r: r[1])
            ax.barh([r[0] for r in rows], [r[1] for r in rows], color=COLORS[2])
            for yi, (_, v) in enumerate(rows):
                ax.text(v, yi, f" {fmt_value(v, unit)}", va="center", color=TEXT, fontsize=7)
            ax.grid(axis="x", color=GRID, linewidth=0.5)
        else:
            ax.axis("off")
            lines = [f"{name:<40} {fmt_value(v, unit):>12}" for name, v in rows[:12]]
            ax.text(0.02, 0.95, "consumer                                  since last poll\n" + "\n".join(lines), va="top", family="monospace", color=TEXT, fontsize=8, transform=ax.transAxes)
fig.savefig(out, dpi=80, facecolor=BG)
print(f"wrote {out}")

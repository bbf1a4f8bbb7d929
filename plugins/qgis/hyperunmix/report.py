"""The HTML report of an unmix run, built from its side outputs: OUT.report.json, OUT.endmembers.csv, OUT and
OUT.abundances.png. One self-contained file (inline SVG and data: images) for the Results Viewer or a browser."""
import base64
import csv
import html
import json
import math
import os
import uuid

from osgeo import gdal

PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324", "#808000", "#000075"]
VIRIDIS_RELIEF = "nv 0 0 0 0\n0 68 1 84 255\n0.25 59 82 139 255\n0.5 33 145 140 255\n0.75 94 201 98 255\n1 253 231 37 255\n"


def read_endmember_csv(path):
    """(x label, x values, {name: values}) from a 'band,wavelength,EM...' CSV; x is the wavelength when every row has one."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], [r for r in rows[1:] if r]
    names = header[2:]
    spectra = {name: [float(r[i + 2]) for r in body] for i, name in enumerate(names)}
    try:
        wavelengths = [float(r[1]) for r in body]
        if len(set(wavelengths)) != len(wavelengths):
            raise ValueError
        return "Wavelength", wavelengths, spectra
    except (ValueError, IndexError):
        return "Band", [float(r[0]) for r in body], spectra


def _ticks(low, high, count=5):
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def endmember_svg(x_label, xs, spectra, y_label="Value (input units x scale)", width=640, height=340):
    left, right, top, bottom = 70, 150, 20, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    x_min, x_max = min(xs), max(xs)
    values = [v for s in spectra.values() for v in s if math.isfinite(v)]
    y_min, y_max = (min(values), max(values)) if values else (0.0, 1.0)
    y_min = min(y_min, 0.0)
    if x_max <= x_min:
        x_max = x_min + 1
    if y_max <= y_min:
        y_max = y_min + 1
    sx = lambda x: left + (x - x_min) / (x_max - x_min) * plot_w  # noqa: E731
    sy = lambda y: top + plot_h - (y - y_min) / (y_max - y_min) * plot_h  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'font-family="sans-serif" font-size="11" role="img" aria-label="Endmember spectra">',
           f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#444"/>']
    for t in _ticks(x_min, x_max):
        if x_min <= t <= x_max:
            out.append(f'<line x1="{sx(t):.1f}" y1="{top + plot_h}" x2="{sx(t):.1f}" y2="{top + plot_h + 5}" stroke="#444"/>'
                       f'<text x="{sx(t):.1f}" y="{top + plot_h + 17}" text-anchor="middle">{t:g}</text>')
    for t in _ticks(y_min, y_max):
        if y_min <= t <= y_max:
            out.append(f'<line x1="{left - 5}" y1="{sy(t):.1f}" x2="{left}" y2="{sy(t):.1f}" stroke="#444"/>'
                       f'<text x="{left - 8}" y="{sy(t) + 4:.1f}" text-anchor="end">{t:g}</text>')
    out.append(f'<text class="x-label" x="{left + plot_w / 2:.1f}" y="{height - 10}" text-anchor="middle">{html.escape(x_label)}</text>')
    out.append(f'<text class="y-label" transform="translate(16,{top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle">{html.escape(y_label)}</text>')
    for i, (name, ys) in enumerate(spectra.items()):
        colour = PALETTE[i % len(PALETTE)]
        points = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys) if math.isfinite(y))
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"><title>{html.escape(name)}</title></polyline>')
        ly = top + 10 + i * 16
        out.append(f'<line x1="{left + plot_w + 12}" y1="{ly}" x2="{left + plot_w + 32}" y2="{ly}" stroke="{colour}" stroke-width="3"/>'
                   f'<text class="legend" x="{left + plot_w + 38}" y="{ly + 4}">{html.escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _png_data_uri(data):
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _read_vsimem(path):
    handle = gdal.VSIFOpenL(path, "rb")
    try:
        gdal.VSIFSeekL(handle, 0, 2)
        size = gdal.VSIFTellL(handle)
        gdal.VSIFSeekL(handle, 0, 0)
        return gdal.VSIFReadL(1, size, handle)
    finally:
        gdal.VSIFCloseL(handle)
        gdal.Unlink(path)


def band_thumbnail(dataset, band, size=192):
    """One band as a PNG (viridis over [0, 1], nodata transparent), at most size pixels on its longer side."""
    scale = min(1.0, size / max(dataset.RasterXSize, dataset.RasterYSize))
    width, height = max(1, round(dataset.RasterXSize * scale)), max(1, round(dataset.RasterYSize * scale))
    tag = uuid.uuid4().hex
    small, ramp, png = f"/vsimem/{tag}.tif", f"/vsimem/{tag}.txt", f"/vsimem/{tag}.png"
    gdal.Translate(small, dataset, bandList=[band], width=width, height=height, resampleAlg="average")
    gdal.FileFromMemBuffer(ramp, VIRIDIS_RELIEF)
    try:
        gdal.DEMProcessing(png, small, "color-relief", colorFilename=ramp, format="PNG", addAlpha=True)
        return _read_vsimem(png)
    finally:
        gdal.Unlink(small)
        gdal.Unlink(ramp)


def _rows(pairs):
    return "\n".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in pairs if v not in (None, ""))


def write(path, output, title, command_line=""):
    """Writes the report of the run whose abundance raster is output; returns path."""
    stem = os.path.splitext(output)[0]
    with open(stem + ".report.json", encoding="utf-8") as f:
        run = json.load(f)
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:2px 6px;text-align:left}"
             ".thumbs{display:flex;flex-wrap:wrap;gap:12px}.thumbs figure{margin:0}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    names = (run.get("endmembers") or {}).get("names") or []
    if os.path.exists(stem + ".endmembers.csv"):
        x_label, xs, spectra = read_endmember_csv(stem + ".endmembers.csv")
        parts += ["<h2>Endmember spectra</h2>", endmember_svg(x_label, xs, spectra)]
        names = names or list(spectra)
    dataset = gdal.Open(output)
    parts.append("<h2>Abundances</h2><p>Each endmember over [0, 1] (dark violet 0, yellow 1; transparent: nodata).</p><div class=\"thumbs\">")
    for band in range(1, dataset.RasterCount):
        name = dataset.GetRasterBand(band).GetDescription() or (names[band - 1] if band <= len(names) else f"EM{band}")
        stats = dataset.GetRasterBand(band).ComputeStatistics(True)
        parts.append(f"<figure><img width=\"192\" style=\"image-rendering:pixelated\" alt=\"{html.escape(name)}\" src=\"{_png_data_uri(band_thumbnail(dataset, band))}\">"
                     f"<figcaption>{html.escape(name)}: mean {stats[2]:.3f}, max {stats[1]:.3f}</figcaption></figure>")
    parts.append("</div>")
    residual = dataset.GetRasterBand(dataset.RasterCount)
    residual_stats = residual.ComputeStatistics(True)
    dataset = None
    if os.path.exists(stem + ".abundances.png"):
        with open(stem + ".abundances.png", "rb") as f:
            parts.append(f"<h3>Quick-look of the command</h3><img alt=\"abundances quick-look\" src=\"{_png_data_uri(f.read())}\">")
    source = run.get("input") or {}
    parameters = run.get("parameters") or {}
    endmembers = run.get("endmembers") or {}
    pixels = run.get("pixels") or {}
    seconds = run.get("seconds") or {}
    summary = [
        ("Input", source.get("path")),
        ("Size", f"{source.get('width')} x {source.get('height')} pixels, {source.get('bands')} bands" if source else None),
        ("Method", parameters.get("method")),
        ("Endmembers", f"{len(names)}: {', '.join(names)}"),
        ("Endmember source", endmembers.get("source")),
        ("Valid pixels", f"{pixels.get('valid')} of {pixels.get('total')}" if pixels else None),
        ("Residual RMSE", f"mean {residual_stats[2]:.4g}, max {residual_stats[1]:.4g}"),
        ("Seed", parameters.get("seed")),
        ("Scale", parameters.get("input_scale")),
        ("Time", ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items()) if seconds else None),
        ("Software", ", ".join(f"{k} {v}" for k, v in (run.get("software") or {}).items())),
        ("Command", command_line),
        ("Abundance raster", output),
    ]
    parts += ["<h2>Run summary</h2><table>", _rows(summary), "</table>"]
    if run.get("deep_model"):
        parts += ["<h3>Deep model</h3><pre>", html.escape(json.dumps(run["deep_model"], indent=1)[:4000]), "</pre>"]
    if run.get("metrics"):
        parts += ["<h3>Metrics</h3><pre>", html.escape(json.dumps(run["metrics"], indent=1)[:4000]), "</pre>"]
    parts.append("</body></html>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    return path

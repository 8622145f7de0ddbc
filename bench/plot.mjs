// A small SVG line chart, written by hand (no chart dependency): stacked panels sharing the time
// axis, each with its own y scale and legend, so a reader sees a run rather than reads it.
//   svgChart({ title, subtitle, xLabel, panels: [{ yLabel, series: [{ name, color, points: [[x, y], …] }] }] })

const W = 900;
const PANEL_H = 220;
const M = { left: 70, right: 20, top: 56, gap: 46, bottom: 44 };

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** 1, 2, 5 × 10^k steps giving about `count` ticks over [0, max]. */
export function niceTicks(max, count = 5) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks = [];
  for (let v = 0; v <= max + step * 0.999; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
  return ticks;
}

const fmt = (v) => (v >= 10_000 ? `${Math.round(v / 1000)}k` : v >= 1000 ? `${(v / 1000).toFixed(1)}k` : String(Math.round(v * 10) / 10));

export function svgChart({ title, subtitle = "", xLabel = "seconds", panels }) {
  const H = M.top + panels.length * PANEL_H + (panels.length - 1) * M.gap + M.bottom;
  const plotW = W - M.left - M.right;
  const allX = panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x)));
  const xMax = Math.max(1, ...allX);
  const xTicks = niceTicks(xMax, 8);
  const xEnd = xTicks.at(-1);
  const sx = (x) => M.left + (x / xEnd) * plotW;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="22" font-size="16" font-weight="bold">${esc(title)}</text>`,
    `<text x="${M.left}" y="40" fill="#555">${esc(subtitle)}</text>`,
  ];
  panels.forEach((panel, i) => {
    const top = M.top + i * (PANEL_H + M.gap);
    const bottom = top + PANEL_H;
    const yMax = Math.max(0, ...panel.series.flatMap((s) => s.points.map(([, y]) => y).filter(Number.isFinite)));
    const yTicks = niceTicks(yMax);
    const yEnd = yTicks.at(-1);
    const sy = (y) => bottom - (y / yEnd) * PANEL_H;
    for (const t of yTicks) {
      out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${sy(t)}" y2="${sy(t)}" stroke="#e5e5e5"/>`);
      out.push(`<text x="${M.left - 6}" y="${sy(t) + 4}" text-anchor="end" fill="#333">${fmt(t)}</text>`);
    }
    for (const t of xTicks) {
      out.push(`<line x1="${sx(t)}" x2="${sx(t)}" y1="${top}" y2="${bottom}" stroke="#f0f0f0"/>`);
      out.push(`<text x="${sx(t)}" y="${bottom + 16}" text-anchor="middle" fill="#333">${fmt(t)}</text>`);
    }
    out.push(`<rect x="${M.left}" y="${top}" width="${plotW}" height="${PANEL_H}" fill="none" stroke="#999"/>`);
    out.push(
      `<text transform="translate(16 ${top + PANEL_H / 2}) rotate(-90)" text-anchor="middle" fill="#333">${esc(panel.yLabel)}</text>`,
    );
    let lx = M.left + 10;
    for (const s of panel.series) {
      const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
      if (pts.length > 0) {
        const d = pts.map(([x, y], k) => `${k === 0 ? "M" : "L"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
        out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/>`);
      }
      out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${top + 14}" y2="${top + 14}" stroke="${s.color}" stroke-width="2.5"/>`);
      out.push(`<text x="${lx + 28}" y="${top + 18}" fill="#222">${esc(s.name)}</text>`);
      lx += 28 + s.name.length * 7 + 24; // about 7 px per character at 12 px
    }
  });
  out.push(`<text x="${M.left + plotW / 2}" y="${H - 8}" text-anchor="middle" fill="#333">${esc(xLabel)}</text>`);
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

// The benchmark chart as a hand-written SVG: two bar panels (req/s and p99) with one group per
// variant and one bar per endpoint. No charting dependency: the figure is simple, and the SVG
// stays small and diffable.

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759'];
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';

const esc = (s) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );

/** A 1-2-5 tick step giving about `count` ticks up to `max`. */
function tickStep(max, count = 5) {
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
}

const fmt = (v) =>
  v === 0 ? '0' : v >= 100 ? Math.round(v).toString() : v >= 10 ? v.toFixed(1) : v.toFixed(2);
const px = (v) => v.toFixed(1);

function panel({ x0, width, top, height, title, metric, summary, variants, endpoints }) {
  const out = [];
  const values = variants.flatMap((v) => endpoints.map((ep) => summary[v.id]?.[ep]?.[metric]));
  const finite = values.filter(Number.isFinite);
  const step = tickStep(finite.length ? Math.max(...finite) : 1);
  const max = step * Math.ceil((finite.length ? Math.max(...finite) : 1) / step);
  const y = (v) => top + height - (v / max) * height;
  const left = x0 + 48;
  const plotW = width - 56;
  out.push(
    `<text x="${x0 + width / 2}" y="${top - 40}" text-anchor="middle" font-size="14" font-weight="600">${esc(title)}</text>`,
  );
  for (let t = 0; t <= max + step / 2; t += step) {
    out.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${px(y(t))}" y2="${px(y(t))}" stroke="#ddd"/>`,
    );
    out.push(
      `<text x="${left - 6}" y="${px(y(t) + 4)}" text-anchor="end" font-size="10" fill="#555">${fmt(t)}</text>`,
    );
  }
  const gw = plotW / variants.length;
  const bw = Math.min(22, (gw * 0.8) / endpoints.length);
  variants.forEach((v, i) => {
    const gx = left + i * gw + (gw - bw * endpoints.length) / 2;
    let drawn = 0;
    endpoints.forEach((ep, j) => {
      const value = summary[v.id]?.[ep]?.[metric];
      if (!Number.isFinite(value)) return;
      drawn++;
      const bx = gx + j * bw;
      out.push(
        `<rect x="${px(bx)}" y="${px(y(value))}" width="${px(bw - 2)}" height="${px(top + height - y(value))}" fill="${COLORS[j % COLORS.length]}"><title>${esc(`${v.id} ${ep}: ${fmt(value)}`)}</title></rect>`,
      );
      // Rotated so that five-digit values fit over a 20 px bar.
      const lx = bx + (bw - 2) / 2 + 3;
      const ly = y(value) - 4;
      out.push(
        `<text x="${px(lx)}" y="${px(ly)}" transform="rotate(-90 ${px(lx)} ${px(ly)})" font-size="9" fill="#333">${fmt(value)}</text>`,
      );
    });
    if (drawn === 0) {
      out.push(
        `<text x="${px(left + i * gw + gw / 2)}" y="${top + height - 6}" text-anchor="middle" font-size="10" fill="#999">n/a</text>`,
      );
    }
    out.push(
      `<text x="${px(left + i * gw + gw / 2)}" y="${top + height + 16}" text-anchor="middle" font-size="12">${esc(v.id)}</text>`,
    );
  });
  out.push(
    `<line x1="${left}" x2="${left + plotW}" y1="${top + height}" y2="${top + height}" stroke="#333"/>`,
  );
  return out.join('\n');
}

/** The whole SVG document. `subtitle` says when and how the numbers were taken. */
export function renderChart({ summary, variants, endpoints, subtitle }) {
  const width = 960;
  const top = 90;
  const height = 260;
  const legendTop = top + height + 50;
  const keyLines = Math.ceil(variants.length / 2);
  const total = legendTop + 24 + keyLines * 16 + 10;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${total}" viewBox="0 0 ${width} ${total}" ${FONT}>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="16" y="22" font-size="12" fill="#555">${esc(subtitle)}</text>`,
    panel({
      x0: 10,
      width: 460,
      top,
      height,
      title: 'Requests per second (median; higher is better)',
      metric: 'rps',
      summary,
      variants,
      endpoints,
    }),
    panel({
      x0: 490,
      width: 460,
      top,
      height,
      title: 'p99 latency in ms (median; lower is better)',
      metric: 'p99',
      summary,
      variants,
      endpoints,
    }),
  ];
  endpoints.forEach((ep, j) => {
    const x = 58 + j * 110;
    parts.push(
      `<rect x="${x}" y="${legendTop - 10}" width="12" height="12" fill="${COLORS[j % COLORS.length]}"/>`,
    );
    parts.push(`<text x="${x + 18}" y="${legendTop}" font-size="12">GET ${esc(ep)}</text>`);
  });
  variants.forEach((v, i) => {
    const x = 58 + Math.floor(i / keyLines) * 450;
    const yy = legendTop + 24 + (i % keyLines) * 16;
    parts.push(
      `<text x="${x}" y="${yy}" font-size="11"><tspan font-weight="600">${esc(v.id)}</tspan>  ${esc(v.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

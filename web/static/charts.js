// Horizontal bar charts drawn as SVG by hand: signed (contributions) or plain (importance).

const SVG = "http://www.w3.org/2000/svg";
const ROW = 24;
const LABEL = 210;
const WIDTH = 640;
const VALUE = 70;

function node(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

// entries: [[label, value], ...] in display order. Signed charts grow right for
// positive values and left for negative ones, from a centre axis.
export function barChart(container, entries, {signed = false, title = "", positive = "", negative = ""} = {}) {
  container.replaceChildren();
  if (title) container.append(Object.assign(document.createElement("h3"), {textContent: title}));
  const height = entries.length * ROW + 28;
  const svg = node("svg", {viewBox: `0 0 ${WIDTH} ${height}`, width: "100%", role: "img", "aria-label": title});
  const plot = WIDTH - LABEL - VALUE;
  const largest = Math.max(...entries.map(([, v]) => Math.abs(v)), 1e-12);
  const zero = signed ? LABEL + plot / 2 : LABEL;
  const scale = (signed ? plot / 2 : plot) / largest;
  entries.forEach(([label, value], i) => {
    const y = i * ROW + 4;
    const length = Math.abs(value) * scale;
    const x = value >= 0 ? zero : zero - length;
    const kind = !signed ? "plain" : value >= 0 ? "positive" : "negative";
    svg.append(node("text", {x: LABEL - 8, y: y + 15, "text-anchor": "end", class: "label"}, label));
    const bar = node("rect", {x, y, width: Math.max(length, 1), height: ROW - 6, class: `bar ${kind}`});
    bar.append(node("title", {}, `${label}: ${value.toFixed(4)}`));
    svg.append(bar);
    svg.append(node("text", {x: WIDTH - 4, y: y + 15, "text-anchor": "end", class: "value"},
      (signed && value > 0 ? "+" : "") + value.toFixed(3)));
  });
  svg.append(node("line", {x1: zero, x2: zero, y1: 0, y2: entries.length * ROW + 2, class: "axis"}));
  if (signed) {
    const y = entries.length * ROW + 20;
    svg.append(node("text", {x: zero - 6, y, "text-anchor": "end", class: "legend negative"}, `◀ ${negative}`));
    svg.append(node("text", {x: zero + 6, y, class: "legend positive"}, `${positive} ▶`));
  }
  container.append(svg);
}

// The largest absolute values first, at most `limit` of them.
export function largest(mapping, limit) {
  return Object.entries(mapping).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).slice(0, limit);
}

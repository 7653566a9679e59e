// Horizontal bar charts drawn as SVG by hand: signed (contributions) or plain (importance).
// The chart is drawn at the width its box has, one SVG unit per pixel, so its text stays
// 12 px on a phone; on a narrow box each label sits on its own line above its bar.

const SVG = "http://www.w3.org/2000/svg";
const MAX_WIDTH = 720;
const MIN_WIDTH = 260;
const STACK_BELOW = 560; // px: narrower charts put labels above the bars
const VALUE = 56; // px for the number at the right end of each row
const CHAR = 7.5; // px per character of 12 px text, when it cannot be measured

function node(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

// A row's label, and its note (the applicant's value) after it in a lighter tone.
function labelText(attributes, {label, note}) {
  const text = node("text", {...attributes, class: "label"}, label);
  if (note !== undefined) text.append(node("tspan", {class: "note"}, `  ${note}`));
  return text;
}

// The width of the widest label as the page's font draws it (an estimate if the box is not displayed).
function widest(container, entries) {
  const probe = node("svg", {width: 0, height: 0});
  const texts = entries.map((entry) => labelText({}, entry));
  probe.append(...texts);
  container.append(probe);
  const measured = Math.max(0, ...texts.map((text) => text.getComputedTextLength()));
  probe.remove();
  return measured || Math.max(0, ...entries.map(({label, note = ""}) => (label.length + note.length + 2) * CHAR));
}

// entries: [{label, value, note, flagged}, ...] in display order (note and flagged are optional; a
// flagged bar is drawn in the warning colour). Signed charts grow right for positive values and left for
// negative ones, from a centre axis. marker: {value, label} draws a dashed line at that value (a threshold);
// cap: values beyond it are drawn at its length (their number still says how far), so one huge value
// does not flatten the others.
export function barChart(container, entries, {signed = false, title = "", caption = "", positive = "",
  negative = "", marker = null, cap = Infinity} = {}) {
  container.replaceChildren();
  if (title) container.append(Object.assign(document.createElement("h3"), {textContent: title}));
  if (caption) container.append(Object.assign(document.createElement("p"), {textContent: caption, className: "muted"}));
  const width = Math.round(Math.min(MAX_WIDTH, Math.max(container.clientWidth, MIN_WIDTH)));
  const stacked = width < STACK_BELOW;
  const labelWidth = stacked ? 0 : Math.min(Math.ceil(widest(container, entries)) + 14, width * 0.5);
  const row = stacked ? 38 : 24;
  const barTop = stacked ? 18 : 3; // within a row
  const barHeight = stacked ? 14 : 18;
  const top = marker ? 16 : 0; // room for the marker's label above the rows
  const height = top + entries.length * row + (signed ? 28 : 6); // room for the legend under a signed chart
  const svg = node("svg", {viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": title});
  const plot = width - labelWidth - VALUE;
  const largest = Math.min(cap,
    Math.max(...entries.map(({value}) => Math.abs(value)), marker ? marker.value * 1.1 : 0, 1e-12));
  const zero = signed ? labelWidth + plot / 2 : labelWidth;
  const scale = (signed ? plot / 2 : plot) / largest;
  entries.forEach((entry, i) => {
    const {label, value} = entry;
    const y = top + i * row;
    const length = Math.min(Math.abs(value), largest) * scale;
    const x = value >= 0 ? zero : zero - length;
    const kind = entry.flagged ? "flagged" : !signed ? "plain" : value >= 0 ? "positive" : "negative";
    svg.append(stacked ? labelText({x: 0, y: y + 13}, entry)
      : labelText({x: labelWidth - 8, y: y + barTop + 13, "text-anchor": "end"}, entry));
    const bar = node("rect", {x, y: y + barTop, width: Math.max(length, 1), height: barHeight, class: `bar ${kind}`});
    bar.append(node("title", {}, `${label}: ${value.toFixed(4)}`));
    svg.append(bar);
    svg.append(node("text", {x: width - 4, y: y + barTop + barHeight - 3, "text-anchor": "end", class: "value"},
      (signed && value > 0 ? "+" : "") + value.toFixed(3)));
  });
  // Stacked, the axis is drawn beside each bar only, so it never crosses a label.
  const spans = stacked ? entries.map((_, i) => [top + i * row + barTop - 2, top + i * row + barTop + barHeight + 2])
    : [[top, top + entries.length * row + 2]];
  for (const [y1, y2] of spans) svg.append(node("line", {x1: zero, x2: zero, y1, y2, class: "axis"}));
  if (marker) {
    // Like the axis: beside each bar only when labels sit above the bars.
    const x = zero + marker.value * scale;
    for (const [y1, y2] of spans) svg.append(node("line", {x1: x, x2: x, y1, y2, class: "marker"}));
    svg.append(node("text", {x, y: 11, "text-anchor": "middle", class: "marker-label"}, marker.label));
  }
  if (signed) {
    const y = top + entries.length * row + 20;
    svg.append(node("text", {x: zero - 6, y, "text-anchor": "end", class: "legend negative"}, `◀ ${negative}`));
    svg.append(node("text", {x: zero + 6, y, class: "legend positive"}, `${positive} ▶`));
  }
  container.append(svg);
}

// The largest absolute values first, at most `limit` of them.
export function largest(mapping, limit) {
  return Object.entries(mapping).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).slice(0, limit);
}

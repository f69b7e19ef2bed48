"use strict";
// The page of mnist_mlp.tools.explore. Every string from the data is put in the page as
// text (textContent, setAttribute), never parsed as markup.
const DATA = JSON.parse(document.getElementById("data").textContent);
const RUNS = DATA.runs;
const COLUMNS = DATA.columns;
const TABLE = [{ key: "name", label: "name" }, { key: "commit", label: "commit" }]
  .concat(COLUMNS.filter((c) => c.table));
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const MAX_PICKED = PALETTE.length;
const SVG = "http://www.w3.org/2000/svg";
const state = {
  sort: { key: "m:test_score", descending: true },
  text: "",
  ranges: {}, // column key -> {low, high} for numbers, {values: Set} for the rest
  picked: [], // run indices, each keeps its colour while picked
  colours: new Map(),
  epoch: null, // null: each run's last epoch
  timer: null,
};
const $ = (id) => document.getElementById(id);

function node(tag, attributes = {}, ...children) {
  const element = tag.startsWith("svg:")
    ? document.createElementNS(SVG, tag.slice(4))
    : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children.map((child) => (child instanceof Node ? child : String(child))));
  return element;
}

function value(run, key) {
  return key === "name" || key === "commit" ? run[key] : run.values[key] ?? null;
}

function format(x, key = "") {
  if (x === null || x === undefined) return "–";
  if (typeof x !== "number") return x;
  if (key.startsWith("m:")) return x.toFixed(4);
  return Number.isInteger(x) ? String(x) : String(+x.toPrecision(4));
}

function swatch(index) {
  return node("span", { class: "swatch", style: `background:${state.colours.get(index)}` });
}

// Filtering and sorting ------------------------------------------------------------------

const searchText = RUNS.map((run) =>
  [run.name, run.commit, ...Object.values(run.values)].join(" ").toLowerCase());

function passes(index) {
  if (state.text && !searchText[index].includes(state.text)) return false;
  for (const [key, range] of Object.entries(state.ranges)) {
    const x = value(RUNS[index], key);
    if (range.values ? !range.values.has(x) : x === null || x < range.low || x > range.high) {
      return false;
    }
  }
  return true;
}

function compare(a, b) {
  const { key, descending } = state.sort;
  const x = value(RUNS[a], key), y = value(RUNS[b], key);
  if (x === null || y === null) return (x === null) - (y === null);
  const order = typeof x === "number" && typeof y === "number"
    ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
  return descending ? -order : order;
}

function update() {
  const shown = RUNS.map((_, i) => i).filter(passes).sort(compare);
  renderRows(shown);
  renderParallel();
  $("summary").textContent = `${shown.length} of ${RUNS.length} runs shown, `
    + `${state.picked.length} picked (up to ${MAX_PICKED}).`;
}

// The table ------------------------------------------------------------------------------

function renderHead() {
  const head = node("tr");
  const ranges = node("tr", { class: "ranges" }, node("th"));
  head.append(node("th", {}, "pick"));
  for (const column of TABLE) {
    const arrow = state.sort.key === column.key ? (state.sort.descending ? " ▼" : " ▲") : "";
    const th = node("th", { title: column.title || column.label, "data-key": column.key },
      column.label + arrow);
    th.addEventListener("click", () => {
      const same = state.sort.key === column.key;
      state.sort = { key: column.key, descending: same ? !state.sort.descending : false };
      renderHead();
      update();
    });
    head.append(th);
    ranges.append(node("th", {}, ...(column.numeric ? rangeInputs(column.key) : [])));
  }
  $("runs").tHead.replaceChildren(head, ranges);
}

function rangeInputs(key) {
  const range = state.ranges[key] || {};
  return ["low", "high"].map((end) => {
    const input = node("input", { type: "number", step: "any", placeholder: end === "low" ? "min" : "max", "data-range": `${key}:${end}` });
    if (Number.isFinite(range[end])) input.value = String(+range[end].toPrecision(6));
    input.addEventListener("change", () => {
      const [low, high] = ["low", "high"].map((e) => input.parentNode
        .querySelector(`[data-range="${CSS.escape(`${key}:${e}`)}"]`).valueAsNumber);
      if (Number.isNaN(low) && Number.isNaN(high)) delete state.ranges[key];
      else state.ranges[key] = { low: Number.isNaN(low) ? -Infinity : low, high: Number.isNaN(high) ? Infinity : high };
      update();
    });
    return input;
  });
}

function renderRows(shown) {
  const full = state.picked.length >= MAX_PICKED;
  $("runs").tBodies[0].replaceChildren(...shown.map((index) => {
    const run = RUNS[index];
    const picked = state.picked.includes(index);
    const box = node("input", { type: "checkbox", "aria-label": `pick ${run.name}` });
    box.checked = picked;
    box.disabled = full && !picked;
    box.addEventListener("change", () => pick(index, box.checked));
    const row = node("tr", { "data-run": index }, node("td", {}, box));
    for (const column of TABLE) {
      const x = value(run, column.key);
      const cell = node("td", { class: typeof x === "number" ? "number" : "" });
      if (column.key === "name" && picked) cell.append(swatch(index));
      cell.append(format(x, column.key));
      row.append(cell);
    }
    return row;
  }));
}

function pick(index, on) {
  if (on && !state.picked.includes(index) && state.picked.length < MAX_PICKED) {
    const used = new Set(state.colours.values());
    state.colours.set(index, PALETTE.find((colour) => !used.has(colour)));
    state.picked.push(index);
  } else if (!on) {
    state.picked = state.picked.filter((i) => i !== index);
    state.colours.delete(index);
  }
  update();
  renderPicked();
}

// Parallel coordinates -------------------------------------------------------------------

const PAD = { top: 34, bottom: 34, side: 70 };
const HEIGHT = 300;

function axisScale(column) {
  const xs = RUNS.map((run) => value(run, column.key)).filter((x) => x !== null);
  const top = PAD.top, bottom = HEIGHT - PAD.bottom;
  if (!column.numeric) {
    const values = [...new Set(xs)].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    const step = (bottom - top) / Math.max(values.length, 1);
    const at = (x) => bottom - step * (values.indexOf(x) + 0.5);
    return { values, at, ticks: values.map((x) => [x, at(x)]) };
  }
  let low = Math.min(...xs), high = Math.max(...xs);
  const log = low > 0 && high / low >= 100;
  const f = log ? Math.log10 : (x) => x, g = log ? (y) => 10 ** y : (y) => y;
  if (low === high) { low -= Math.abs(low) || 1; high += Math.abs(high) || 1; }
  if (!xs.length) { low = 0; high = 1; }
  const at = (x) => bottom - ((f(x) - f(low)) / (f(high) - f(low))) * (bottom - top);
  const invert = (y) => g(f(low) + ((bottom - y) / (bottom - top)) * (f(high) - f(low)));
  return { at, invert, ticks: [[low, at(low)], [high, at(high)]] };
}

const scales = new Map(COLUMNS.map((column) => [column.key, axisScale(column)]));

function axisX(i, width) {
  return PAD.side + (i * (width - 2 * PAD.side)) / Math.max(COLUMNS.length - 1, 1);
}

function renderParallel() {
  const svg = $("parallel");
  const width = Math.max(svg.clientWidth || 1000, 120 * COLUMNS.length);
  svg.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);
  const missingY = HEIGHT - PAD.bottom + 16;
  const line = (run) => COLUMNS.map((column, i) => {
    const x = value(run, column.key);
    return `${i ? "L" : "M"}${axisX(i, width).toFixed(1)},${(x === null ? missingY : scales.get(column.key).at(x)).toFixed(1)}`;
  }).join("");
  const lines = node("svg:g", { fill: "none" });
  const layers = [[], [], []];
  RUNS.forEach((run, index) => {
    const colour = state.colours.get(index);
    const layer = colour ? 2 : passes(index) ? 1 : 0;
    const stroke = colour || (layer ? "#7890a8" : "#e4e4e4");
    layers[layer].push(node("svg:path", { d: line(run), stroke, "stroke-width": colour ? 2.5 : 1, "stroke-opacity": layer === 1 ? 0.55 : 1, "data-run": index }));
  });
  lines.append(...layers.flat());
  const axes = COLUMNS.map((column, i) => drawAxis(column, axisX(i, width), svg));
  svg.replaceChildren(lines, ...axes);
}

function drawAxis(column, x, svg) {
  const scale = scales.get(column.key);
  const group = node("svg:g", { "data-axis": column.key });
  const label = column.label.length > 18 ? column.label.slice(0, 17) + "…" : column.label;
  const title = node("svg:text", { x, y: 14, "text-anchor": "middle" }, label);
  title.append(node("svg:title", {}, column.title));
  group.append(title, node("svg:line", { x1: x, x2: x, y1: PAD.top, y2: HEIGHT - PAD.bottom, stroke: "#444" }));
  const ticks = scale.ticks.length > 12 ? [scale.ticks[0], scale.ticks.at(-1)] : scale.ticks;
  for (const [tick, y] of ticks) {
    const text = format(tick, column.key);
    group.append(node("svg:text", { x: x - 5, y: y + 4, "text-anchor": "end" },
      text.length > 14 ? text.slice(0, 13) + "…" : text));
  }
  const range = state.ranges[column.key];
  if (range) {
    const ys = range.values
      ? [...range.values].map((v) => scale.at(v))
      : [Math.max(range.low, -1e300), Math.min(range.high, 1e300)].map((v) => scale.at(v));
    const y0 = Math.max(Math.min(...ys) - 4, PAD.top - 4), y1 = Math.min(Math.max(...ys) + 4, HEIGHT - PAD.bottom + 4);
    group.append(node("svg:rect", { x: x - 8, y: y0, width: 16, height: Math.max(y1 - y0, 2), fill: "#1f77b4", "fill-opacity": 0.25, stroke: "#1f77b4" }));
  }
  const target = node("svg:rect", { x: x - 14, y: PAD.top - 6, width: 28, height: HEIGHT - PAD.top - PAD.bottom + 12, fill: "transparent", cursor: "ns-resize", class: "brush" });
  target.addEventListener("pointerdown", (event) => brush(event, column, x, svg, group));
  group.append(target);
  return group;
}

function brush(event, column, x, svg, group) {
  const toY = (e) => {
    const point = svg.createSVGPoint();
    point.x = e.clientX; point.y = e.clientY;
    return point.matrixTransform(svg.getScreenCTM().inverse()).y;
  };
  const start = toY(event);
  const band = node("svg:rect", { x: x - 8, y: start, width: 16, height: 0, fill: "#1f77b4", "fill-opacity": 0.25 });
  group.append(band);
  event.target.setPointerCapture(event.pointerId);
  const move = (e) => {
    const y = toY(e);
    band.setAttribute("y", Math.min(start, y));
    band.setAttribute("height", Math.abs(y - start));
  };
  const end = (e) => {
    event.target.removeEventListener("pointermove", move);
    event.target.removeEventListener("pointerup", end);
    const y = toY(e), top = Math.min(start, y), bottom = Math.max(start, y);
    const scale = scales.get(column.key);
    if (bottom - top < 3) delete state.ranges[column.key];
    else if (!column.numeric) {
      state.ranges[column.key] = { values: new Set(scale.values.filter((v) => scale.at(v) >= top && scale.at(v) <= bottom)) };
    } else state.ranges[column.key] = { low: scale.invert(bottom), high: scale.invert(top) };
    renderHead();
    update();
  };
  event.target.addEventListener("pointermove", move);
  event.target.addEventListener("pointerup", end);
}

// The picked runs ------------------------------------------------------------------------

function ticks(low, high, count = 5) {
  const step = 10 ** Math.floor(Math.log10((high - low) / count || 1));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => (high - low) / s <= count) || step * 10;
  const first = Math.ceil(low / nice) * nice;
  return Array.from({ length: Math.floor((high - first) / nice + 1e-9) + 1 }, (_, i) => first + i * nice);
}

function frame(title, width, height, x, y, xLabel) {
  const svg = node("svg:svg", { class: "chart", width, height, viewBox: `0 0 ${width} ${height}` });
  const m = { left: 44, right: 10, top: 22, bottom: 30 };
  const sx = (v) => m.left + ((v - x[0]) / (x[1] - x[0] || 1)) * (width - m.left - m.right);
  const sy = (v) => height - m.bottom - ((v - y[0]) / (y[1] - y[0] || 1)) * (height - m.top - m.bottom);
  svg.append(node("svg:text", { x: width / 2, y: 13, "text-anchor": "middle", "font-weight": "bold" }, title));
  for (const t of ticks(y[0], y[1])) {
    svg.append(node("svg:line", { x1: m.left, x2: width - m.right, y1: sy(t), y2: sy(t), stroke: "#eee" }),
      node("svg:text", { x: m.left - 4, y: sy(t) + 3, "text-anchor": "end" }, +t.toPrecision(4)));
  }
  svg.append(node("svg:text", { x: width / 2, y: height - 3, "text-anchor": "middle" }, xLabel),
    node("svg:line", { x1: m.left, x2: m.left, y1: m.top, y2: height - m.bottom, stroke: "#444" }),
    node("svg:line", { x1: m.left, x2: width - m.right, y1: height - m.bottom, y2: height - m.bottom, stroke: "#444" }));
  return { svg, sx, sy, bottom: height - m.bottom };
}

function extent(values, pad = 0.05) {
  const xs = values.filter(Number.isFinite);
  if (!xs.length) return [0, 1];
  const low = Math.min(...xs), high = Math.max(...xs), margin = (high - low) * pad || Math.abs(high) * pad || 1;
  return [low - margin, high + margin];
}

function lineCharts() {
  const names = [["loss", "Training loss"], ["train_accuracy", "Train accuracy"], ["test_accuracy", "Test accuracy"]];
  const series = (name) => state.picked.map((i) => [i, RUNS[i].curves[name]]).filter(([, s]) => s);
  const all = (name, field) => series(name).flatMap(([, s]) => s[field]);
  const epochs = [1, Math.max(2, ...names.flatMap(([name]) => all(name, "epoch")))];
  const accuracy = extent(all("train_accuracy", "value").concat(all("test_accuracy", "value")));
  return names.map(([name, title]) => {
    const chart = frame(title, 340, 220, epochs, name === "loss" ? [0, extent(all(name, "value"))[1]] : accuracy, "epoch");
    for (const t of ticks(epochs[0], epochs[1], 8).filter(Number.isInteger)) {
      chart.svg.append(node("svg:text", { x: chart.sx(t), y: chart.bottom + 12, "text-anchor": "middle" }, t));
    }
    for (const [index, s] of series(name)) {
      const colour = state.colours.get(index);
      const points = s.epoch.map((e, k) => [chart.sx(e), chart.sy(s.value[k])]).filter(([, y]) => Number.isFinite(y));
      chart.svg.append(node("svg:path", { class: "series", "data-run": index, fill: "none", stroke: colour, "stroke-width": 2, d: points.map(([x, y], k) => `${k ? "L" : "M"}${x},${y}`).join("") }),
        ...points.map(([x, y]) => node("svg:circle", { cx: x, cy: y, r: 2.5, fill: colour })));
    }
    return chart.svg;
  });
}

function barCharts() {
  const runs = state.picked.filter((i) => RUNS[i].per_class);
  if (!runs.length) return [node("p", { class: "hint" }, "No per-class scores for these runs.")];
  const classes = RUNS[runs[0]].per_class.class;
  const values = runs.flatMap((i) => RUNS[i].per_class.precision.concat(RUNS[i].per_class.recall));
  const low = Math.max(0, Math.floor((Math.min(...values.filter(Number.isFinite)) - 0.02) * 20) / 20);
  return ["precision", "recall"].map((name) => {
    const width = Math.max(360, classes.length * (runs.length * 6 + 10) + 60);
    const chart = frame(`${name[0].toUpperCase()}${name.slice(1)} per class`, width, 220, [0, classes.length], [low, 1], "class");
    const group = (chart.sx(1) - chart.sx(0)) * 0.8, bar = group / runs.length;
    classes.forEach((label, c) => {
      chart.svg.append(node("svg:text", { x: chart.sx(c + 0.5), y: chart.bottom + 12, "text-anchor": "middle" }, label));
      runs.forEach((i, k) => {
        const v = RUNS[i].per_class[name][c];
        if (!Number.isFinite(v)) return;
        const top = chart.sy(Math.max(v, low));
        const rect = node("svg:rect", { x: chart.sx(c) + (chart.sx(1) - chart.sx(0)) * 0.1 + k * bar, y: top, width: Math.max(bar - 1, 1), height: chart.bottom - top, fill: state.colours.get(i) });
        rect.append(node("svg:title", {}, `${RUNS[i].name}: class ${label} ${name} ${v}`));
        chart.svg.append(rect);
      });
    });
    return chart.svg;
  });
}

function confusionMatrix(index) {
  const { labels, counts } = RUNS[index].confusion;
  const cell = 22, left = 30, top = 8, size = cell * labels.length;
  const svg = node("svg:svg", { class: "chart", width: left + size + 4, height: top + size + 30 });
  counts.forEach((row, a) => {
    const total = row.reduce((s, c) => s + c, 0) || 1;
    row.forEach((count, p) => {
      const share = count / total;
      svg.append(node("svg:rect", { x: left + p * cell, y: top + a * cell, width: cell - 1, height: cell - 1, fill: `rgba(31,119,180,${share.toFixed(3)})` }));
      if (count) svg.append(node("svg:text", { x: left + (p + 0.5) * cell, y: top + (a + 0.5) * cell + 3, "text-anchor": "middle", style: `font-size:8px;fill:${share > 0.5 ? "#fff" : "#333"}` }, count));
    });
    svg.append(node("svg:text", { x: left - 4, y: top + (a + 0.5) * cell + 3, "text-anchor": "end" }, labels[a]));
  });
  labels.forEach((label, p) => svg.append(node("svg:text", { x: left + (p + 0.5) * cell, y: top + size + 11, "text-anchor": "middle" }, label)));
  svg.append(node("svg:text", { x: left + size / 2, y: top + size + 26, "text-anchor": "middle" }, "predicted (rows: actual)"));
  return svg;
}

// Weight grids: inflated and drawn only once a run is picked.
const frames = new Map();
const colourmaps = new Map();

function bytes(base64) {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

function gridFrames(index) {
  if (!frames.has(index)) {
    const grid = RUNS[index].grid;
    const inflated = new Response(new Blob([bytes(grid.pixels)]).stream()
      .pipeThrough(new DecompressionStream("deflate"))).arrayBuffer();
    frames.set(index, inflated.then((buffer) => {
      const raw = new Uint8Array(buffer), n = grid.units * grid.side * grid.side;
      const earlier = [], middle = 1 << (grid.shift - 1);
      let previous = new Uint8Array(n);
      for (let f = 1; f < grid.epochs.length; f++) {
        const delta = raw.subarray(f * n, (f + 1) * n), top = new Uint8Array(n), levels = new Uint8Array(n);
        for (let p = 0; p < n; p++) {
          top[p] = (previous[p] + delta[p]) & 255;
          levels[p] = (top[p] << grid.shift) | middle;
        }
        earlier.push(levels);
        previous = top;
      }
      return earlier.concat([raw.subarray(0, n)]);
    }));
  }
  return frames.get(index);
}

function colourmap(name) {
  if (!colourmaps.has(name)) colourmaps.set(name, bytes(DATA.colormaps[name]));
  return colourmaps.get(name);
}

function shownFrame(grid) {
  const epoch = state.epoch ?? grid.epochs.at(-1);
  const k = grid.epochs.findLastIndex((e) => e <= epoch);
  return Math.max(k, 0);
}

async function drawGrid(index, canvas, caption) {
  const grid = RUNS[index].grid, side = grid.side, gap = 1;
  const k = shownFrame(grid);
  const levels = (await gridFrames(index))[k], lut = colourmap(grid.cmap);
  const width = grid.cols * (side + gap) - gap, height = grid.rows * (side + gap) - gap;
  canvas.width = width;
  canvas.height = height;
  const zoom = Math.max(1, Math.floor(240 / width));
  canvas.style.width = `${width * zoom}px`;
  const context = canvas.getContext("2d"), image = context.createImageData(width, height);
  image.data.fill(255);
  for (let u = 0; u < grid.units; u++) {
    const x0 = (u % grid.cols) * (side + gap), y0 = Math.floor(u / grid.cols) * (side + gap);
    for (let p = 0; p < side * side; p++) {
      const level = levels[u * side * side + p], at = 4 * ((y0 + Math.floor(p / side)) * width + x0 + (p % side));
      image.data.set(lut.subarray(3 * level, 3 * level + 3), at);
    }
  }
  context.putImageData(image, 0, 0);
  caption.textContent = `epoch ${grid.epochs[k]} of ${grid.epochs.at(-1)}`;
}

function drawGrids() {
  const withGrids = state.picked.filter((i) => RUNS[i].grid);
  const last = Math.max(1, ...withGrids.map((i) => RUNS[i].grid.epochs.at(-1)));
  const slider = $("epoch");
  slider.max = last;
  slider.value = state.epoch ?? last;
  $("epoch-label").textContent = `epoch ${slider.value} of ${last}`;
  for (const figure of $("grids").children) {
    const canvas = figure.querySelector("canvas");
    if (canvas) drawGrid(Number(figure.dataset.run), canvas, canvas.nextSibling);
  }
}

function renderGrids() {
  $("grids").replaceChildren(...state.picked.map((index) => {
    const run = RUNS[index];
    const figure = node("figure", { "data-run": index }, node("figcaption", {}, swatch(index), run.name));
    if (run.grid) figure.append(node("canvas"), node("figcaption"));
    for (const note of run.notes) figure.append(node("p", { class: "note" }, note));
    return figure;
  }));
  drawGrids();
}

function copyButton(code) {
  const button = node("button", {}, "Copy");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(code.textContent);
      button.textContent = "Copied";
    } catch {
      // No clipboard for this page (file:// in some browsers): select it for Ctrl+C.
      const range = document.createRange();
      range.selectNodeContents(code);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      button.textContent = document.execCommand("copy") ? "Copied" : "Selected: press Ctrl+C";
    }
    setTimeout(() => { button.textContent = "Copy"; }, 2500);
  });
  return button;
}

function commands(index) {
  const run = RUNS[index];
  const block = node("div", { class: "run-commands" }, node("div", {}, swatch(index), run.name, ` (${run.commit})`));
  if (!run.commands.length) block.append(node("div", { class: "command" }, "The workspace, as it is."));
  for (const command of run.commands) {
    const code = node("code", {}, command);
    block.append(node("div", { class: "command" }, code, copyButton(code)));
  }
  return block;
}

function renderPicked() {
  const some = state.picked.length > 0;
  $("picked").hidden = !some;
  $("pick-hint").textContent = some
    ? "Colours follow the legend; drag the slider or press Play to see the weights of each epoch."
    : `Pick up to ${MAX_PICKED} runs in the table to compare their curves, weights, scores and commands.`;
  if (!some) return;
  $("legend").replaceChildren(...state.picked.map((i) => node("span", {}, swatch(i), `${RUNS[i].name} (${RUNS[i].commit})`)));
  $("curves").replaceChildren(...lineCharts());
  renderGrids();
  $("bars").replaceChildren(...barCharts());
  $("confusions").replaceChildren(...state.picked.filter((i) => RUNS[i].confusion).map((i) =>
    node("figure", {}, node("figcaption", {}, swatch(i), RUNS[i].name), confusionMatrix(i))));
  $("commands").replaceChildren(...state.picked.map(commands));
}

$("search").addEventListener("input", (event) => {
  state.text = event.target.value.trim().toLowerCase();
  update();
});
$("clear").addEventListener("click", () => {
  state.text = "";
  state.ranges = {};
  $("search").value = "";
  renderHead();
  update();
});
$("epoch").addEventListener("input", (event) => {
  state.epoch = Number(event.target.value);
  drawGrids();
});
$("play").addEventListener("click", () => {
  if (state.timer) {
    clearInterval(state.timer);
    state.timer = null;
    $("play").textContent = "Play";
    return;
  }
  $("play").textContent = "Pause";
  state.timer = setInterval(() => {
    const last = Number($("epoch").max);
    state.epoch = (state.epoch ?? last) >= last ? 1 : state.epoch + 1;
    drawGrids();
  }, 600);
});
window.addEventListener("resize", renderParallel);
renderHead();
update();
renderPicked();

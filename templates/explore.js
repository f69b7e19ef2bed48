"use strict";
// The page of mnist_mlp.tools.explore. Every string from the data is put in the page as
// text (text nodes, textContent, setAttribute), never parsed as markup.
const DATA = JSON.parse(document.getElementById("data").textContent);
const RUNS = DATA.runs;
const COLUMNS = DATA.columns;
const TABLE = [{ key: "name", label: "name" }, { key: "commit", label: "commit" }]
  .concat(COLUMNS.filter((c) => c.table));
const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];
const MAX_PICKED = PALETTE.length;
const state = {
  sort: { key: "m:test_score", descending: true },
  text: "",
  ranges: {}, // column key -> {low, high} for numbers, {values: Set} for the rest
  picked: [], // run indices; each keeps its colour while picked
  colours: new Map(),
  epoch: null, // null: each run's last epoch
  timer: null,
};
const $ = (id) => document.getElementById(id);

function node(tag, attributes = {}, ...children) {
  const element = tag.startsWith("svg:")
    ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
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

function cut(text, most) {
  return text.length > most ? text.slice(0, most - 1) + "…" : text;
}

function swatch(index) {
  return node("span", { class: "swatch", style: `background:${state.colours.get(index)}` });
}

// Filtering and sorting ------------------------------------------------------------------

const searchText = RUNS.map((run) =>
  [run.name, run.commit, ...Object.values(run.values)].join(" ").toLowerCase());

function passes(index) {
  if (state.text && !searchText[index].includes(state.text)) return false;
  return Object.entries(state.ranges).every(([key, range]) => {
    const x = value(RUNS[index], key);
    return range.values ? range.values.has(x) : x !== null && x >= range.low && x <= range.high;
  });
}

function compare(a, b) {
  const { key, descending } = state.sort;
  const x = value(RUNS[a], key), y = value(RUNS[b], key);
  if (x === null || y === null) return (x === null) - (y === null); // missing last
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
  const head = node("tr", {}, node("th", {}, "pick"));
  const ranges = node("tr", { class: "ranges" }, node("th"));
  for (const column of TABLE) {
    const arrow = state.sort.key === column.key ? (state.sort.descending ? " ▼" : " ▲") : "";
    const th = node("th", { title: column.title || column.label, "data-key": column.key },
      column.label + arrow);
    th.addEventListener("click", () => {
      const again = state.sort.key === column.key;
      state.sort = { key: column.key, descending: again ? !state.sort.descending : false };
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
  const inputs = ["low", "high"].map((end) => {
    const input = node("input", {
      type: "number", step: "any", placeholder: end === "low" ? "min" : "max",
      "data-range": `${key}:${end}`,
    });
    if (Number.isFinite(range[end])) input.value = String(+range[end].toPrecision(6));
    return input;
  });
  const changed = () => {
    const [low, high] = inputs.map((input) => input.valueAsNumber);
    if (Number.isNaN(low) && Number.isNaN(high)) delete state.ranges[key];
    else {
      state.ranges[key] = {
        low: Number.isNaN(low) ? -Infinity : low, high: Number.isNaN(high) ? Infinity : high,
      };
    }
    update();
  };
  for (const input of inputs) input.addEventListener("change", changed);
  return inputs;
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

const HEIGHT = 300;
const TOP = 34, BOTTOM = HEIGHT - 34, SIDE = 70;
const MISSING = BOTTOM + 16; // where a run without the value crosses the axis

function axisScale(column) {
  const xs = RUNS.map((run) => value(run, column.key)).filter((x) => x !== null);
  if (!column.numeric) {
    const values = [...new Set(xs)]
      .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    const step = (BOTTOM - TOP) / Math.max(values.length, 1);
    const at = (x) => BOTTOM - step * (values.indexOf(x) + 0.5);
    return { values, at, ticks: values.map((x) => [x, at(x)]) };
  }
  let [low, high] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  if (low === high) [low, high] = [low - (Math.abs(low) || 1), high + (Math.abs(high) || 1)];
  const log = low > 0 && high / low >= 100;
  const f = log ? Math.log10 : (x) => x, g = log ? (y) => 10 ** y : (y) => y;
  const at = (x) => BOTTOM - ((f(x) - f(low)) / (f(high) - f(low))) * (BOTTOM - TOP);
  const invert = (y) => g(f(low) + ((BOTTOM - y) / (BOTTOM - TOP)) * (f(high) - f(low)));
  const [first, last] = [Math.ceil(f(low)), Math.floor(f(high))];
  const inner = log
    ? Array.from({ length: last - first + 1 }, (_, i) => 10 ** (first + i))
    : ticks(low, high, 4);
  const apart = inner.filter((t) => [low, high].every((end) => Math.abs(at(t) - at(end)) > 14));
  return { at, invert, ticks: [low, high, ...apart].map((t) => [t, at(t)]) };
}

const scales = new Map(COLUMNS.map((column) => [column.key, axisScale(column)]));

function renderParallel() {
  const svg = $("parallel");
  const width = Math.max(svg.clientWidth || 1000, 120 * COLUMNS.length);
  const gap = (width - 2 * SIDE) / Math.max(COLUMNS.length - 1, 1);
  const xs = COLUMNS.map((_, i) => SIDE + i * gap);
  svg.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);
  const path = (run) => COLUMNS.map((column, i) => {
    const x = value(run, column.key);
    const y = x === null ? MISSING : scales.get(column.key).at(x);
    return `${i ? "L" : "M"}${xs[i].toFixed(1)},${y.toFixed(1)}`;
  }).join("");
  const layers = [[], [], []]; // filtered out, shown, picked: the last drawn on top
  RUNS.forEach((run, index) => {
    const colour = state.colours.get(index);
    const layer = colour ? 2 : passes(index) ? 1 : 0;
    layers[layer].push(node("svg:path", {
      d: path(run), "data-run": index, stroke: colour || ["#e4e4e4", "#7890a8"][layer],
      "stroke-width": colour ? 2.5 : 1, "stroke-opacity": layer === 1 ? 0.55 : 1,
    }));
  });
  svg.replaceChildren(node("svg:g", { fill: "none" }, ...layers.flat()),
    ...COLUMNS.map((column, i) => drawAxis(column, xs[i], svg)));
}

function drawAxis(column, x, svg) {
  const scale = scales.get(column.key);
  const group = node("svg:g", { "data-axis": column.key });
  const title = node("svg:text", { x, y: 14, "text-anchor": "middle" }, cut(column.label, 18));
  title.append(node("svg:title", {}, column.title));
  group.append(title, node("svg:line", { x1: x, x2: x, y1: TOP, y2: BOTTOM, stroke: "#444" }));
  const ticks = scale.ticks.length > 12 ? [scale.ticks[0], scale.ticks.at(-1)] : scale.ticks;
  for (const [tick, y] of ticks) {
    group.append(node("svg:text", { x: x - 5, y: y + 4, "text-anchor": "end" },
      cut(format(tick, column.key), 14)));
  }
  const range = state.ranges[column.key];
  if (range) {
    const at = (v) => { // a range may be open-ended, or below a log axis's zero
      const y = scale.at(v);
      return Number.isNaN(y) ? (v > 0 ? TOP : BOTTOM) : Math.min(Math.max(y, TOP), BOTTOM);
    };
    const ys = (range.values ? [...range.values] : [range.low, range.high]).map(at);
    const y0 = Math.min(...ys) - 4, y1 = Math.max(...ys) + 4;
    group.append(node("svg:rect", {
      x: x - 8, y: y0, width: 16, height: y1 - y0, fill: "#1f77b4", "fill-opacity": 0.25,
      stroke: "#1f77b4",
    }));
  }
  const target = node("svg:rect", {
    x: x - 14, y: TOP - 6, width: 28, height: BOTTOM - TOP + 12, fill: "transparent",
    cursor: "ns-resize", class: "brush",
  });
  target.addEventListener("pointerdown", (event) => brush(event, column, x, svg, group));
  group.append(target);
  return group;
}

function brush(event, column, x, svg, group) {
  const toY = (e) => {
    const point = svg.createSVGPoint();
    [point.x, point.y] = [e.clientX, e.clientY];
    return point.matrixTransform(svg.getScreenCTM().inverse()).y;
  };
  const start = toY(event), target = event.target;
  const band = node("svg:rect", {
    x: x - 8, y: start, width: 16, height: 0, fill: "#1f77b4", "fill-opacity": 0.25,
  });
  group.append(band);
  target.setPointerCapture(event.pointerId);
  const move = (e) => {
    const y = toY(e);
    band.setAttribute("y", Math.min(start, y));
    band.setAttribute("height", Math.abs(y - start));
  };
  const end = (e) => {
    target.removeEventListener("pointermove", move);
    target.removeEventListener("pointerup", end);
    const y = toY(e), top = Math.min(start, y), bottom = Math.max(start, y);
    const scale = scales.get(column.key);
    if (bottom - top < 3) delete state.ranges[column.key]; // a click clears the axis
    else if (column.numeric) {
      state.ranges[column.key] = { low: scale.invert(bottom), high: scale.invert(top) };
    } else {
      const inside = scale.values.filter((v) => scale.at(v) >= top && scale.at(v) <= bottom);
      state.ranges[column.key] = { values: new Set(inside) };
    }
    renderHead();
    update();
  };
  target.addEventListener("pointermove", move);
  target.addEventListener("pointerup", end);
}

// Charts of the picked runs --------------------------------------------------------------

function ticks(low, high, count = 5) {
  const step = 10 ** Math.floor(Math.log10((high - low) / count || 1));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => (high - low) / s <= count);
  const first = Math.ceil(low / nice) * nice;
  const n = Math.floor((high - first) / nice + 1e-9) + 1;
  return Array.from({ length: n }, (_, i) => first + i * nice);
}

function chart(title, width, height, x, y, xLabel) {
  const svg = node("svg:svg", { class: "chart", width, height });
  const m = { left: 44, right: 10, top: 22, bottom: 30 };
  const bottom = height - m.bottom;
  const sx = (v) => m.left + ((v - x[0]) / (x[1] - x[0] || 1)) * (width - m.left - m.right);
  const sy = (v) => bottom - ((v - y[0]) / (y[1] - y[0] || 1)) * (bottom - m.top);
  const text = (attributes, content) => node("svg:text", { "text-anchor": "middle", ...attributes },
    content);
  svg.append(text({ x: width / 2, y: 13, "font-weight": "bold" }, title),
    text({ x: width / 2, y: height - 3 }, xLabel));
  for (const t of ticks(y[0], y[1])) {
    const grid = { x1: m.left, x2: width - m.right, y1: sy(t), y2: sy(t), stroke: "#eee" };
    svg.append(node("svg:line", grid),
      text({ x: m.left - 4, y: sy(t) + 3, "text-anchor": "end" }, +t.toPrecision(4)));
  }
  svg.append(node("svg:line", { x1: m.left, x2: m.left, y1: m.top, y2: bottom, stroke: "#444" }),
    node("svg:line", { x1: m.left, x2: width - m.right, y1: bottom, y2: bottom, stroke: "#444" }));
  const xTick = (at, label) => svg.append(text({ x: at, y: bottom + 12 }, label));
  return { svg, sx, sy, bottom, xTick };
}

function extent(values, pad = 0.05) {
  const xs = values.filter(Number.isFinite);
  if (!xs.length) return [0, 1];
  const low = Math.min(...xs), high = Math.max(...xs);
  const margin = (high - low) * pad || Math.abs(high) * pad || 1;
  return [low - margin, high + margin];
}

function lineCharts() {
  const series = (name) => state.picked.map((i) => [i, RUNS[i].curves[name]]).filter(([, s]) => s);
  const all = (name, field) => series(name).flatMap(([, s]) => s[field]);
  const names = ["loss", "train_accuracy", "test_accuracy"];
  const epochs = [1, Math.max(2, ...names.flatMap((name) => all(name, "epoch")))];
  const accuracy = extent(all("train_accuracy", "value").concat(all("test_accuracy", "value")));
  const titles = ["Training loss", "Train accuracy", "Test accuracy"];
  return names.map((name, n) => {
    const y = name === "loss" ? [0, extent(all(name, "value"))[1]] : accuracy;
    const c = chart(titles[n], 340, 220, epochs, y, "epoch");
    for (const t of ticks(epochs[0], epochs[1], 8).filter(Number.isInteger)) c.xTick(c.sx(t), t);
    for (const [index, s] of series(name)) {
      const colour = state.colours.get(index);
      const points = s.epoch.map((e, k) => [c.sx(e), c.sy(s.value[k])])
        .filter(([, v]) => Number.isFinite(v));
      const d = points.map(([px, py], k) => `${k ? "L" : "M"}${px},${py}`).join("");
      c.svg.append(node("svg:path", {
        class: "series", "data-run": index, fill: "none", stroke: colour, "stroke-width": 2, d,
      }), ...points.map(([cx, cy]) => node("svg:circle", { cx, cy, r: 2.5, fill: colour })));
    }
    return c.svg;
  });
}

function barCharts() {
  const runs = state.picked.filter((i) => RUNS[i].per_class);
  if (!runs.length) return [node("p", { class: "hint" }, "No per-class scores for these runs.")];
  const classes = RUNS[runs[0]].per_class.class;
  const values = runs.flatMap((i) => RUNS[i].per_class.precision.concat(RUNS[i].per_class.recall))
    .filter(Number.isFinite);
  const low = Math.max(0, Math.floor((Math.min(...values) - 0.02) * 20) / 20);
  return ["precision", "recall"].map((name) => {
    const width = Math.max(360, classes.length * (runs.length * 6 + 10) + 60);
    const title = `${name[0].toUpperCase()}${name.slice(1)} per class`;
    const c = chart(title, width, 220, [0, classes.length], [low, 1], "class");
    const bar = ((c.sx(1) - c.sx(0)) * 0.8) / runs.length;
    classes.forEach((label, k) => {
      c.xTick(c.sx(k + 0.5), label);
      runs.forEach((i, r) => {
        const v = RUNS[i].per_class[name][k];
        if (!Number.isFinite(v)) return;
        const top = c.sy(Math.max(v, low));
        const rect = node("svg:rect", {
          x: c.sx(k + 0.1) + r * bar, y: top, width: Math.max(bar - 1, 1), height: c.bottom - top,
          fill: state.colours.get(i),
        });
        rect.append(node("svg:title", {}, `${RUNS[i].name}: ${name} of ${label}: ${v}`));
        c.svg.append(rect);
      });
    });
    return c.svg;
  });
}

function confusionMatrix(index) {
  const { labels, counts } = RUNS[index].confusion;
  const cell = 22, left = 30, top = 8, size = cell * labels.length;
  const svg = node("svg:svg", { class: "chart", width: left + size + 4, height: top + size + 30 });
  const text = (x, y, content, style = "") =>
    node("svg:text", { x, y, "text-anchor": x < left ? "end" : "middle", style }, content);
  counts.forEach((row, a) => {
    const total = row.reduce((sum, count) => sum + count, 0) || 1;
    row.forEach((count, p) => {
      const share = count / total, x = left + p * cell, y = top + a * cell;
      svg.append(node("svg:rect", {
        x, y, width: cell - 1, height: cell - 1, fill: `rgba(31,119,180,${share.toFixed(3)})`,
      }));
      const colour = share > 0.5 ? "#fff" : "#333";
      const style = `font-size:8px;fill:${colour}`;
      if (count) svg.append(text(x + cell / 2, y + cell / 2 + 3, count, style));
    });
    svg.append(text(left - 4, top + (a + 0.5) * cell + 3, labels[a]));
  });
  labels.forEach((label, p) => svg.append(text(left + (p + 0.5) * cell, top + size + 11, label)));
  svg.append(text(left + size / 2, top + size + 26, "predicted (rows: actual)"));
  return svg;
}

// Weight grids: inflated and drawn only once a run is picked -----------------------------

const frames = new Map();
const colourmaps = new Map();

function bytes(base64) {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

// The final frame's colour indices, then each earlier frame's top bits as its difference
// from the one before (see weight_frames in explore.py); the frames in epoch order.
function gridFrames(index) {
  if (!frames.has(index)) {
    const grid = RUNS[index].grid, n = grid.units * grid.side * grid.side;
    const stream = new Blob([bytes(grid.pixels)]).stream()
      .pipeThrough(new DecompressionStream("deflate"));
    frames.set(index, new Response(stream).arrayBuffer().then((buffer) => {
      const raw = new Uint8Array(buffer), earlier = [], middle = 1 << (grid.shift - 1);
      let top = new Uint8Array(n);
      for (let f = 1; f < grid.epochs.length; f++) {
        const delta = raw.subarray(f * n, (f + 1) * n), levels = new Uint8Array(n);
        top = top.map((t, p) => (t + delta[p]) & 255);
        for (let p = 0; p < n; p++) levels[p] = (top[p] << grid.shift) | middle;
        earlier.push(levels);
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

async function drawGrid(index, canvas, caption) {
  const grid = RUNS[index].grid, side = grid.side;
  const epoch = state.epoch ?? grid.epochs.at(-1);
  const k = Math.max(0, grid.epochs.findLastIndex((e) => e <= epoch));
  const levels = (await gridFrames(index))[k], lut = colourmap(grid.cmap);
  const width = grid.cols * (side + 1) - 1, height = grid.rows * (side + 1) - 1;
  [canvas.width, canvas.height] = [width, height];
  canvas.style.width = `${width * Math.max(1, Math.floor(240 / width))}px`;
  const context = canvas.getContext("2d"), image = context.createImageData(width, height);
  image.data.fill(255);
  for (let u = 0; u < grid.units; u++) {
    const x0 = (u % grid.cols) * (side + 1), y0 = Math.floor(u / grid.cols) * (side + 1);
    for (let p = 0; p < side * side; p++) {
      const level = levels[u * side * side + p];
      const at = 4 * ((y0 + Math.floor(p / side)) * width + x0 + (p % side));
      image.data.set(lut.subarray(3 * level, 3 * level + 3), at);
    }
  }
  context.putImageData(image, 0, 0);
  caption.textContent = `epoch ${grid.epochs[k]} of ${grid.epochs.at(-1)}`;
}

function drawGrids() {
  const ends = state.picked.filter((i) => RUNS[i].grid).map((i) => RUNS[i].grid.epochs.at(-1));
  const last = Math.max(1, ...ends), slider = $("epoch");
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
    const figure = node("figure", { "data-run": index },
      node("figcaption", {}, swatch(index), run.name));
    if (run.grid) figure.append(node("canvas"), node("figcaption"));
    for (const note of run.notes) figure.append(node("p", { class: "note" }, note));
    return figure;
  }));
  drawGrids();
}

// Commands -------------------------------------------------------------------------------

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
  const block = node("div", {}, node("div", {}, swatch(index), `${run.name} (${run.commit})`));
  if (!run.commands.length) {
    block.append(node("div", { class: "command" }, "The workspace as it is."));
  }
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
    ? "Colours as in the legend under the curves; the slider and Play step through the epochs."
    : `Pick up to ${MAX_PICKED} runs in the table to compare their curves, weights and scores.`;
  if (!some) return;
  $("curves").replaceChildren(...lineCharts());
  $("legend").replaceChildren(...state.picked.map((i) =>
    node("span", {}, swatch(i), `${RUNS[i].name} (${RUNS[i].commit})`)));
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
  [state.text, state.ranges, $("search").value] = ["", {}, ""];
  renderHead();
  update();
});
$("epoch").addEventListener("input", (event) => {
  state.epoch = Number(event.target.value);
  drawGrids();
});
$("play").addEventListener("click", () => {
  clearInterval(state.timer);
  state.timer = state.timer ? null : setInterval(() => {
    const last = Number($("epoch").max);
    state.epoch = (state.epoch ?? last) >= last ? 1 : state.epoch + 1;
    drawGrids();
  }, 600);
  $("play").textContent = state.timer ? "Pause" : "Play";
});
window.addEventListener("resize", renderParallel);
renderHead();
update();
renderPicked();

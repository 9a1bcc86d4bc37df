// The optimizer race: a contour map of a lab surface, a draggable start point, and the paths
// of the chosen optimizers. Every path comes from the server (POST /api/race), which runs
// steepest's own optimizer classes; this page only draws. The URL holds the whole state.
"use strict";

(function (S) {
  const state = {
    surfaces: [], surfaceByName: {}, optimizers: [], optimizerByName: {},
    surface: "rosenbrock", start: null, steps: 500, seed: 0, chosen: [], values: {},
    grid: null, background: null, result: null, scrub: null, inside: null,
    inflight: false, pending: false, dragging: false,
  };
  const DEFAULT_CHOSEN = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"];

  // ------------------------------------------------------------------ options as text
  // The same spelling as `steepest race --option NAME.KEY=VALUE`.
  function optionText(value) {
    if (value === null) return "none";
    if (typeof value === "boolean") return value ? "true" : "false";
    if (Array.isArray(value)) return value.map(optionText).join(",");
    return String(value);
  }
  function parseOption(text, defaultValue) {
    const word = text.trim();
    if (defaultValue === null) {   // none, a number or a word
      if (word === "" || word.toLowerCase() === "none") return null;
      return Number.isFinite(Number(word)) ? Number(word) : word;
    }
    if (typeof defaultValue === "boolean") {
      if (text !== "true" && text !== "false") return undefined;
      return text === "true";
    }
    if (Array.isArray(defaultValue)) {   // numbers; none where the default has None
      const parts = text.split(",").map((part, i) => (
        defaultValue[i] === null && ["", "none"].includes(part.trim().toLowerCase()) ? null
          : part.trim() === "" ? NaN : Number(part)));
      return parts.length === defaultValue.length &&
        parts.every((v) => v === null || Number.isFinite(v)) ? parts : undefined;
    }
    if (typeof defaultValue === "number") {
      const number = Number(text);
      return text.trim() !== "" && Number.isFinite(number) ? number : undefined;
    }
    return text;
  }
  const sameValue = (a, b) => optionText(a) === optionText(b);

  function surface() { return state.surfaceByName[state.surface]; }
  function defaultLr(name) { return surface().default_lr[name]; }
  function optionValue(name, key) {
    const given = (state.values[name] || {})[key];
    if (given !== undefined) return given;
    return key === "lr" ? defaultLr(name) : state.optimizerByName[name].options[key];
  }
  // A colour per chosen optimizer, in the order chosen: distinct for up to ten.
  function colorOf(name) {
    const index = state.chosen.indexOf(name);
    return index >= 0 ? S.color(index) : "#9aa3ad";
  }

  // ------------------------------------------------------------------ URL
  function readUrl() {
    const query = S.query();
    const name = query.get("surface");
    if (name && state.surfaceByName[name]) state.surface = name;
    const dim = surface().dim;
    const text = query.get("start");
    const start = text ? text.split(",").map((part) => (part.trim() === "" ? NaN : Number(part))) : [];
    state.start = start.length === dim && start.every(Number.isFinite) ? start
      : surface().start.slice();
    const steps = Number(query.get("steps"));
    if (Number.isInteger(steps) && steps >= 1 && steps <= 5000) state.steps = steps;
    const seed = Number(query.get("seed"));
    if (Number.isInteger(seed) && seed >= 0) state.seed = seed;
    const chosen = (query.get("optimizers") || "").split(",")
      .filter((n) => state.optimizerByName[n]);
    state.chosen = chosen.length ? chosen : DEFAULT_CHOSEN.filter((n) => state.optimizerByName[n]);
    for (const [key, text] of query.entries()) {
      const dot = key.indexOf(".");
      if (dot < 0) continue;
      const name = key.slice(0, dot);
      const option = key.slice(dot + 1);
      const spec = state.optimizerByName[name];
      if (!spec) continue;
      const defaultValue = option === "lr" ? 0.1 : spec.options[option];
      if (defaultValue === undefined) continue;
      const value = parseOption(text, defaultValue);
      if (value !== undefined) (state.values[name] = state.values[name] || {})[option] = value;
    }
    const inside = query.get("inside");
    state.inside = state.chosen.includes(inside) ? inside : state.chosen[0];
    const at = Number(query.get("at"));
    if (query.has("at") && Number.isInteger(at) && at >= 0) state.scrub = at;
  }

  function writeUrl() {
    const query = new URLSearchParams();
    query.set("surface", state.surface);
    query.set("start", state.start.map((c) => String(c)).join(","));
    query.set("steps", String(state.steps));
    if (state.seed) query.set("seed", String(state.seed));
    query.set("optimizers", state.chosen.join(","));
    for (const name of state.chosen) {
      for (const [key, value] of Object.entries(state.values[name] || {})) {
        query.set(`${name}.${key}`, optionText(value));
      }
    }
    if (state.inside) query.set("inside", state.inside);
    if (state.scrub !== null && state.scrub < state.steps) query.set("at", String(state.scrub));
    S.setQuery(query);
  }

  // ------------------------------------------------------------------ controls
  function buildSurfaceSelect() {
    const select = S.$("race-surface");
    S.clear(select);
    for (const s of state.surfaces) {
      select.append(S.el("option", { value: s.name, text: `${s.name}  (${s.dim}-D)` }));
    }
    select.value = state.surface;
    select.addEventListener("change", async () => {
      state.surface = select.value;
      state.start = surface().start.slice();
      for (const name of Object.keys(state.values)) delete state.values[name].lr;
      await loadGrid();
      buildOptimizerList();
      changed();
    });
  }

  function optionInput(name, key, defaultValue) {
    const value = optionValue(name, key);
    const id = `race-opt-${name}-${key}`;
    const set = (parsed, input) => {
      input.classList.toggle("bad", parsed === undefined);
      if (parsed === undefined) return;
      const values = (state.values[name] = state.values[name] || {});
      const base = key === "lr" ? defaultLr(name) : defaultValue;
      if (sameValue(parsed, base)) delete values[key];
      else values[key] = parsed;
      changed();
    };
    if (typeof defaultValue === "boolean") {
      const input = S.el("input", { type: "checkbox", id: id });
      input.checked = value;
      input.addEventListener("change", () => set(input.checked, input));
      return input;
    }
    if (Array.isArray(defaultValue)) {
      const box = S.el("span", { id: id });
      const inputs = defaultValue.map((part, i) => {
        const input = S.el("input", { type: part === null ? "text" : "number", step: "any",
                                      className: "pair", value: optionText(value[i]) });
        input.addEventListener("change", () => {
          const parts = inputs.map((x) => x.value).join(",");
          set(parseOption(parts, defaultValue), input);
        });
        box.append(input, " ");
        return input;
      });
      return box;
    }
    const input = S.el("input", {
      type: typeof defaultValue === "number" ? "number" : "text", step: "any", id: id,
      value: optionText(value) });
    input.addEventListener("change", () => set(parseOption(input.value, defaultValue), input));
    return input;
  }

  function buildOptimizerList() {
    const list = S.$("race-optimizers");
    S.clear(list);
    for (const spec of state.optimizers) {
      const name = spec.name;
      const chosen = state.chosen.includes(name);
      const box = S.el("div", { className: "optimizer", "data-name": name });
      const check = S.el("input", { type: "checkbox", id: `race-use-${name}` });
      check.checked = chosen;
      check.addEventListener("change", () => {
        if (check.checked) {
          state.chosen = state.optimizers.map((o) => o.name)
            .filter((n) => n === name || state.chosen.includes(n));
        } else {
          state.chosen = state.chosen.filter((n) => n !== name);
        }
        if (!state.chosen.includes(state.inside)) state.inside = state.chosen[0] || null;
        buildOptimizerList();
        changed();
      });
      box.append(S.el("label", { className: "head", for: `race-use-${name}` }, check,
        S.el("span", { className: "swatch", color: colorOf(name) }),
        S.el("span", { className: "name", text: name })));
      box.append(S.el("div", { className: "desc", text: spec.description }));
      if (chosen) {
        const grid = S.el("div", { className: "options" });
        grid.append(S.el("label", { for: `race-opt-${name}-lr`, text: "lr",
                                    title: (spec.docs || {}).lr }),
                    optionInput(name, "lr", defaultLr(name)));
        box.append(grid);
        const more = S.el("details", { className: "more" });
        const changedCount = Object.keys(state.values[name] || {}).filter((k) => k !== "lr").length;
        more.append(S.el("summary", { text: `other options${changedCount ? ` (${changedCount} changed)` : ""}` }));
        if (changedCount) more.open = true;
        const rest = S.el("div", { className: "options" });
        for (const [key, defaultValue] of Object.entries(spec.options)) {
          rest.append(S.el("label", { for: `race-opt-${name}-${key}`, text: key,
                                      title: (spec.docs || {})[key] }),
                      optionInput(name, key, defaultValue));
        }
        more.append(rest);
        if (Object.keys(spec.options).length) box.append(more);
      }
      list.append(box);
    }
  }

  function buildInsideSelect() {
    const select = S.$("race-inside");
    S.clear(select);
    for (const name of state.chosen) select.append(S.el("option", { value: name, text: name }));
    select.value = state.inside || "";
  }

  // ------------------------------------------------------------------ the race
  const changed = S.debounce(() => { writeUrl(); race(); }, 150);
  const scrubbed = S.debounce(writeUrl, 300);

  async function race() {
    if (state.inflight) { state.pending = true; return; }
    if (!state.chosen.length) {
      state.result = null;
      draw();
      S.$("race-command").textContent = "";
      S.$("race-table").textContent = "Choose at least one optimizer.";
      return;
    }
    state.inflight = true;
    S.status("racing…");
    const request = {
      surface: state.surface, start: state.start, steps: state.steps, seed: state.seed,
      optimizers: state.chosen.map((name) => {
        const options = { lr: optionValue(name, "lr") };
        Object.assign(options, state.values[name] || {});
        return { name: name, options: options };
      }),
    };
    const error = S.$("race-error");
    try {
      const result = await S.api("/api/race", { json: request });
      if (result.surface === state.surface) {
        state.result = result;
        error.hidden = true;
        S.debug.race = { request: request, response: result };
        render();
      }
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    } finally {
      state.inflight = false;
      S.status("");
      if (state.pending) { state.pending = false; race(); }
    }
  }

  function render() {
    const result = state.result;
    S.$("race-command").textContent = result.command;
    S.$("race-table").textContent = result.table;
    const scrub = S.$("race-scrub");
    scrub.max = String(result.steps);
    if (state.scrub === null || state.scrub > result.steps) state.scrub = result.steps;
    scrub.value = String(state.scrub);
    S.$("race-scrub-value").textContent = String(state.scrub);
    buildInsideSelect();
    draw();
    drawLoss();
    drawInternals();
  }

  // ------------------------------------------------------------------ the map
  async function loadGrid() {
    state.grid = await S.api(`/api/surfaces/${encodeURIComponent(state.surface)}/grid?n=160`);
    state.background = null;
    const s = surface();
    S.$("race-formula").textContent = `f = ${s.expression}`;
  }

  const canvas = () => S.$("race-canvas");

  // Window coordinates <-> canvas pixels.
  function toPixel(point) {
    const c = canvas();
    const [[x0, x1]] = surface().window;
    const px = ((point[0] - x0) / (x1 - x0)) * c.width;
    if (surface().dim === 1) {
      const [low, high] = curveRange();
      const value = point.length > 1 ? point[1] : 0;
      return [px, c.height - 30 - ((value - low) / (high - low)) * (c.height - 60)];
    }
    const [y0, y1] = surface().window[1];
    return [px, c.height - ((point[1] - y0) / (y1 - y0)) * c.height];
  }
  function fromPixel(px, py) {
    const c = canvas();
    const [[x0, x1]] = surface().window;
    const x = x0 + (px / c.width) * (x1 - x0);
    if (surface().dim === 1) return [x];
    const [y0, y1] = surface().window[1];
    return [x, y0 + ((c.height - py) / c.height) * (y1 - y0)];
  }
  function curveRange() {
    const values = state.grid.f.filter((v) => v !== null);
    const low = Math.min(...values);
    const high = Math.max(...values);
    return [low - 0.05 * (high - low), high + 0.05 * (high - low)];
  }

  // Pale blues: low loss light, high loss darker, so coloured paths stand out.
  const STOPS = [[250, 252, 255], [222, 235, 247], [198, 219, 239], [158, 202, 225],
                 [107, 174, 214]];
  function paleBlue(t) {
    const x = Math.max(0, Math.min(1, t)) * (STOPS.length - 1);
    const i = Math.min(STOPS.length - 2, Math.floor(x));
    const f = x - i;
    return STOPS[i].map((c, k) => Math.round(c + f * (STOPS[i + 1][k] - c)));
  }

  // The heat map and contour lines, drawn once per surface into an offscreen canvas.
  function background() {
    if (state.background) return state.background;
    const c = canvas();
    const off = document.createElement("canvas");
    off.width = c.width;
    off.height = c.height;
    const g = off.getContext("2d");
    g.fillStyle = "#fff";
    g.fillRect(0, 0, off.width, off.height);
    if (surface().dim === 1) {
      drawCurve(g);
    } else {
      drawContours(g, off);
    }
    state.background = off;
    return off;
  }

  function drawCurve(g) {
    const xs = state.grid.x;
    const fs = state.grid.f;
    g.strokeStyle = "#3b4a5e";
    g.lineWidth = 2;
    g.beginPath();
    xs.forEach((x, i) => {
      const [px, py] = toPixel([x, fs[i]]);
      if (i === 0) g.moveTo(px, py); else g.lineTo(px, py);
    });
    g.stroke();
  }

  function drawContours(g, off) {
    const { x, y, z } = state.grid;
    const n = x.length;
    const m = y.length;
    let low = Infinity;
    let high = -Infinity;
    for (const row of z) for (const v of row) {
      if (v === null) continue;
      if (v < low) low = v;
      if (v > high) high = v;
    }
    const eps = Math.max(1e-12, 1e-4 * (high - low));
    const scale = Math.log(high - low + eps) - Math.log(eps);
    const t = z.map((row) => row.map((v) => (v === null ? 1 : (Math.log(v - low + eps) - Math.log(eps)) / scale)));
    // heat map: one pixel per grid point, scaled up smoothly
    S.drawGrid(g, n, m, (i, j) => paleBlue(t[j][i]));
    // contour lines by marching squares, evenly spaced in log(f - min)
    g.strokeStyle = "rgba(40, 62, 92, 0.38)";
    g.lineWidth = 1;
    const levels = 22;
    const sx = off.width / (n - 1);
    const sy = off.height / (m - 1);
    g.beginPath();
    for (let level = 1; level <= levels; level++) {
      const c = level / (levels + 1);
      for (let j = 0; j < m - 1; j++) {
        for (let i = 0; i < n - 1; i++) {
          const a = t[j][i], b = t[j][i + 1], d = t[j + 1][i], e = t[j + 1][i + 1];
          const points = [];
          if ((a < c) !== (b < c)) points.push([i + (c - a) / (b - a), j]);
          if ((b < c) !== (e < c)) points.push([i + 1, j + (c - b) / (e - b)]);
          if ((d < c) !== (e < c)) points.push([i + (c - d) / (e - d), j + 1]);
          if ((a < c) !== (d < c)) points.push([i, j + (c - a) / (d - a)]);
          for (let p = 0; p + 1 < points.length; p += 2) {
            g.moveTo(points[p][0] * sx, off.height - points[p][1] * sy);
            g.lineTo(points[p + 1][0] * sx, off.height - points[p + 1][1] * sy);
          }
        }
      }
    }
    g.stroke();
  }

  function marker(g, point, style) {
    const [px, py] = toPixel(point);
    g.beginPath();
    if (style === "minimum" || style === "local") {
      star(g, px, py, 8);
      g.fillStyle = style === "minimum" ? "#1d2430" : "#fff";
      g.fill();
      g.strokeStyle = "#1d2430";
      g.lineWidth = 1.2;
      g.stroke();
    } else if (style === "saddle") {
      g.strokeStyle = "#1d2430";
      g.lineWidth = 2;
      g.moveTo(px - 6, py - 6); g.lineTo(px + 6, py + 6);
      g.moveTo(px + 6, py - 6); g.lineTo(px - 6, py + 6);
      g.stroke();
    }
  }

  function star(g, x, y, r) {
    for (let k = 0; k < 10; k++) {
      const radius = k % 2 ? r * 0.45 : r;
      const angle = -Math.PI / 2 + (k * Math.PI) / 5;
      const px = x + radius * Math.cos(angle);
      const py = y + radius * Math.sin(angle);
      if (k === 0) g.moveTo(px, py); else g.lineTo(px, py);
    }
    g.closePath();
  }

  function onCurve(point) {
    // a 1-D point is drawn on the curve: (x, f(x)) from the grid, interpolated
    const xs = state.grid.x;
    const fs = state.grid.f;
    const x = point[0];
    let i = Math.max(0, Math.min(xs.length - 2, Math.floor(((x - xs[0]) / (xs[xs.length - 1] - xs[0])) * (xs.length - 1))));
    const f = (x - xs[i]) / (xs[i + 1] - xs[i]);
    return [x, fs[i] + f * (fs[i + 1] - fs[i])];
  }

  function arrow(g, from, direction, length, color, label) {
    const norm = Math.hypot(direction[0], direction[1]);
    if (!(norm > 0)) return;
    const [px, py] = toPixel(from);
    // pixel direction (y flips)
    const dx = (direction[0] / norm) * length;
    const dy = (-direction[1] / norm) * length;
    g.strokeStyle = color;
    g.fillStyle = color;
    g.lineWidth = 2.5;
    g.beginPath();
    g.moveTo(px, py);
    g.lineTo(px + dx, py + dy);
    g.stroke();
    const angle = Math.atan2(dy, dx);
    g.beginPath();
    g.moveTo(px + dx, py + dy);
    g.lineTo(px + dx - 9 * Math.cos(angle - 0.4), py + dy - 9 * Math.sin(angle - 0.4));
    g.lineTo(px + dx - 9 * Math.cos(angle + 0.4), py + dy - 9 * Math.sin(angle + 0.4));
    g.closePath();
    g.fill();
    haloText(g, label, px + dx + 5, py + dy - 4);
  }

  // Text readable over paths and contours: drawn on a white halo.
  function haloText(g, text, x, y) {
    g.font = "600 13px system-ui, sans-serif";
    g.save();
    g.lineWidth = 3.5;
    g.lineJoin = "round";
    g.strokeStyle = "rgba(255, 255, 255, 0.9)";
    g.strokeText(text, x, y);
    g.restore();
    g.fillText(text, x, y);
  }

  function draw() {
    const c = canvas();
    const g = c.getContext("2d");
    g.drawImage(background(), 0, 0);
    const s = surface();
    const oneD = s.dim === 1;
    for (const m of s.minima) marker(g, oneD ? onCurve(m.point) : m.point, m.global ? "minimum" : "local");
    for (const p of s.saddles) marker(g, oneD ? onCurve(p) : p, "saddle");
    const result = state.result;
    const drawn = {};
    if (result && result.surface === state.surface) {
      for (const path of result.paths) {
        const color = colorOf(path.name);
        const points = path.points.map((p, i) => (oneD ? [p[0], path.losses[i]] : p));
        drawn[path.name] = points;
        g.strokeStyle = color;
        g.lineWidth = 2.4;
        g.beginPath();
        points.forEach((p, i) => {
          const [px, py] = toPixel(p);
          if (i === 0) g.moveTo(px, py); else g.lineTo(px, py);
        });
        g.stroke();
        const last = points[points.length - 1];
        const [lx, ly] = toPixel(last);
        g.fillStyle = color;
        g.beginPath();
        if (path.diverged) {
          g.font = "700 18px system-ui, sans-serif";
          g.fillText("✕", lx - 6, ly + 6);
        } else {
          g.arc(lx, ly, 5, 0, 2 * Math.PI);
          g.fill();
        }
        const k = Math.min(state.scrub === null ? points.length - 1 : state.scrub, points.length - 1);
        const [kx, ky] = toPixel(points[k]);
        g.beginPath();
        g.arc(kx, ky, 6, 0, 2 * Math.PI);
        g.fillStyle = "#fff";
        g.fill();
        g.lineWidth = 3;
        g.strokeStyle = color;
        g.stroke();
        if (path.name === state.inside && !oneD && k < path.grads.length) {
          const grad = path.grads[k];
          if (grad && grad[0] !== null) arrow(g, points[k], [-grad[0], -grad[1]], 46, "#1d2430", "−∇f");
          const velocity = velocityOf(path);
          if (velocity && k + 1 < velocity.length && velocity[k + 1] && velocity[k + 1][0] !== null) {
            const v = velocity[k + 1];
            arrow(g, points[k], [-v[0], -v[1]], 46, "#7a2ea0", "−v");
          }
        }
      }
    }
    S.debug.racePaths = drawn;
    // the start point, on top
    const start = oneD ? onCurve(state.start) : state.start;
    const [sx, sy] = toPixel(start);
    g.beginPath();
    g.arc(sx, sy, 8, 0, 2 * Math.PI);
    g.fillStyle = "#fff";
    g.fill();
    g.lineWidth = 2.5;
    g.strokeStyle = "#1d2430";
    g.stroke();
    g.font = "600 13px system-ui, sans-serif";
    g.fillStyle = "#1d2430";
    const label = `start (${state.start.map((c) => S.fmt(c, 4)).join(", ")})`;
    const width = g.measureText(label).width;   // kept inside the map near its edges
    haloText(g, label, sx + 11 + width > c.width ? sx - 11 - width : sx + 11,
             sy < 20 ? sy + 22 : sy - 9);
    const box = c.getBoundingClientRect();
    S.debug.raceStart = { x: (sx * box.width) / c.width, y: (sy * box.height) / c.height,
                          start: state.start.slice() };
  }

  function velocityOf(path) {
    return path.states.momentum_buffer || path.states.exp_avg || null;
  }

  // ------------------------------------------------------------------ dragging the start
  function pointerPosition(event) {
    const c = canvas();
    const box = c.getBoundingClientRect();
    return [((event.clientX - box.left) / box.width) * c.width,
            ((event.clientY - box.top) / box.height) * c.height];
  }
  function rounded(point) {
    // three significant decimals of the window's size: short URLs, same paths for the same link
    return point.map((v, i) => {
      const [a, b] = surface().window[i];
      const step = Math.pow(10, Math.floor(Math.log10(b - a)) - 3);
      return Number((Math.round(v / step) * step).toPrecision(12));
    });
  }
  function setupDragging() {
    const c = canvas();
    c.addEventListener("pointerdown", (event) => {
      const [px, py] = pointerPosition(event);
      const start = surface().dim === 1 ? onCurve(state.start) : state.start;
      const [sx, sy] = toPixel(start);
      state.dragging = true;
      c.classList.add("dragging");
      c.setPointerCapture(event.pointerId);
      if (Math.hypot(px - sx, py - sy) > 14) moveStart(px, py);   // click: put it there
    });
    c.addEventListener("pointermove", (event) => {
      if (!state.dragging) return;
      const [px, py] = pointerPosition(event);
      moveStart(px, py);
    });
    const stop = () => {
      if (!state.dragging) return;
      state.dragging = false;
      c.classList.remove("dragging");
      writeUrl();
      race();
    };
    c.addEventListener("pointerup", stop);
    c.addEventListener("pointercancel", stop);
  }
  function moveStart(px, py) {
    state.start = rounded(fromPixel(px, py));
    draw();
    race();
  }

  // ------------------------------------------------------------------ charts
  function drawLoss() {
    const result = state.result;
    const length = Math.max(...result.paths.map((p) => p.losses.length));
    const xs = Array.from({ length: length }, (_, i) => i);
    const positive = result.paths.every((p) => p.losses.every((v) => v === null || v > 0));
    const series = [{ label: "step" }];
    const data = [xs];
    for (const path of result.paths) {
      series.push({ label: path.name, stroke: colorOf(path.name), width: 2, spanGaps: false });
      data.push(xs.map((i) => (i < path.losses.length ? path.losses[i] : null)));
    }
    S.chart(S.$("race-loss"), {
      height: 250,
      scales: { x: { time: false }, y: positive ? S.logScale() : {} },
      axes: [{ label: "step" }, S.yAxis(positive, { label: "loss" })],
      series: series,
      legend: { show: true },
    }, data);
  }

  function drawInternals() {
    const box = S.$("race-internals");
    S.clear(box);
    const path = state.result.paths.find((p) => p.name === state.inside);
    const note = S.$("race-inside-note");
    if (!path) { note.textContent = ""; return; }
    const dim = path.points[0].length;
    const names = dim === 1 ? ["x"] : ["x", "y"];
    const steps = path.grads.length;
    const xs = Array.from({ length: steps }, (_, i) => i);
    // At step i: the gradient there, the state the rule kept after using it (row i + 1 of a
    // state: row 0 is before the first step), and the step it took.
    const panels = [["gradient ∇f", path.grads, false]];
    for (const [field, values] of Object.entries(path.states)) {
      panels.push([path.state_labels[field] || field, values.slice(1), field.includes("sq") || field === "sum" || field.includes("square")]);
    }
    panels.push(["effective step size −Δw / g", path.step_sizes, true]);
    note.textContent = `${path.name}: the gradient, the state its rule keeps (${Object.keys(path.states).join(", ") || "none"}), and how far each coordinate moved per unit of gradient at each step. Scrub the step under the map to see −∇f and the velocity there.`;
    for (const [title, values, positive] of panels) {
      // a positive quantity on a log axis; one that turns negative now and then (a step
      // against the gradient) on an asinh axis: logarithmic away from 0, linear near it
      const magnitudes = values.flat().filter((v) => v !== null && Number.isFinite(v));
      const signed = positive && magnitudes.some((v) => v <= 0);
      const log = positive && !signed;
      const largest = Math.max(...magnitudes.map(Math.abs).filter((v) => v > 0), 1e-300);
      const panel = S.el("div", {}, S.el("h4", { text: title }));
      const chartBox = S.el("div", { className: "chart-small" });
      panel.append(chartBox);
      box.append(panel);
      const data = [xs];
      const series = [{ label: "step" }];
      names.forEach((coordinate, c) => {
        data.push(xs.map((i) => {
          const row = values[i];
          const v = row ? row[c] : null;
          return v === null || v === undefined || (log && !(v > 0)) ? null : v;
        }));
        series.push({ label: coordinate, stroke: c === 0 ? "#1f5fbf" : "#d1495b", width: 1.6 });
      });
      S.chart(chartBox, {
        height: 200,
        scales: { x: { time: false }, y: log ? S.logScale()
          : signed ? { distr: 4, asinh: Math.pow(10, Math.floor(Math.log10(largest)) - 3) } : {} },
        axes: [{}, signed ? S.signedAxis() : S.yAxis(log)],
        series: series,
      }, data);
    }
  }

  // ------------------------------------------------------------------ start
  S.initRace = async function () {
    const [surfaces, optimizers] = await Promise.all([S.api("/api/surfaces"),
                                                      S.api("/api/optimizers")]);
    state.surfaces = surfaces;
    for (const s of surfaces) state.surfaceByName[s.name] = s;
    state.optimizers = optimizers;
    for (const o of optimizers) state.optimizerByName[o.name] = o;
    readUrl();
    buildSurfaceSelect();
    await loadGrid();
    buildOptimizerList();
    const steps = S.$("race-steps");
    steps.value = String(state.steps);
    steps.addEventListener("change", () => {
      const value = Number(steps.value);
      const ok = Number.isInteger(value) && value >= 1 && value <= 5000;
      steps.classList.toggle("bad", !ok);
      if (ok) { state.steps = value; state.scrub = null; changed(); }
    });
    const seed = S.$("race-seed");
    seed.value = String(state.seed);
    seed.addEventListener("change", () => {
      const value = Number(seed.value);
      const ok = Number.isInteger(value) && value >= 0;
      seed.classList.toggle("bad", !ok);
      if (ok) { state.seed = value; changed(); }
    });
    S.$("race-reset-start").addEventListener("click", () => {
      state.start = surface().start.slice();
      draw();
      changed();
    });
    S.$("race-scrub").addEventListener("input", (event) => {
      state.scrub = Number(event.target.value);
      S.$("race-scrub-value").textContent = String(state.scrub);
      draw();
      scrubbed();
    });
    S.$("race-inside").addEventListener("change", (event) => {
      state.inside = event.target.value;
      writeUrl();
      draw();
      drawInternals();
    });
    S.copyButton(S.$("race-command-copy"), S.$("race-command"));
    setupDragging();
    draw();
    writeUrl();
    await race();
  };
})(window.steepest);

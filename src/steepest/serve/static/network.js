// The live network: a small MLP trained on the server (steepest's Trainer, the chosen
// optimizer) on 2-D toy data, watched here through server-sent events: the decision boundary,
// the loss, and the gradient norm of every layer (vanishing gradients show as lines sinking).
"use strict";

(function (S) {
  const CLASS_COLORS = [[242, 142, 43], [78, 121, 167], [89, 161, 79]];
  const FIELDS = ["dataset", "noise", "points", "depth", "width", "activation", "init",
                  "regulariser", "optimizer", "batch_size", "steps", "seed"];
  const state = {
    choices: null, optimizers: {}, config: {}, options: {}, settings: {}, session: null,
    events: null,
    losses: [], gradNorms: [], epochs: [], boundary: null, status: "paused", step: 0,
    lossPlot: null, gradPlot: null,
  };

  // ------------------------------------------------------------------ config <-> URL
  function readUrl() {
    const q = S.query();
    const d = state.choices.defaults;
    for (const field of FIELDS) {
      const text = q.get(field);
      const fallback = d[field];
      if (text === null) { state.config[field] = fallback; continue; }
      state.config[field] = typeof fallback === "number" ? Number(text) : text;
    }
    for (const [key, text] of q.entries()) {
      if (key.startsWith("set.") && Number.isFinite(Number(text))) state.settings[key.slice(4)] = Number(text);
      if (key.startsWith("opt.")) {
        const number = Number(text);
        state.options[key.slice(4)] = text === "true" ? true : text === "false" ? false
          : text.includes(",") ? text.split(",").map(Number) : Number.isFinite(number) ? number : text;
      }
    }
  }
  function writeUrl() {
    const q = new URLSearchParams();
    const d = state.choices.defaults;
    for (const field of FIELDS) {
      const value = state.config[field];
      if (value !== null && value !== undefined && value !== d[field]) q.set(field, String(value));
    }
    for (const [key, value] of Object.entries(state.options)) {
      q.set(`opt.${key}`, Array.isArray(value) ? value.join(",") : String(value));
    }
    for (const [key, value] of Object.entries(state.settings)) q.set(`set.${key}`, String(value));
    S.setQuery(q);
  }

  // ------------------------------------------------------------------ controls
  function fillSelect(id, values, labels) {
    const select = S.$(id);
    S.clear(select);
    values.forEach((v, i) => select.append(S.el("option", { value: v, text: labels ? labels[i] : v })));
  }

  function buildControls() {
    const c = state.choices;
    const datasets = Object.keys(c.datasets);
    fillSelect("net-dataset", datasets, datasets.map((d) => `${d} (${c.datasets[d]} classes)`));
    fillSelect("net-activation", c.activations);
    fillSelect("net-init", c.inits.filter((i) => !i.includes("<")).concat(["normal:0.05"]));
    fillSelect("net-regulariser", Object.keys(c.regularisers));
    fillSelect("net-optimizer", c.optimizers);
    const ids = { dataset: "net-dataset", noise: "net-noise", points: "net-points",
                  depth: "net-depth", width: "net-width", activation: "net-activation",
                  init: "net-init", regulariser: "net-regulariser", optimizer: "net-optimizer", batch_size: "net-batch", steps: "net-steps",
                  seed: "net-seed" };
    for (const [field, id] of Object.entries(ids)) {
      const input = S.$(id);
      if (input.tagName === "SELECT" && ![...input.options].some((o) => o.value === String(state.config[field]))) {
        input.append(S.el("option", { value: state.config[field], text: state.config[field] }));
      }
      input.value = state.config[field] === null ? "" : String(state.config[field]);
      input.addEventListener("change", () => {
        const number = input.type === "number";
        state.config[field] = number ? (input.value === "" ? null : Number(input.value)) : input.value;
        if (field === "optimizer") state.options = {};
        if (field === "regulariser") state.settings = {};
        buildSettings();
        buildOptions();
        restart();
      });
    }
    buildSettings();
    buildOptions();
    S.$("net-play").addEventListener("click", togglePlay);
    S.$("net-reset").addEventListener("click", restart);
  }

  // The chosen regulariser's settings (lab.compare.REGULARISERS says which it uses).
  function buildSettings() {
    const r = state.choices.regularisers[state.config.regulariser];
    const box = S.$("net-settings");
    S.clear(box);
    S.$("net-regulariser-note").textContent = r ? r.description : "";
    if (!r) return;
    for (const [key, fallback] of Object.entries(r.settings)) {
      const value = state.settings[key] !== undefined ? state.settings[key] : fallback;
      const input = S.el("input", { type: "number", step: "any", min: "0", id: `net-set-${key}`,
                                    value: String(value) });
      input.addEventListener("change", () => {
        const number = Number(input.value);
        const ok = input.value !== "" && Number.isFinite(number) && number >= 0;
        input.classList.toggle("bad", !ok);
        if (!ok) return;
        state.settings[key] = number;
        restart();
      });
      box.append(S.el("label", { for: `net-set-${key}`, text: key }), input);
    }
  }

  function buildOptions() {
    const box = S.$("net-options");
    S.clear(box);
    const spec = state.optimizers[state.config.optimizer];
    if (!spec) return;
    const entries = [["lr", state.choices.default_lr[state.config.optimizer]]];
    for (const [key, value] of Object.entries(spec.options)) entries.push([key, value]);
    for (const [key, defaultValue] of entries) {
      const value = state.options[key] !== undefined ? state.options[key] : defaultValue;
      let input;
      if (typeof defaultValue === "boolean") {
        input = S.el("input", { type: "checkbox", id: `net-opt-${key}` });
        input.checked = value;
      } else {
        const text = (v) => (v === null ? "none" : String(v));
        input = S.el("input", { type: "text", id: `net-opt-${key}`,
                                value: Array.isArray(value) ? value.map(text).join(",") : text(value) });
      }
      input.addEventListener("change", () => {
        let parsed;
        if (input.type === "checkbox") parsed = input.checked;
        else if (Array.isArray(defaultValue)) {
          parsed = input.value.split(",").map((part) => (["", "none"].includes(part.trim().toLowerCase()) ? null : Number(part)));
        } else if (typeof defaultValue === "string") parsed = input.value;
        else if (defaultValue === null) {
          const word = input.value.trim();
          parsed = word === "" || word.toLowerCase() === "none" ? null : Number.isFinite(Number(word)) ? Number(word) : word;
        } else parsed = input.value === "" ? undefined : Number(input.value);
        if (parsed === undefined) delete state.options[key]; else state.options[key] = parsed;
        restart();
      });
      box.append(S.el("label", { for: `net-opt-${key}`, text: key, title: (spec.docs || {})[key] }),
                 input);
    }
  }

  // ------------------------------------------------------------------ the session
  async function restart() {
    writeUrl();
    const error = S.$("net-error");
    if (state.events) { state.events.close(); state.events = null; }
    if (state.session) {
      S.api(`/api/network/${state.session.id}`, { method: "DELETE" }).catch(() => {});
      state.session = null;
    }
    const body = {};
    for (const field of FIELDS) {
      const value = state.config[field];
      if (value !== null && value !== undefined && !(typeof value === "number" && Number.isNaN(value))) body[field] = value;
    }
    body.options = state.options;
    body.settings = state.settings;
    try {
      state.session = await S.api("/api/network", { json: body });
      error.hidden = true;
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
      return;
    }
    state.losses = [];
    state.gradNorms = [];
    state.epochs = [];
    state.boundary = null;
    state.status = "paused";
    state.step = 0;
    state.lossPlot = null;
    state.gradPlot = null;
    S.$("net-play").textContent = "Train";
    S.debug.network = { id: state.session.id, step: 0, status: "paused" };
    const events = S.events(`/api/network/${state.session.id}/events`);
    events.addEventListener("state", (event) => update(JSON.parse(event.data)));
    state.events = events;
    drawBoundary();
  }

  async function togglePlay() {
    if (!state.session) return;
    const action = state.status === "running" ? "pause" : "play";
    const answer = await S.api(`/api/network/${state.session.id}/${action}`, { method: "POST" });
    state.status = answer.status;
    syncButton();
  }

  function syncButton() {
    const button = S.$("net-play");
    const done = ["finished", "diverged", "failed"].includes(state.status);
    button.textContent = state.status === "running" ? "Pause" : done ? "Finished" : "Train";
    button.disabled = done;
  }

  function update(snapshot) {
    if (snapshot.since === state.losses.length) {
      state.losses.push(...snapshot.losses);
      state.gradNorms.push(...snapshot.grad_norms);
    }
    state.epochs = snapshot.epochs;
    state.status = snapshot.status;
    state.step = snapshot.step;
    if (snapshot.boundary) state.boundary = snapshot.boundary;
    const last = state.epochs[state.epochs.length - 1];
    const accuracy = last ? ` · train accuracy ${(100 * last.accuracy).toFixed(1)}% · test ${(100 * last.test_accuracy).toFixed(1)}%` : "";
    const hint = state.status === "paused" && state.step === 0 ? ": press Train" : "";
    S.$("net-progress").textContent = `step ${state.step} of ${state.session.config.steps} · ${state.status}${hint}${accuracy}`;
    const error = S.$("net-error");
    error.hidden = !snapshot.message;
    error.textContent = snapshot.message || "";
    syncButton();
    S.debug.network = { id: state.session.id, step: state.step, status: state.status,
                        losses: state.losses.length };
    drawBoundary();
    drawCharts();
  }

  // ------------------------------------------------------------------ drawing
  function drawBoundary() {
    const c = S.$("net-canvas");
    const g = c.getContext("2d");
    const session = state.session;
    g.fillStyle = "#fff";
    g.fillRect(0, 0, c.width, c.height);
    if (!session) return;
    const n = session.grid;
    const w = session.window;
    if (state.boundary) {
      S.drawGrid(g, n, n, (i, j) => {
        const value = state.boundary[j * n + i];
        let rgb;
        let strength;
        if (session.classes === 2) {
          rgb = value >= 0.5 ? CLASS_COLORS[1] : CLASS_COLORS[0];
          strength = Math.abs(value - 0.5) * 2;
        } else {   // class + confidence: strength 0 at an even split, 1 when certain
          const k = Math.min(session.classes - 1, Math.floor(value));
          rgb = CLASS_COLORS[k];
          strength = Math.max(0, ((value - k) / 0.999 - 1 / session.classes) / (1 - 1 / session.classes));
        }
        const a = 0.62 * strength;   // white on the boundary itself
        return rgb.map((c) => Math.round(255 + a * (c - 255)));
      });
    }
    const toPixel = (p) => [((p[0] + w) / (2 * w)) * c.width, c.height - ((p[1] + w) / (2 * w)) * c.height];
    const dot = (p, cls, filled) => {
      const [x, y] = toPixel(p);
      const [r, gg, b] = CLASS_COLORS[cls];
      g.beginPath();
      g.arc(x, y, filled ? 4 : 4.5, 0, 2 * Math.PI);
      if (filled) {
        g.fillStyle = `rgb(${r}, ${gg}, ${b})`;
        g.fill();
        g.lineWidth = 1;
        g.strokeStyle = "#fff";
      } else {
        g.lineWidth = 1.6;
        g.strokeStyle = `rgb(${r}, ${gg}, ${b})`;
      }
      g.stroke();
    };
    session.x_test.forEach((p, i) => dot(p, session.y_test[i], false));
    session.x.forEach((p, i) => dot(p, session.y[i], true));
  }

  const LAYER_COLORS = ["#1f5fbf", "#d1495b", "#2a9d8f", "#e9a03b", "#7a2ea0", "#5c6b73", "#8ab17d"];

  let chartTimer = null;
  function drawCharts() {
    if (chartTimer) return;
    chartTimer = setTimeout(() => { chartTimer = null; drawChartsNow(); }, 250);
  }

  // Debiased EMA, as the runs page smooths: the gradient norms jump from batch to batch.
  function ema(values, weight) {
    let last = 0;
    let count = 0;
    return values.map((v) => {
      if (v === null) return null;
      last = weight * last + (1 - weight) * v;
      count += 1;
      return last / (1 - Math.pow(weight, count));
    });
  }

  function drawChartsNow() {
    const n = state.losses.length;
    const xs = Array.from({ length: n }, (_, i) => i + 1);
    const train = state.losses.map((v) => (v > 0 ? v : null));
    const at = (key) => {
      const values = new Map(state.epochs.map((e) => [e.step, e[key]]));
      return xs.map((s) => (values.has(s) && values.get(s) > 0 ? values.get(s) : null));
    };
    const lossData = [xs, train, at("loss"), at("test_loss")];
    if (!state.lossPlot) {
      state.lossPlot = S.chart(S.$("net-loss"), {
        height: 220,
        scales: { x: { time: false }, y: S.logScale() },
        axes: [{ label: "step" }, S.yAxis(true)],
        series: [{ label: "step" },
                 { label: "training batch", stroke: "rgba(31, 95, 191, 0.3)", width: 1 },
                 { label: "training (epoch mean)", stroke: "#1f5fbf", width: 2.2,
                   spanGaps: true, points: { show: true, size: 5 } },
                 { label: "test (each epoch)", stroke: "#d1495b", width: 2.2, spanGaps: true,
                   points: { show: true, size: 5 } }],
      }, lossData);
    } else {
      state.lossPlot.setData(lossData);
    }
    const layers = state.session.layers;
    const gradData = [xs];
    layers.forEach((_, k) => gradData.push(
      ema(state.gradNorms.map((row) => (row[k] > 0 ? row[k] : null)), 0.9)));
    if (!state.gradPlot) {
      state.gradPlot = S.chart(S.$("net-grads"), {
        height: 220,
        scales: { x: { time: false }, y: S.logScale() },
        axes: [{ label: "step" }, S.yAxis(true)],
        series: [{ label: "step" }].concat(layers.map((name, k) => ({
          label: name, stroke: LAYER_COLORS[k % LAYER_COLORS.length], width: 1.8 }))),
      }, gradData);
    } else {
      state.gradPlot.setData(gradData);
    }
  }

  S.initNetwork = async function () {
    const [choices, optimizers] = await Promise.all([S.api("/api/network/choices"),
                                                     S.api("/api/optimizers")]);
    state.choices = choices;
    for (const o of optimizers) state.optimizers[o.name] = o;
    readUrl();
    buildControls();
    await restart();
  };
})(window.steepest);

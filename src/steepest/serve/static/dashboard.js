// The runs dashboard: the run list (status, config, a regular-expression filter), a chart of
// any metric of the chosen runs (x: step, relative or wall time; y linear or log; smoothing
// with the raw line faint behind; mean ± std over seeds), live updates by server-sent events,
// the CSV of what is shown, and each run's details with the command that reproduces it.
// The server downsamples (GET /api/metrics); smoothing is drawn here, over the bins.
"use strict";

(function (S) {
  const AUTO_RUNS = 10;   // with no choice made, the newest runs that match the filter
  const MAX_BANDS = 10;   // runs whose bins' min–max band is drawn behind their line
  const state = {
    runs: [], byId: new Map(), details: new Map(), selected: null, filter: "", regex: null,
    metric: null, scope: "step", axis: "step", yscale: "linear", smooth: "none",
    weight: 0.6, window: 50, group: false, focus: null, range: null, data: null,
    progress: {}, loading: false, reloadAgain: false, applyingData: false,
  };

  const runColor = (id) => S.color(id - 1);

  // ------------------------------------------------------------------ URL
  function readUrl(runId) {
    const q = S.query();
    if (runId !== null) {
      state.selected = new Set([runId]);
      state.focus = runId;
    } else if (q.has("runs")) {
      state.selected = new Set(q.get("runs").split(",").filter(Boolean).map(Number)
        .filter(Number.isInteger));
    }
    state.filter = q.get("filter") || "";
    state.metric = q.get("metric");
    for (const [key, allowed] of [["scope", ["step", "epoch"]],
                                  ["axis", ["step", "relative", "time"]],
                                  ["yscale", ["linear", "log"]],
                                  ["smooth", ["none", "ema", "ma"]]]) {
      if (allowed.includes(q.get(key))) state[key] = q.get(key);
    }
    const weight = Number(q.get("weight"));
    if (q.has("weight") && weight >= 0 && weight < 1) state.weight = weight;
    const window = Number(q.get("window"));
    if (Number.isInteger(window) && window >= 1) state.window = window;
    state.group = q.get("group") === "1";
    const focus = Number(q.get("focus"));
    if (runId === null && Number.isInteger(focus) && focus > 0) state.focus = focus;
  }

  function writeUrl() {
    const q = new URLSearchParams();
    if (state.selected !== null) q.set("runs", [...state.selected].join(","));
    if (state.filter) q.set("filter", state.filter);
    if (state.metric) q.set("metric", state.metric);
    if (state.scope !== "step") q.set("scope", state.scope);
    if (state.axis !== "step") q.set("axis", state.axis);
    if (state.yscale !== "linear") q.set("yscale", state.yscale);
    if (state.smooth !== "none") {
      q.set("smooth", state.smooth);
      if (state.smooth === "ema") q.set("weight", String(state.weight));
      else q.set("window", String(state.window));
    }
    if (state.group) q.set("group", "1");
    if (state.focus !== null) q.set("focus", String(state.focus));
    const text = q.toString();
    const url = "/" + (text ? `?${text}` : "");
    if (url !== window.location.pathname + window.location.search) {
      window.history.replaceState(null, "", url);
    }
  }

  // ------------------------------------------------------------------ which runs
  function searchText(run) {
    return `#${run.id} ${run.name || ""} ${run.kind} ${run.status} ${JSON.stringify(run.config)}`;
  }
  function visibleRuns() {
    return state.regex ? state.runs.filter((r) => state.regex.test(searchText(r))) : state.runs;
  }
  function shownRuns() {
    const visible = visibleRuns();
    if (state.selected === null) return visible.slice(-AUTO_RUNS);
    return visible.filter((r) => state.selected.has(r.id));
  }

  // A run's config in a few words: what usually tells runs apart.
  function configSummary(run) {
    const c = run.config || {};
    const parts = [];
    if (c.optimizer !== undefined) parts.push(String(c.optimizer));
    if (c.lr !== undefined && c.lr !== null) parts.push(`lr ${S.fmt(c.lr)}`);
    if (c.model !== undefined && c.model !== "mlp") parts.push(String(c.model));
    if (c.schedule && c.schedule !== "constant") parts.push(String(c.schedule));
    if (c.batch_size !== undefined && c.batch_size !== null) parts.push(`batch ${c.batch_size}`);
    if (c.epochs) parts.push(`${c.epochs} epochs`);
    else if (c.steps) parts.push(`${c.steps} steps`);
    if (c.seed !== undefined) parts.push(`seed ${c.seed}`);
    if (!parts.length) {
      for (const [key, value] of Object.entries(c).slice(0, 4)) parts.push(`${key} ${JSON.stringify(value)}`);
    }
    return parts.join(" · ");
  }

  function renderList() {
    const body = S.$("runs-table").tBodies[0];
    S.clear(body);
    const visible = visibleRuns();
    const shown = new Set(shownRuns().map((r) => r.id));
    for (const run of [...visible].reverse()) {
      const check = S.el("input", { type: "checkbox", "aria-label": `chart run ${run.id}` });
      check.checked = shown.has(run.id);
      check.addEventListener("click", (event) => event.stopPropagation());
      check.addEventListener("change", () => {
        if (state.selected === null) state.selected = new Set(shownRuns().map((r) => r.id));
        if (check.checked) state.selected.add(run.id); else state.selected.delete(run.id);
        changed();
      });
      const row = S.el("tr", { "data-run": run.id, className: run.id === state.focus ? "focus" : "" },
        S.el("td", {}, check),
        S.el("td", {}, S.el("span", { className: "swatch", color: runColor(run.id) }), String(run.id)),
        S.el("td", { className: "name", text: run.name || run.kind }),
        S.el("td", {}, S.el("span", { className: `badge ${run.status}`, text: run.status })),
        S.el("td", { className: "config", text: configSummary(run) }));
      row.addEventListener("click", () => focusRun(run.id));
      body.append(row);
    }
    S.$("runs-count").textContent = `${visible.length} of ${state.runs.length} shown`;
    const empty = S.$("runs-empty");
    empty.hidden = state.runs.length > 0;
    empty.textContent = "No runs yet: they appear here as soon as `steepest train` records one.";
  }

  function applyFilter() {
    const input = S.$("runs-filter");
    const error = S.$("runs-filter-error");
    state.filter = input.value;
    try {
      state.regex = state.filter ? new RegExp(state.filter, "i") : null;
      input.classList.remove("bad");
      error.hidden = true;
    } catch (e) {
      input.classList.add("bad");
      error.textContent = `Not a regular expression: ${e.message}`;
      error.hidden = false;
      return;
    }
    changed();
  }

  // ------------------------------------------------------------------ metric names
  async function details(id, fresh) {
    if (!fresh && state.details.has(id)) return state.details.get(id);
    const record = await S.api(`/api/runs/${id}`);
    state.details.set(id, record);
    return record;
  }

  async function refreshMetricChoices() {
    const runs = shownRuns();
    const records = await Promise.all(runs.map((r) => details(r.id, r.status === "running")));
    const names = new Set();
    for (const record of records) for (const n of record.metrics[state.scope] || []) names.add(n);
    const select = S.$("chart-metric");
    const sorted = [...names].sort();
    if (!state.metric || !names.has(state.metric)) {
      state.metric = names.has("loss") ? "loss" : sorted[0] || null;
    }
    S.clear(select);
    for (const n of sorted) select.append(S.el("option", { value: n, text: n }));
    if (state.metric) select.value = state.metric;
  }

  // ------------------------------------------------------------------ smoothing (over bins)
  // Debiased EMA (as TensorBoard's): a bin of k rows counts as k equal values, so with one row
  // per bin this is exactly the EMA of the rows.
  function ema(means, rows, weight) {
    let last = 0;
    let total = 0;
    return means.map((v, i) => {
      if (v === null) return null;
      const k = Math.max(1, rows[i]);
      const wk = Math.pow(weight, k);
      last = last * wk + (1 - wk) * v;
      total += k;
      const debias = 1 - Math.pow(weight, total);
      return debias > 0 ? last / debias : v;
    });
  }
  // Trailing moving average over the last `window` rows (whole bins).
  function movingAverage(means, rows, window) {
    const out = [];
    const queue = [];
    let sum = 0;
    let count = 0;
    for (let i = 0; i < means.length; i++) {
      if (means[i] === null) { out.push(null); continue; }
      const k = Math.max(1, rows[i]);
      queue.push([means[i] * k, k]);
      sum += means[i] * k;
      count += k;
      while (queue.length > 1 && count - queue[0][1] >= window) {
        const [s, c] = queue.shift();
        sum -= s;
        count -= c;
      }
      out.push(sum / count);
    }
    return out;
  }
  function smoothed(means, rows) {
    if (state.smooth === "ema") return ema(means, rows, state.weight);
    if (state.smooth === "ma") return movingAverage(means, rows, state.window);
    return means;
  }

  // Config keys that never tell runs apart (where they wrote), and those a group spans.
  const PLACE_KEYS = ["name", "checkpoint_dir", "db"];
  const GROUP_KEYS = ["seed", ...PLACE_KEYS];
  // The config keys whose values differ between runs: what names a group ("lr 0.003"), or
  // a run without a name ("optimizer sgd · lr 0.05").
  function differingKeys(runs, ignored) {
    const keys = new Set();
    for (const run of runs) for (const key of Object.keys(run.config || {})) keys.add(key);
    return [...keys].filter((key) => !ignored.includes(key) &&
      new Set(runs.map((r) => JSON.stringify((r.config || {})[key]))).size > 1).sort();
  }
  function groupLabel(run, keys) {
    const parts = keys.slice(0, 4).map((key) => {
      const value = (run.config || {})[key];
      return `${key} ${typeof value === "number" ? S.fmt(value) : typeof value === "string" ? value : JSON.stringify(value)}`;
    });
    if (keys.length > 4) parts.push("…");
    return parts.length ? parts.join(" · ") : run.name || run.kind;
  }

  function groupKey(run) {
    const config = Object.assign({}, run.config || {});
    for (const key of GROUP_KEYS) delete config[key];
    return `${run.kind} ${JSON.stringify(config, Object.keys(config).sort())}`;
  }

  // ------------------------------------------------------------------ the chart
  const alpha = (hex, a) => {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
  };

  // The chart's series: every band first, then the faint raw lines, then the main lines, so
  // that no run's band hides another run's line.
  function buildSeries() {
    const payload = state.data;
    const x = payload.x.map((v) => v + (state.axis === "step" ? 0 : payload.width / 2));
    const log = state.yscale === "log";
    const clean = (values) => values.map((v) => (v === null || (log && !(v > 0)) ? null : v));
    const smoothing = state.smooth !== "none";
    const pending = { bands: [], raws: [], mains: [] };
    const runs = shownRuns().filter((r) => payload.runs[String(r.id)]);
    if (state.group) {
      const groups = new Map();
      for (const run of runs) {
        const key = groupKey(run);
        if (!groups.has(key)) groups.set(key, []);
        groups.get(key).push(run);
      }
      const differing = differingKeys([...groups.values()].map((m) => m[0]), GROUP_KEYS);
      const stats = (arrays) => x.map((_, i) => {
        const values = arrays.map((a) => a[i]).filter((v) => v !== null);
        if (!values.length) return [null, null];
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        const variance = values.reduce((a, b) => a + (b - mean) * (b - mean), 0) /
          Math.max(1, values.length - 1);
        return [mean, Math.sqrt(variance)];
      });
      for (const members of groups.values()) {
        const color = runColor(members[0].id);
        const data = members.map((r) => payload.runs[String(r.id)]);
        const summary = stats(data.map((d) => smoothed(d.mean, d.rows)));
        const label = `${groupLabel(members[0], differing)} (${members.length} run${members.length > 1 ? "s" : ""})`;
        pending.bands.push({ color: color, label: `${label} ± std`,
                             hi: summary.map(([m, sd]) => (m === null ? null : m + sd)),
                             lo: summary.map(([m, sd]) => (m === null ? null : m - sd)) });
        if (smoothing) pending.raws.push({ color: color, label: `${label} (raw)`, values: stats(data.map((d) => d.mean)).map((v) => v[0]) });
        pending.mains.push({ color: color, label: label, values: summary.map((v) => v[0]) });
      }
    } else {
      const differing = differingKeys(runs, PLACE_KEYS);
      for (const run of runs) {
        const d = payload.runs[String(run.id)];
        const color = runColor(run.id);
        const label = `#${run.id} ${run.name || groupLabel(run, differing)}`;
        // min–max bands of many runs would pile up into one blot: lines only, beyond ten
        if (runs.length <= MAX_BANDS && d.rows.some((k) => k > 1)) pending.bands.push({ color: color, label: `${label} min–max`, hi: d.max, lo: d.min });
        if (smoothing) pending.raws.push({ color: color, label: `${label} (raw)`, values: d.mean });
        pending.mains.push({ color: color, label: label, values: smoothing ? smoothed(d.mean, d.rows) : d.mean });
      }
    }
    const data = [x];
    const series = [{ label: state.axis }];
    const add = (values, options) => {
      data.push(clean(values));
      series.push(Object.assign({ spanGaps: true, points: { show: false } }, options));
      return data.length - 1;
    };
    const bands = [];
    const fill = pending.bands.length > 3 ? 0.07 : smoothing ? 0.12 : 0.18;
    for (const b of pending.bands) {
      const hi = add(b.hi, { label: `${b.label} (high)`, stroke: alpha(b.color, 0), width: 0 });
      const lo = add(b.lo, { label: `${b.label} (low)`, stroke: alpha(b.color, 0), width: 0 });
      bands.push({ series: [hi, lo], fill: alpha(b.color, fill) });
    }
    for (const r of pending.raws) add(r.values, { label: r.label, stroke: alpha(r.color, 0.3), width: 1 });
    const entries = pending.mains.map((m) => ({
      index: add(m.values, { label: m.label, stroke: m.color, width: smoothing || state.group ? 2.2 : 1.8 }),
      label: m.label, color: m.color }));
    return { data: data, series: series, bands: bands, entries: entries };
  }

  function axisLabel() {
    return { step: state.scope === "epoch" ? "epoch" : "step", relative: "time since the run started",
             time: "wall time" }[state.axis];
  }

  function relativeValues(u, values) {
    return values.map((v) => {
      if (Math.abs(v) < 120) return `${S.fmt(v)} s`;
      if (Math.abs(v) < 7200) return `${S.fmt(v / 60)} min`;
      return `${S.fmt(v / 3600)} h`;
    });
  }

  function draw() {
    S.$("chart-axis").options[0].textContent = state.scope === "epoch" ? "epoch" : "step";
    const box = S.$("chart-box");
    const note = S.$("chart-note");
    if (!state.data || !state.metric) {
      S.clear(box);
      box._plot = null;
      S.clear(S.$("chart-legend"));
      S.debug.runs = { drawn: [], labels: [] };
      note.textContent = shownRuns().length ? "These runs have no metric in this scope yet."
        : "Tick runs in the list to chart them.";
      return;
    }
    const built = buildSeries();
    const log = state.yscale === "log";
    const options = {
      height: 440,
      scales: { x: { time: state.axis === "time" }, y: log ? S.logScale() : {} },
      axes: [
        { label: axisLabel(), values: state.axis === "relative" ? relativeValues
          : state.axis === "time" ? undefined : S.axisValues },
        S.yAxis(log, { label: state.metric, size: 70 }),
      ],
      series: built.series,
      bands: built.bands,
      legend: { show: false },
      cursor: { drag: { x: true, y: false } },
      hooks: {
        setScale: [(u, key) => { if (key === "x") onZoom(u); }],
        setCursor: [(u) => readout(u, built)],
      },
    };
    Object.keys(options.axes[0]).forEach((k) => options.axes[0][k] === undefined && delete options.axes[0][k]);
    state.applyingData = true;
    const plot = S.chart(box, options, built.data);
    if (state.range) plot.setScale("x", { min: state.range[0], max: state.range[1] });
    state.applyingData = false;
    S.debug.runs = {
      drawn: built.entries.map((e) => built.data[e.index]),
      labels: built.entries.map((e) => e.label),
      bands: built.bands.map((b) => b.series.map((k) => built.data[k])),
      x: built.data[0],
    };
    const legend = S.$("chart-legend");
    S.clear(legend);
    if (built.entries.length <= 20) {
      for (const e of built.entries) {
        legend.append(S.el("span", { className: "item" },
          S.el("span", { className: "swatch", color: e.color }), e.label));
      }
    }
    const rows = Object.values(state.data.runs).reduce((a, r) => a + r.total_rows, 0);
    const missing = state.data.missing.length
      ? ` No ${state.metric} in ${state.data.missing.map((i) => `#${i}`).join(", ")}.` : "";
    const band = state.group ? " The band is ± one standard deviation over a group's runs."
      : built.bands.length ? " The band behind a line spans each bin's min and max."
      : built.entries.length > MAX_BANDS ? ` Each bin's min–max band is drawn for up to ${MAX_BANDS} lines.` : "";
    note.textContent = `${built.entries.length} line(s), ${rows.toLocaleString()} rows in ${state.data.x.length} bins.` +
      `${band}${missing} Drag on the chart to zoom.`;
  }

  function readout(u, built) {
    const i = u.cursor.idx;
    const out = S.$("chart-readout");
    if (i === null || i === undefined) { out.textContent = ""; return; }
    const x = built.data[0][i];
    const xText = state.axis === "time" ? new Date(x * 1000).toLocaleTimeString() : S.fmt(x, 6);
    const parts = built.entries.slice(0, 8).map((e) => `${e.label}: ${S.fmt(built.data[e.index][i], 4)}`);
    out.textContent = `${axisLabel()} ${xText} — ${parts.join(" · ")}${built.entries.length > 8 ? " …" : ""}`;
  }

  const zoomed = S.debounce(() => loadChart(), 250);
  function onZoom(u) {
    if (state.applyingData) return;
    // uPlot also calls this when it fits the x scale to new data, and when the chart of a
    // zoom is set to its range: neither is a new zoom
    const min = u.scales.x.min;
    const max = u.scales.x.max;
    const x = u.data[0] || [];
    const same = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
    if (state.range ? same(min, state.range[0]) && same(max, state.range[1])
      : !x.length || (min <= x[0] && max >= x[x.length - 1])) return;
    state.range = [min, max];
    updateCsvLink();
    zoomed();
  }

  async function loadChart() {
    if (state.loading) { state.reloadAgain = true; return; }
    state.loading = true;
    try {
      const runs = shownRuns();
      if (!runs.length || !state.metric) {
        state.data = null;
      } else {
        const box = S.$("chart-box");
        const points = Math.max(200, Math.min(4000, Math.round((box.clientWidth || 800) * 1.5)));
        const q = new URLSearchParams({
          runs: runs.map((r) => r.id).join(","), name: state.metric, scope: state.scope,
          axis: state.axis, points: String(points) });
        if (state.range) { q.set("start", String(state.range[0])); q.set("end", String(state.range[1])); }
        state.data = await S.api(`/api/metrics?${q}`);
      }
      draw();
      updateCsvLink();
    } finally {
      state.loading = false;
      if (state.reloadAgain) { state.reloadAgain = false; loadChart(); }
    }
  }

  function updateCsvLink() {
    const link = S.$("chart-csv");
    const runs = shownRuns();
    if (!runs.length || !state.metric) {
      link.removeAttribute("href");
      return;
    }
    const q = new URLSearchParams({ runs: runs.map((r) => r.id).join(","), metric: state.metric,
                                    scope: state.scope, axis: state.axis });
    if (state.range) { q.set("start", String(state.range[0])); q.set("end", String(state.range[1])); }
    link.href = `/api/export.csv?${q}`;
  }

  // ------------------------------------------------------------------ details
  async function focusRun(id) {
    state.focus = id;
    writeUrl();
    for (const row of S.$("runs-table").tBodies[0].rows) {
      row.classList.toggle("focus", Number(row.dataset.run) === id);
    }
    await renderDetails(true);
  }

  function kvTable(table, object) {
    S.clear(table);
    const entries = Object.entries(object || {});
    if (!entries.length) table.append(S.el("tr", {}, S.el("td", { text: "none" })));
    for (const [key, value] of entries) {
      const text = typeof value === "number" || typeof value === "string" ? String(value)
        : JSON.stringify(value);
      table.append(S.el("tr", {}, S.el("td", { text: key }), S.el("td", { text: text })));
    }
  }

  async function renderDetails(fresh) {
    const box = S.$("run-details");
    // with no run clicked, the newest one shown
    const shown = shownRuns();
    const id = state.focus !== null ? state.focus : shown.length ? shown[shown.length - 1].id : null;
    if (id === null) { box.hidden = true; return; }
    let record;
    try {
      record = await details(id, fresh);
    } catch (e) {
      box.hidden = false;
      S.$("run-title").textContent = `Run #${id}`;
      S.$("run-meta").textContent = e.message;
      S.$("run-command").textContent = "";
      return;
    }
    box.hidden = false;
    S.$("run-title").textContent = `#${record.id} ${record.name || record.kind}`;
    const commit = record.git_commit ? `, git ${record.git_commit.slice(0, 12)}` : "";
    const ran = record.status === "running"
      ? `running for ${S.duration(Date.now() / 1000 - record.started_at)}` : `ran ${S.duration(record.duration)}`;
    S.$("run-meta").textContent = `${record.status} · ${record.kind} · started ${S.date(record.started_at)} · ` +
      `${ran} · steepest ${record.steepest_version || "?"}${commit}`;
    S.$("run-command").textContent = record.command || "(no command was recorded)";
    S.$("run-command-note").textContent = record.command_source === "config"
      ? "Every setting of the stored config, spelled out (run it from the same folder, with the same steepest" +
        (record.git_commit ? " commit" : " version") + ")."
      : "The command line as the run recorded it.";
    kvTable(S.$("run-config"), record.config);
    kvTable(S.$("run-results"), record.results);
    const list = S.$("run-checkpoints");
    S.clear(list);
    for (const c of record.checkpoints) list.append(S.el("li", { text: `${c.kind} (step ${c.step}): ${c.path}` }));
    if (!record.checkpoints.length) list.append(S.el("li", { text: "none" }));
  }

  // ------------------------------------------------------------------ live
  async function setRuns(payload) {
    state.runs = payload.runs;
    state.byId = new Map(payload.runs.map((r) => [r.id, r]));
    S.$("runs-store").textContent = payload.exists ? `Store: ${payload.db}`
      : `No run store at ${payload.db} yet; runs appear when one is written.`;
  }

  function listen() {
    const events = S.events("/api/events");
    events.addEventListener("runs", async (event) => {
      const before = shownRuns().map((r) => `${r.id}:${r.status}`).join(",");
      await setRuns(JSON.parse(event.data));
      renderList();
      const after = shownRuns().map((r) => `${r.id}:${r.status}`).join(",");
      if (before !== after) {
        await refreshMetricChoices();
        loadChart();
        renderDetails(true);
      }
    });
    events.addEventListener("progress", (event) => {
      const progress = JSON.parse(event.data);
      const shown = new Set(shownRuns().map((r) => String(r.id)));
      const grew = Object.keys(progress).some((id) => shown.has(id) &&
        JSON.stringify(progress[id]) !== JSON.stringify(state.progress[id]));
      state.progress = progress;
      if (grew) liveReload();
    });
    events.onerror = () => S.status("server not answering; retrying…");
    events.onopen = () => S.status("live");
  }
  const liveReload = S.debounce(async () => {
    if (!state.metric) await refreshMetricChoices();
    loadChart();
  }, 100);

  // ------------------------------------------------------------------ controls
  const changed = S.debounce(async () => {
    writeUrl();
    renderList();
    await refreshMetricChoices();
    state.range = null;
    await loadChart();
  }, 120);

  function controls() {
    const bind = (id, key, parse, reload) => {
      const input = S.$(id);
      input.value = String(state[key]);
      input.addEventListener(input.type === "range" ? "input" : "change", async () => {
        state[key] = parse(input.value);
        syncSmoothingControls();
        writeUrl();
        if (reload === "names") { await refreshMetricChoices(); state.range = null; loadChart(); }
        else if (reload === "data") { state.range = null; loadChart(); }
        else draw();
      });
    };
    bind("chart-metric", "metric", String, "data");
    bind("chart-scope", "scope", String, "names");
    bind("chart-axis", "axis", String, "data");
    bind("chart-yscale", "yscale", String, "draw");
    bind("chart-smooth", "smooth", String, "draw");
    bind("chart-weight", "weight", Number, "draw");
    bind("chart-window", "window", (v) => Math.max(1, Math.round(Number(v)) || 1), "draw");
    const group = S.$("chart-group");
    group.checked = state.group;
    group.addEventListener("change", () => { state.group = group.checked; writeUrl(); draw(); });
    const filter = S.$("runs-filter");
    filter.value = state.filter;
    filter.addEventListener("input", S.debounce(applyFilter, 200));
    S.$("runs-select-shown").addEventListener("click", () => {
      state.selected = new Set(visibleRuns().map((r) => r.id));
      changed();
    });
    S.$("runs-select-none").addEventListener("click", () => {
      state.selected = new Set();
      changed();
    });
    S.$("chart-reset-zoom").addEventListener("click", () => { state.range = null; loadChart(); });
    S.copyButton(S.$("run-command-copy"), S.$("run-command"));
    syncSmoothingControls();
  }

  function syncSmoothingControls() {
    S.$("chart-weight-label").hidden = state.smooth !== "ema";
    S.$("chart-window-label").hidden = state.smooth !== "ma";
    S.$("chart-weight-value").textContent = state.weight.toFixed(3);
  }

  S.initRuns = async function (runId) {
    readUrl(runId);
    controls();
    const input = S.$("runs-filter");
    input.value = state.filter;
    if (state.filter) {
      try { state.regex = new RegExp(state.filter, "i"); } catch (e) { state.regex = null; }
    }
    await setRuns(await S.api("/api/runs"));
    renderList();
    await refreshMetricChoices();
    writeUrl();
    await loadChart();
    await renderDetails(false);
    listen();
  };
})(window.steepest);

// Shared helpers of the steepest pages. Every string from the server goes into the page as
// text (textContent, never innerHTML), so a run named "<img onerror=...>" is only ever shown.
"use strict";

window.steepest = window.steepest || {};
(function (S) {
  S.debug = {};   // what the pages drew, for the browser tests

  // Tableau 10: distinct on a light background and on a projector.
  S.PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
               "#ff9da7", "#9c755f", "#bab0ac"];
  S.color = (i) => S.PALETTE[((i % S.PALETTE.length) + S.PALETTE.length) % S.PALETTE.length];

  S.$ = (id) => document.getElementById(id);

  // An element with attributes and children (strings become text nodes).
  S.el = function (tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else if (key === "className") node.className = value;
      else if (key === "color") node.style.background = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  };

  S.clear = (node) => { while (node.firstChild) node.removeChild(node.firstChild); };

  // fetch + JSON; a non-2xx answer throws an Error carrying the server's message.
  S.api = async function (path, options) {
    const init = Object.assign({ headers: {} }, options || {});
    if (init.json !== undefined) {
      init.method = init.method || "POST";
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(init.json);
      delete init.json;
    }
    const response = await fetch(path, init);
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!response.ok) {
      const message = data && data.detail ? data.detail : `${response.status} ${text}`;
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return data;
  };

  S.status = function (message) { S.$("status-line").textContent = message || ""; };

  // Server-sent events that end with the page. A browser holds at most six connections to one
  // server, and one that keeps a page it left in its back-forward cache keeps that page's
  // streams open too: six page loads would leave no connection for the page shown. So every
  // stream is closed when the page is hidden, and a page shown again from that cache reloads.
  const streams = new Set();
  S.debug.streams = streams;
  S.events = function (url) {
    const source = new EventSource(url);
    streams.add(source);
    const close = source.close.bind(source);
    source.close = () => { streams.delete(source); close(); };
    return source;
  };
  window.addEventListener("pagehide", () => { for (const source of [...streams]) source.close(); });
  window.addEventListener("pageshow", (event) => { if (event.persisted) window.location.reload(); });

  // Numbers as people read them: 3 significant digits, small and large ones in e-notation.
  S.fmt = function (value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    if (!Number.isFinite(value)) return value > 0 ? "∞" : "−∞";
    const d = digits || 3;
    const magnitude = Math.abs(value);
    if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e5)) {
      const [mantissa, exponent] = value.toExponential(d - 1).split("e");
      const short = mantissa.includes(".") ? mantissa.replace(/\.?0+$/, "") : mantissa;
      return `${short}e${exponent.replace("+", "")}`;
    }
    return String(Number(value.toPrecision(d)));
  };

  S.duration = function (seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 60) return `${seconds.toFixed(1)} s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
    return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
  };

  S.date = (unix) => (unix ? new Date(unix * 1000).toLocaleString() : "–");

  // The query string as a Map, and writing one back without a reload.
  S.query = () => new URLSearchParams(window.location.search);
  S.setQuery = function (params) {
    const text = params.toString();
    const url = window.location.pathname + (text ? `?${text}` : "");
    if (url !== window.location.pathname + window.location.search) {
      window.history.replaceState(null, "", url);
    }
  };

  // Run `fn` at most once per `ms`, the last call winning.
  S.debounce = function (fn, ms) {
    let timer = null;
    return function (...args) {
      clearTimeout(timer);
      timer = setTimeout(() => fn.apply(this, args), ms);
    };
  };

  S.copyButton = function (button, source) {
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(source.textContent);
        button.textContent = "Copied";
      } catch (e) {
        const range = document.createRange();
        range.selectNodeContents(source);
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
        button.textContent = "Selected";
      }
      setTimeout(() => { button.textContent = "Copy"; }, 1500);
    });
  };

  // A uPlot chart that follows its box's width.
  S.chart = function (box, options, data) {
    S.clear(box);
    const width = Math.max(300, box.clientWidth || 600);
    const plot = new uPlot(Object.assign({ width: width, height: options.height || 240 }, options),
                           data, box);
    if (!box._steepestResize) {
      box._steepestResize = true;
      let last = width;
      new ResizeObserver(() => {
        const now = Math.max(300, box.clientWidth);
        if (box._plot && Math.abs(now - last) > 4) {
          last = now;
          box._plot.setSize({ width: now, height: box._plot.height });
        }
      }).observe(box);
    }
    box._plot = plot;
    return plot;
  };

  // A log scale's y range: whole decades around the data, never empty, and within
  // 1e-15..1e15: uPlot steps its log ticks through a table of that span, and below it would
  // loop for ever (a race that converges reaches losses of 1e-30). Smaller values sit at the
  // bottom edge.
  S.logScale = () => ({
    distr: 3, log: 10,
    range: (u, min, max) => {
      if (!(min > 0) || !(max > 0) || !Number.isFinite(min) || !Number.isFinite(max)) return [0.1, 1];
      const low = Math.max(1e-15, Math.pow(10, Math.floor(Math.log10(min))));
      let high = Math.min(1e15, Math.pow(10, Math.ceil(Math.log10(max))));
      if (high <= low) high = low * 10;
      return [low, high];
    },
  });

  // Axis values as S.fmt writes them.
  S.axisValues = (u, values) => values.map((v) => S.fmt(v));
  // Log axes label whole decades only, and every second or third one when there are many.
  const isDecade = (v) => v > 0 && Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9;
  const decadeStride = (values) => Math.max(1, Math.ceil(values.filter(isDecade).length / 6));
  S.logAxisValues = (u, values) => {
    const stride = decadeStride(values);
    return values.map((v) => (isDecade(v) && Math.round(Math.log10(v)) % stride === 0
      ? S.fmt(v) : ""));
  };
  // Splits of an asinh y axis (logarithmic both sides of 0, linear within ±asinh): 0 and the
  // powers of ten outside the linear part, every second or third when there are many.
  S.signedSplits = (u, splits) => {
    const linear = u.scales.y.asinh;
    const kept = (v) => v === 0 || (isDecade(Math.abs(v)) && Math.abs(v) >= 10 * linear);
    const stride = Math.max(1, Math.ceil(splits.filter((v) => v !== 0 && kept(v)).length / 6));
    return splits.map((v) => (v === 0 || (kept(v) &&
      Math.round(Math.log10(Math.abs(v))) % stride === 0) ? v : null));
  };
  // A y axis of a signed quantity over decades (scale: distr 4).
  S.signedAxis = (more) => Object.assign({
    size: 60, filter: S.signedSplits, grid: { filter: S.signedSplits },
    ticks: { filter: S.signedSplits },
    values: (u, values) => values.map((v) => (v === null ? "" : S.fmt(v))) }, more || {});
  // Grid lines and ticks of a log axis: every 1..9 of a decade while it spans one or two,
  // else the labelled decades only (nine lines a decade over many decades is a grey block).
  S.logSplits = (u, splits) => {
    if (splits.filter(isDecade).length <= 3) return splits;
    const stride = decadeStride(splits);
    return splits.map((v) => (isDecade(v) && Math.round(Math.log10(v)) % stride === 0 ? v : null));
  };
  // A y axis (linear or log) as every chart of the pages draws it; `more` adds options.
  S.yAxis = (log, more) => Object.assign(
    { size: 60, values: log ? S.logAxisValues : S.axisValues },
    log ? { grid: { filter: S.logSplits }, ticks: { filter: S.logSplits } } : {}, more || {});

  // A grid of values as a picture filling the canvas context g: colorAt(i, j) -> [r, g, b] for
  // column i and row j, row 0 at the bottom (the lowest y), one pixel per grid point scaled up
  // smoothly.
  S.drawGrid = function (g, columns, rows, colorAt) {
    const small = document.createElement("canvas");
    small.width = columns;
    small.height = rows;
    const sg = small.getContext("2d");
    const image = sg.createImageData(columns, rows);
    for (let j = 0; j < rows; j++) {
      for (let i = 0; i < columns; i++) {
        const rgb = colorAt(i, j);
        const k = ((rows - 1 - j) * columns + i) * 4;
        image.data[k] = rgb[0];
        image.data[k + 1] = rgb[1];
        image.data[k + 2] = rgb[2];
        image.data[k + 3] = 255;
      }
    }
    sg.putImageData(image, 0, 0);
    g.imageSmoothingEnabled = true;
    g.drawImage(small, 0, 0, g.canvas.width, g.canvas.height);
  };

  // Show one tab's view and mark its link.
  S.showView = function (name) {
    for (const section of document.querySelectorAll(".view")) {
      section.hidden = section.id !== `view-${name}`;
    }
    for (const link of document.querySelectorAll("nav a")) {
      link.classList.toggle("active", link.dataset.view === name);
    }
  };
})(window.steepest);

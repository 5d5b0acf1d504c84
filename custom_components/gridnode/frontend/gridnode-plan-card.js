/*
 * GridNode plan card: the energy plan for the next hours as one chart.
 *
 * A self-contained ES module (no build step, no external imports). It defines
 *   <gridnode-plan-card>         the Lovelace card
 *   <gridnode-plan-card-editor>  its visual editor
 * and lists the card in window.customCards so it shows up in the card picker.
 *
 * Data: the plan sensor's attributes (default entity sensor.gridnode_plan):
 *   slots: [{start, end (ISO UTC), price, pv_w, load_w, battery_w (+discharge/-charge),
 *            soc_pct, grid_w (+import/-export), ev_w, heat_pump_w, jobs: [job ids],
 *            cheap, clean, outage}]
 *   names: {device or job id: the name to show} (ids are unique, names may repeat)
 *   current_actions: {device id: {name, action}} (or, from older versions, {name: action text})
 *   savings_today, cost_today, currency (ISO 4217 code or a symbol), generated_at
 */

const CARD_TAG = "gridnode-plan-card";
const EDITOR_TAG = "gridnode-plan-card-editor";
const CARD_VERSION = "0.1.0";
const DEFAULT_ENTITY = "sensor.gridnode_plan";
const DEFAULT_HOURS = 24;
const MIN_HOURS = 6;
const MAX_HOURS = 48;
const COMPACT_BELOW_PX = 400;
const SVG_NS = "http://www.w3.org/2000/svg";
/* Planned-job rows between the price and power panels. Labels are measured as drawn, never guessed. */
const JOB_ROW_PX = 18; /* least row height (12 in the compact layout, which has no labels) */
const JOB_GAP_PX = 6; /* free space kept around a run's start marker (5 px wide each side) */
const JOB_LABEL_OFFSET_PX = 8; /* a label starts this far right of its run's start */
const JOB_LABEL_ROWS = 3; /* rows opened to fit labels; beyond, the label in the way is shortened */
const JOB_LABEL_BAND_PX = 72; /* and those rows take at most this much of the chart's height */
const ELLIPSIS = "\u2026";

/* Every series the card can draw, in legend order. `bar` series are drawn side by side per slot. */
const SERIES = [
  { key: "price", label: "Price", color: "var(--gridnode-price-color, var(--primary-color, #03a9f4))" },
  { key: "pv", label: "Solar", color: "var(--energy-solar-color, #ff9800)" },
  { key: "load", label: "Load", color: "var(--energy-non-fossil-color, var(--secondary-text-color, #727272))" },
  { key: "grid", label: "Grid", color: "var(--energy-grid-consumption-color, #488fc2)" },
  { key: "soc", label: "Battery charge", color: "var(--energy-battery-out-color, #4db6ac)" },
  { key: "battery", label: "Battery power", color: "var(--energy-battery-in-color, #f06292)", bar: true },
  { key: "ev", label: "EV charging", color: "var(--gridnode-ev-color, #8e44ad)", bar: true },
  { key: "heat_pump", label: "Heat pump", color: "var(--gridnode-heat-pump-color, #e65100)", bar: true },
  { key: "cheap", label: "Cheap", color: "var(--success-color, #43a047)" },
  { key: "clean", label: "Clean", color: "var(--gridnode-clean-color, #2e7d32)" },
  { key: "outage", label: "Grid outage", color: "var(--error-color, #db4437)" },
  { key: "jobs", label: "Planned jobs", color: "var(--gridnode-job-color, #5c6bc0)" },
];
const SERIES_KEYS = SERIES.map((s) => s.key);
/* Grid flow is off by default: the other series already tell the story and the chart stays calm. */
const DEFAULT_SERIES = SERIES_KEYS.filter((k) => k !== "grid");

const escapeHtml = (value) =>
  String(value)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");

const num = (value) => (typeof value === "number" && Number.isFinite(value) ? value : null);
const round1 = (value) => Math.round(value * 10) / 10;

/** Normalise a user's config: defaults, bounds and types. Throws on what cannot be understood. */
function normaliseConfig(config) {
  if (!config || typeof config !== "object") {
    throw new Error("Invalid configuration");
  }
  const entity = config.entity === undefined ? DEFAULT_ENTITY : config.entity;
  if (typeof entity !== "string" || !entity.includes(".")) {
    throw new Error("'entity' must be an entity id such as sensor.gridnode_plan");
  }
  let hours = config.hours === undefined ? DEFAULT_HOURS : Number(config.hours);
  if (!Number.isFinite(hours)) {
    throw new Error("'hours' must be a number between 6 and 48");
  }
  hours = Math.min(MAX_HOURS, Math.max(MIN_HOURS, Math.round(hours)));
  let series = config.series === undefined ? DEFAULT_SERIES : config.series;
  if (!Array.isArray(series)) {
    throw new Error("'series' must be a list of: " + SERIES_KEYS.join(", "));
  }
  series = SERIES_KEYS.filter((k) => series.includes(k));
  return {
    ...config,
    entity,
    hours,
    series,
    title: typeof config.title === "string" ? config.title : undefined,
    show_actions: config.show_actions !== false,
    show_savings: config.show_savings !== false,
  };
}

/** Merge consecutive slots (by index) where `test` holds into [first, last] runs. */
function runsWhere(slots, test) {
  const runs = [];
  let first = -1;
  slots.forEach((slot, i) => {
    if (test(slot)) {
      if (first < 0) first = i;
    } else if (first >= 0) {
      runs.push([first, i - 1]);
      first = -1;
    }
  });
  if (first >= 0) runs.push([first, slots.length - 1]);
  return runs;
}

/** A tick step that gives round numbers: 1, 2, 2.5, 5 times a power of ten. */
function niceStep(span, count) {
  const raw = span / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (m * power >= raw) return m * power;
  }
  return 10 * power;
}

/**
 * Measures job labels as the chart draws them: a hidden SVG <text> with the labels' class inside the
 * card's own shadow root, so the card's styles, the theme's font and whatever font the browser falls
 * back to all count. Where nothing can be measured (the card is not in the document yet, or sits in
 * a hidden view), a width measured before in the same font is reused; otherwise the width is
 * estimated generously and `estimated` is set, so that the card lays out again once it is shown.
 */
class LabelMeasure {
  constructor(container, cache) {
    this.cache = cache;
    this.estimated = false;
    this._text = null;
    let style = null;
    if (container && container.isConnected) {
      const svg = document.createElementNS(SVG_NS, "svg");
      svg.setAttribute("class", "gn-measure");
      svg.setAttribute("aria-hidden", "true");
      const group = document.createElementNS(SVG_NS, "g");
      group.setAttribute("class", "job-marker");
      this._text = document.createElementNS(SVG_NS, "text");
      group.append(this._text);
      svg.append(group);
      container.append(svg);
      style = getComputedStyle(this._text);
    }
    const px = (value, fallback) => {
      const n = parseFloat(value);
      return Number.isFinite(n) ? n : fallback;
    };
    this.fontSize = px(style?.fontSize, 11);
    this.letterSpacing = Math.max(0, px(style?.letterSpacing, 0));
    /* The label's halo (a stroke in the card's background colour) is part of what one sees. */
    this.halo = style && style.stroke === "none" ? 0 : px(style?.strokeWidth, 3);
    this._key = style
      ? [style.fontStyle, style.fontVariant, style.fontWeight, style.fontStretch, style.fontSize,
         style.fontFamily, style.letterSpacing, style.wordSpacing, style.fontKerning].join("|")
      : null;
  }

  /** The extent of `str` drawn at (0, baseline 0), without the halo: {left, right, ascent, descent}. */
  measure(str) {
    if (!str.trim()) return { left: 0, right: 0, ascent: 0, descent: 0 };
    const key = this._key === null ? null : `${this._key}\u0000${str}`;
    if (key !== null && this.cache.has(key)) return this.cache.get(key);
    if (this._text) {
      this._text.textContent = str;
      const advance = this._text.getComputedTextLength();
      if (advance > 0) {
        const box = this._text.getBBox();
        const extent = {
          left: Math.min(0, box.x),
          right: Math.max(advance, box.x + box.width),
          ascent: Math.max(0, -box.y),
          descent: Math.max(0, box.y + box.height),
        };
        // While a web font loads, text is laid out in a fallback font: measure it, keep it not.
        if (document.fonts?.status !== "loading") {
          if (this.cache.size > 500) this.cache.clear();
          this.cache.set(key, extent);
        }
        return extent;
      }
    }
    this.estimated = true;
    const size = this.fontSize;
    return { left: 0, right: Array.from(str).length * (size * 0.75 + this.letterSpacing), ascent: size, descent: size * 0.3 };
  }

  /** The longest start of `str` that, ending in an ellipsis, is at most `room` wide; "" if none. */
  elide(str, room) {
    const chars = Array.from(str);
    const candidate = (n) => chars.slice(0, n).join("").trimEnd() + ELLIPSIS;
    let lo = 0;
    let hi = chars.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (this.measure(candidate(mid)).right <= room) lo = mid;
      else hi = mid - 1;
    }
    return lo > 0 ? candidate(lo) : "";
  }
}

/**
 * Give each job run a row. A run occupies [begin, end) of its row: its start marker and bar and,
 * in the wide layout, its label. It goes on the first row that is free from `begin` on. When none
 * is, a new row is opened while there are fewer than `labelRows` (or than the bars alone need);
 * after that the label of the run in the way is shortened (its `labelLimit` moves left) on the row
 * that leaves it the most room. Bars that would touch on every row always get a row of their own.
 * Returns the number of rows.
 */
function placeJobRuns(runs, labelRows) {
  const barEnds = [];
  for (const run of runs) {
    const row = barEnds.findIndex((end) => end <= run.begin);
    barEnds[row < 0 ? barEnds.length : row] = run.barEnd;
  }
  const rows = Math.max(labelRows, barEnds.length);
  const lastOnRow = [];
  for (const run of runs) {
    let row = lastOnRow.findIndex((last) => last.end <= run.begin);
    if (row < 0 && lastOnRow.length >= rows) {
      let room = -Infinity;
      lastOnRow.forEach((last, i) => {
        if (last.barEnd > run.begin || last.labelStart === undefined) return;
        const left = run.begin - JOB_GAP_PX - last.labelStart;
        if (left > room) {
          room = left;
          row = i;
        }
      });
      if (row >= 0) {
        const last = lastOnRow[row];
        last.labelLimit = Math.min(last.labelLimit, run.begin - JOB_GAP_PX);
      }
    }
    if (row < 0) row = lastOnRow.length;
    run.row = row;
    lastOnRow[row] = run;
  }
  return lastOnRow.length;
}

class Formatters {
  constructor(hass, currency) {
    const language = (hass && (hass.locale?.language || hass.language)) || "en";
    const serverZone = hass?.locale?.time_zone === "server" ? hass?.config?.time_zone : undefined;
    const hour12 = hass?.locale?.time_format === "12" ? true : hass?.locale?.time_format === "24" ? false : undefined;
    const make = (options, withHour12 = true) => {
      const extra = withHour12 && hour12 !== undefined ? { hour12 } : {};
      try {
        return new Intl.DateTimeFormat(language, { ...options, ...extra, timeZone: serverZone });
      } catch (_err) {
        return new Intl.DateTimeFormat("en", { ...options, ...extra });
      }
    };
    this.time = make({ hour: "2-digit", minute: "2-digit" });
    this.weekday = make({ weekday: "short" });
    this.parts = make({ hour: "numeric", minute: "numeric", hourCycle: "h23" }, false);
    this.language = language;
    this.currency = typeof currency === "string" ? currency : "";
    this.money = null;
    if (/^[A-Z]{3}$/.test(this.currency)) {
      try {
        this.money = new Intl.NumberFormat(language, { style: "currency", currency: this.currency });
      } catch (_err) {
        this.money = null;
      }
    }
    this.decimal = new Intl.NumberFormat(language, { maximumFractionDigits: 2 });
    this.kw = new Intl.NumberFormat(language, { maximumFractionDigits: 1 });
  }

  /** Local hour and minute of a time, in the zone the user chose. */
  hourMinute(ms) {
    let hour = 0;
    let minute = 0;
    for (const part of this.parts.formatToParts(new Date(ms))) {
      if (part.type === "hour") hour = Number(part.value) % 24;
      if (part.type === "minute") minute = Number(part.value);
    }
    return [hour, minute];
  }

  formatMoney(value) {
    if (this.money) return this.money.format(value);
    return `${this.decimal.format(value)}${this.currency ? " " + this.currency : ""}`;
  }

  currencySymbol() {
    if (!this.money) return this.currency;
    const part = this.money.formatToParts(0).find((p) => p.type === "currency");
    return part ? part.value : this.currency;
  }

  formatPrice(value) {
    const unit = this.currencySymbol();
    return `${new Intl.NumberFormat(this.language, { maximumFractionDigits: 3 }).format(value)}${unit ? " " + unit : ""}/kWh`;
  }

  formatKw(watts) {
    return `${this.kw.format(watts / 1000)} kW`;
  }
}

/** Parse the plan attributes into the slots visible in the window that starts with the current slot. */
function visiblePlan(attributes, hours, nowMs) {
  const raw = Array.isArray(attributes?.slots) ? attributes.slots : [];
  const names = attributes?.names && typeof attributes.names === "object" ? attributes.names : {};
  const nameOf = (id) => (typeof names[id] === "string" && names[id] ? names[id] : id);
  const slots = [];
  for (const slot of raw) {
    if (!slot || typeof slot !== "object") continue;
    const start = Date.parse(slot.start);
    const end = Date.parse(slot.end);
    if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start) continue;
    // Jobs are keyed by id (two may share a name) and shown by name.
    const jobIds = (Array.isArray(slot.jobs) ? slot.jobs : []).filter((id) => typeof id === "string");
    slots.push({ ...slot, jobIds, jobs: jobIds.map(nameOf), startMs: start, endMs: end });
  }
  slots.sort((a, b) => a.startMs - b.startMs);
  const ahead = slots.filter((s) => s.endMs > nowMs);
  if (!ahead.length) return { slots: [], total: slots.length, from: nowMs, to: nowMs + hours * 3600e3 };
  const from = ahead[0].startMs;
  const to = from + hours * 3600e3;
  const visible = ahead.filter((s) => s.startMs < to).map((s) => ({ ...s, endMs: Math.min(s.endMs, to) }));
  return { slots: visible, total: slots.length, from, to: Math.max(to, from + 1) };
}

const STYLE = `
  :host { display: block; }
  ha-card { display: block; height: 100%; overflow: hidden; }
  ha-card:not(:defined) {
    background: var(--ha-card-background, var(--card-background-color, #fff));
    border-radius: var(--ha-card-border-radius, 12px);
    border: 1px solid var(--divider-color, #e0e0e0);
  }
  .root { padding: 12px 16px 16px; color: var(--primary-text-color, #212121); font-family: var(--ha-font-family-body, var(--paper-font-body1_-_font-family, inherit)); }
  .root.compact { padding: 8px 10px 12px; }
  .header { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 4px 16px; }
  .title { margin: 0; font-size: 1.25em; font-weight: 500; color: var(--primary-text-color, #212121); }
  .compact .title { font-size: 1.1em; }
  .updated { font-size: 0.8em; color: var(--secondary-text-color, #727272); }
  .savings { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 6px 0 2px; font-size: 0.95em; }
  .savings .value { font-weight: 600; }
  .savings .saved .value { color: var(--success-color, #43a047); }
  .chart { margin-top: 8px; position: relative; }
  .chart svg.gn-measure { position: absolute; left: 0; top: 0; width: 0; height: 0; overflow: hidden; visibility: hidden; pointer-events: none; }
  svg { display: block; width: 100%; overflow: visible; }
  svg text { fill: var(--secondary-text-color, #727272); font-size: 11px; }
  .compact svg text { font-size: 10px; }
  .axis line, .grid-line { stroke: var(--divider-color, #e0e0e0); stroke-width: 1; }
  .zero-line { stroke: var(--secondary-text-color, #727272); stroke-opacity: 0.5; }
  .now-marker { stroke: var(--primary-text-color, #212121); stroke-dasharray: 3 3; stroke-opacity: 0.6; }
  .job-marker text { fill: var(--primary-text-color, #212121); paint-order: stroke; stroke: var(--ha-card-background, var(--card-background-color, #fff)); stroke-width: 3px; stroke-linejoin: round; }
  .slot-hit { fill: transparent; }
  .slot-hit:hover { fill: var(--primary-text-color, #000); fill-opacity: 0.06; }
  .legend { display: flex; flex-wrap: wrap; gap: 4px 14px; list-style: none; padding: 0; margin: 8px 0 0; font-size: 0.85em; color: var(--secondary-text-color, #727272); }
  .compact .legend { gap: 2px 10px; font-size: 0.8em; }
  .legend li { display: inline-flex; align-items: center; gap: 6px; }
  .swatch { display: inline-block; width: 12px; height: 12px; border-radius: 3px; }
  .swatch.line { height: 3px; border-radius: 2px; }
  .actions { margin-top: 12px; }
  .actions h3 { margin: 0 0 4px; font-size: 0.95em; font-weight: 500; }
  .actions dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
  .compact .actions dl { grid-template-columns: 1fr; gap: 0; }
  .compact .actions dd { margin-bottom: 4px; }
  .actions dt { color: var(--secondary-text-color, #727272); }
  .actions dd { margin: 0; }
  .warning + .chart { margin-top: 8px; }
  .warning { margin-top: 8px; padding: 12px; border-radius: 8px; color: var(--primary-text-color, #212121);
    background: rgba(var(--rgb-warning-color, 255, 166, 0), 0.15); border-left: 4px solid var(--warning-color, #ffa600); }
`;

class GridNodePlanCard extends HTMLElement {
  static getConfigElement() {
    return document.createElement(EDITOR_TAG);
  }

  static getStubConfig(hass) {
    const states = hass?.states || {};
    let entity = DEFAULT_ENTITY;
    if (!states[entity]) {
      const found = Object.keys(states).find(
        (id) => id.startsWith("sensor.") && Array.isArray(states[id]?.attributes?.slots),
      );
      if (found) entity = found;
    }
    return { entity, hours: DEFAULT_HOURS };
  }

  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this._config = null;
    this._hass = null;
    this._width = 0;
    this._renderedKey = null;
    this._resizeObserver = null;
    this._pendingChart = null;
    this._labelCache = new Map();
    /* Set when job labels were laid out with estimated widths (card hidden or not yet attached). */
    this._labelsEstimated = false;
    this._hasJobLabels = false;
    /* A web font that finishes loading (Home Assistant loads its own) changes how wide labels are. */
    this._onFontsLoaded = () => {
      this._labelCache.clear();
      if (!this._hasJobLabels) return;
      this._renderedKey = null;
      this._render();
    };
  }

  setConfig(config) {
    this._config = normaliseConfig(config);
    this._renderedKey = null;
    this._render();
  }

  set hass(hass) {
    this._hass = hass;
    this._render();
  }

  get hass() {
    return this._hass;
  }

  getCardSize() {
    return this._config && this._config.show_actions ? 7 : 5;
  }

  getGridOptions() {
    return { columns: 12, min_columns: 6 };
  }

  connectedCallback() {
    if (!this._resizeObserver && typeof ResizeObserver !== "undefined") {
      this._resizeObserver = new ResizeObserver((entries) => {
        const width = Math.floor(entries[entries.length - 1].contentRect.width);
        if (width > 0 && (width !== this._width || this._labelsEstimated)) {
          this._width = width;
          this._renderedKey = null;
          this._render();
        }
      });
    }
    this._resizeObserver?.observe(this);
    document.fonts?.addEventListener?.("loadingdone", this._onFontsLoaded);
    const width = Math.floor(this.getBoundingClientRect().width);
    if (width > 0) this._width = width;
    this._renderedKey = null;
    this._render();
  }

  disconnectedCallback() {
    this._resizeObserver?.disconnect();
    document.fonts?.removeEventListener?.("loadingdone", this._onFontsLoaded);
  }

  _render() {
    if (!this._config || !this.shadowRoot) return;
    const config = this._config;
    const hass = this._hass;
    const stateObj = hass?.states?.[config.entity];
    const width = this._width || 600;
    const key = [stateObj, width, hass?.themes?.darkMode, hass?.themes?.theme, hass?.locale, hass?.language];
    if (this._renderedKey && key.every((part, i) => part === this._renderedKey[i])) return;
    this._renderedKey = key;

    const compact = width < COMPACT_BELOW_PX;
    const title = config.title ?? "Energy plan";
    let body;
    this._pendingChart = null;
    if (!hass) {
      body = "";
    } else if (!stateObj) {
      body = `<div class="warning" role="alert">Entity not found: ${escapeHtml(config.entity)}</div>`;
    } else {
      body = this._renderPlan(stateObj, width, compact);
    }
    this.shadowRoot.innerHTML = `
      <style>${STYLE}</style>
      <ha-card>
        <div class="root ${compact ? "compact" : "wide"}" data-layout="${compact ? "compact" : "wide"}">
          <div class="header">
            <h2 class="title">${escapeHtml(title)}</h2>
            ${this._updatedText(stateObj)}
          </div>
          ${body}
        </div>
      </ha-card>`;
    this._drawChart();
  }

  /**
   * Draw the chart into its place in the card, now that the card's styles apply there: job labels
   * are measured in the font they are drawn with, and the chart gets the width it is shown at.
   */
  _drawChart() {
    const pending = this._pendingChart;
    this._pendingChart = null;
    this._labelsEstimated = false;
    this._hasJobLabels = false;
    const holder = pending && this.shadowRoot.querySelector(".chart");
    if (!holder) return;
    const measure = new LabelMeasure(holder, this._labelCache);
    const shown = Math.floor(holder.clientWidth);
    const width = shown >= 120 ? shown : pending.width;
    holder.innerHTML = this._renderChart(pending.plan, width, pending.compact, pending.fmt, pending.present, measure);
    this._hasJobLabels = !pending.compact && pending.present.has("jobs");
    this._labelsEstimated = this._hasJobLabels && measure.estimated;
  }

  _updatedText(stateObj) {
    const generated = Date.parse(stateObj?.attributes?.generated_at);
    if (!Number.isFinite(generated)) return "";
    const fmt = new Formatters(this._hass, "");
    return `<span class="updated">Updated ${escapeHtml(fmt.time.format(new Date(generated)))}</span>`;
  }

  _renderPlan(stateObj, width, compact) {
    const config = this._config;
    const attributes = stateObj.attributes || {};
    const fmt = new Formatters(this._hass, attributes.currency);
    const plan = visiblePlan(attributes, config.hours, Date.now());
    const parts = [];
    if (config.show_savings) parts.push(this._renderSavings(attributes, fmt));
    if (stateObj.state === "fallback") {
      const why = typeof attributes.reason === "string" && attributes.reason ? `: ${attributes.reason}` : "";
      parts.push(`<div class="warning fallback" role="status">${escapeHtml(`Devices are running on their own settings${why}`)}</div>`);
    }
    if (!plan.slots.length) {
      const reason = plan.total
        ? "The plan has no time slots ahead: it is out of date."
        : "No plan yet: GridNode has not produced a plan.";
      parts.push(`<div class="warning" role="status">${escapeHtml(reason)}</div>`);
    } else {
      const shown = new Set(config.series);
      const present = this._presentSeries(plan.slots, shown);
      // The chart is drawn at its displayed size (measured once in place; until then the card width
      // less the padding), so text is never scaled.
      const chartWidth = Math.max(120, width - (compact ? 20 : 32));
      this._pendingChart = { plan, width: chartWidth, compact, fmt, present };
      parts.push(`<div class="chart"></div>`);
      parts.push(this._renderLegend(present));
    }
    if (config.show_actions) parts.push(this._renderActions(attributes.current_actions));
    return parts.join("");
  }

  _presentSeries(slots, shown) {
    const any = (fn) => slots.some(fn);
    const nonZero = (field) => any((s) => Math.abs(num(s[field]) ?? 0) >= 1);
    const has = {
      price: any((s) => num(s.price) !== null),
      pv: nonZero("pv_w"),
      load: nonZero("load_w"),
      grid: nonZero("grid_w"),
      soc: any((s) => num(s.soc_pct) !== null),
      battery: nonZero("battery_w"),
      ev: nonZero("ev_w"),
      heat_pump: nonZero("heat_pump_w"),
      cheap: any((s) => s.cheap === true),
      clean: any((s) => s.clean === true),
      outage: any((s) => s.outage === true),
      jobs: any((s) => Array.isArray(s.jobs) && s.jobs.length > 0),
    };
    return new Set(SERIES_KEYS.filter((k) => shown.has(k) && has[k]));
  }

  _renderSavings(attributes, fmt) {
    const saved = num(attributes.savings_today);
    const cost = num(attributes.cost_today);
    if (saved === null && cost === null) return "";
    const items = [];
    if (saved !== null) {
      items.push(`<span class="saved">Saved today <span class="value">${escapeHtml(fmt.formatMoney(saved))}</span></span>`);
    }
    if (cost !== null) {
      items.push(`<span class="cost">Cost today <span class="value">${escapeHtml(fmt.formatMoney(cost))}</span></span>`);
    }
    return `<div class="savings" aria-label="Savings">${items.join("")}</div>`;
  }

  _renderActions(actions) {
    if (!actions || typeof actions !== "object" || Array.isArray(actions)) return "";
    // {id: {name, action}}: one row per device, even when two share a name
    const rows = Object.entries(actions)
      .map(([id, entry]) =>
        entry && typeof entry === "object" ? [id, entry.name || id, entry.action] : [id, id, entry],
      )
      .filter(([, , text]) => typeof text === "string" && text !== "")
      .map(([id, name, text]) => `<dt data-device="${escapeHtml(id)}">${escapeHtml(name)}</dt><dd>${escapeHtml(text)}</dd>`);
    if (!rows.length) return "";
    return `<section class="actions" aria-label="Current actions"><h3>Now</h3><dl>${rows.join("")}</dl></section>`;
  }

  _renderLegend(present) {
    const items = SERIES.filter((s) => present.has(s.key)).map((s) => {
      const line = ["price", "soc", "grid"].includes(s.key);
      return `<li data-series="${s.key}"><span class="swatch${line ? " line" : ""}" style="background:${s.color}"></span>${escapeHtml(s.label)}</li>`;
    });
    return `<ul class="legend" aria-label="Legend">${items.join("")}</ul>`;
  }

  _renderChart(plan, width, compact, fmt, present, measure = new LabelMeasure(null, new Map())) {
    const { slots, from, to } = plan;
    const height = compact ? 210 : 280;
    const m = { left: compact ? 34 : 50, right: present.has("soc") ? (compact ? 30 : 36) : 8, top: 6, bottom: 20 };
    const plotW = Math.max(10, width - m.left - m.right);
    const x = (ms) => m.left + ((ms - from) / (to - from)) * plotW;
    // Job runs share a row unless their bars or (in the wide layout) their labels would touch.
    const jobRuns = present.has("jobs") ? this._jobRuns(slots) : [];
    let jobRowH = compact ? 12 : JOB_ROW_PX;
    for (const run of jobRuns) {
      run.x0 = x(slots[run.first].startMs);
      run.x1 = x(slots[run.last].endMs);
      run.begin = run.x0 - JOB_GAP_PX;
      run.barEnd = run.x1 + JOB_GAP_PX;
      run.end = run.barEnd;
      if (compact) continue;
      // The label's box as drawn, halo included; it may run past the bar but not off the chart.
      run.extent = measure.measure(run.name);
      run.textX = run.x0 + JOB_LABEL_OFFSET_PX;
      run.labelStart = run.textX + run.extent.left - measure.halo;
      run.labelLimit = width - 1;
      run.end = Math.max(run.barEnd, Math.min(run.textX + run.extent.right + measure.halo, run.labelLimit) + JOB_GAP_PX);
      jobRowH = Math.max(jobRowH, Math.ceil(run.extent.ascent + run.extent.descent + 2 * measure.halo + 1));
    }
    const labelRows = compact ? Infinity : Math.max(1, Math.min(JOB_LABEL_ROWS, Math.floor(JOB_LABEL_BAND_PX / jobRowH)));
    const jobRows = placeJobRuns(jobRuns, labelRows);
    const priceH = present.has("price") || present.has("cheap") || present.has("clean") ? (compact ? 46 : 64) : 0;
    const gap = priceH ? 10 : 0;
    const jobsH = jobRows * jobRowH;
    const powerTop = m.top + priceH + gap + jobsH;
    const powerH = Math.max(40, height - powerTop - m.bottom);
    const out = [];

    // Accessible summary
    out.push(`<title id="gn-title">${escapeHtml(this._config.title ?? "Energy plan")}</title>`);
    out.push(`<desc id="gn-desc">${escapeHtml(this._summary(plan, fmt, present))}</desc>`);
    out.push(`<defs><pattern id="gn-outage-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
      <rect width="6" height="6" fill="var(--error-color, #db4437)" fill-opacity="0.10"></rect>
      <line x1="0" y1="0" x2="0" y2="6" stroke="var(--error-color, #db4437)" stroke-width="2" stroke-opacity="0.45"></line></pattern></defs>`);

    // Price panel with cheap/clean windows
    if (priceH) {
      const priceTop = m.top;
      const prices = slots.map((s) => num(s.price)).filter((p) => p !== null);
      if (present.has("cheap")) {
        for (const [a, b] of runsWhere(slots, (s) => s.cheap === true)) {
          out.push(this._rect("window-cheap", x(slots[a].startMs), priceTop, x(slots[b].endMs) - x(slots[a].startMs), priceH,
            `fill="${SERIES[8].color}" fill-opacity="0.16"`, `Cheap ${fmt.time.format(slots[a].startMs)}–${fmt.time.format(slots[b].endMs)}`));
        }
      }
      if (present.has("clean")) {
        const band = 5;
        for (const [a, b] of runsWhere(slots, (s) => s.clean === true)) {
          out.push(this._rect("window-clean", x(slots[a].startMs), priceTop + priceH - band, x(slots[b].endMs) - x(slots[a].startMs), band,
            `fill="${SERIES[9].color}" fill-opacity="0.8"`, `Clean ${fmt.time.format(slots[a].startMs)}–${fmt.time.format(slots[b].endMs)}`));
        }
      }
      if (present.has("price") && prices.length) {
        let lo = Math.min(0, ...prices);
        let hi = Math.max(...prices);
        if (hi - lo < 1e-9) hi = lo + 1;
        const pad = (hi - lo) * 0.1;
        hi += pad;
        if (lo < 0) lo -= pad;
        const y = (p) => priceTop + (1 - (p - lo) / (hi - lo)) * (priceH - 6);
        out.push(`<g class="axis price-axis"><text x="${m.left - 4}" y="${priceTop + 9}" text-anchor="end">${escapeHtml(this._shortPrice(Math.max(...prices), fmt))}</text>
          <text x="${m.left - 4}" y="${priceTop + priceH - 6}" text-anchor="end">${escapeHtml(this._shortPrice(Math.min(...prices), fmt))}</text></g>`);
        out.push(`<path class="series-price" fill="none" stroke="${SERIES[0].color}" stroke-width="2" stroke-linejoin="round" d="${this._stepPath(slots, x, (s) => num(s.price), y)}"><title>Price (${escapeHtml(fmt.formatPrice(0).replace(/^0\s*/, ""))})</title></path>`);
      }
    }

    // Job rows between the panels. A label that has no room for the whole name is shortened with an
    // ellipsis or left out; the marker's tooltip and accessible name always carry the full name.
    jobRuns.forEach((run) => {
      const { x0, x1 } = run;
      const yy = m.top + priceH + gap + run.row * jobRowH + jobRowH / 2;
      const label = `${run.name} ${fmt.time.format(slots[run.first].startMs)}–${fmt.time.format(slots[run.last].endMs)}`;
      let text = "";
      if (!compact) {
        const room = run.labelLimit - measure.halo - run.textX;
        const shown = run.extent.right <= room ? run.name : measure.elide(run.name, room);
        // Centre the text's box (ascent over descent) on the row.
        const baseline = round1(yy + (run.extent.ascent - run.extent.descent) / 2);
        const short = shown !== run.name ? ` data-elided="true"` : "";
        if (shown) text = `<text class="job-label" x="${round1(run.textX)}" y="${baseline}"${short}>${escapeHtml(shown)}</text>`;
      }
      out.push(`<g class="job-marker" data-job="${escapeHtml(run.name)}" data-job-id="${escapeHtml(run.id)}" role="img" aria-label="${escapeHtml("Planned: " + label)}"><title>${escapeHtml(label)}</title>
        <line x1="${x0}" x2="${x1}" y1="${yy}" y2="${yy}" stroke="${SERIES[11].color}" stroke-width="3" stroke-linecap="round"></line>
        <path d="M${x0} ${yy - 5} L${x0 + 5} ${yy} L${x0} ${yy + 5} L${x0 - 5} ${yy} Z" fill="${SERIES[11].color}"></path>${text}</g>`);
    });

    // Power panel
    const field = { pv: "pv_w", load: "load_w", grid: "grid_w", battery: "battery_w", ev: "ev_w", heat_pump: "heat_pump_w" };
    const powerKeys = Object.keys(field).filter((k) => present.has(k));
    let pMax = 0;
    let pMin = 0;
    for (const s of slots) {
      for (const k of powerKeys) {
        const v = num(s[field[k]]) ?? 0;
        pMax = Math.max(pMax, v);
        pMin = Math.min(pMin, v);
      }
    }
    if (pMax - pMin < 100) pMax = pMin + 1000;
    const step = niceStep((pMax - pMin) / 1000, compact ? 3 : 4) * 1000;
    pMax = Math.ceil(pMax / step) * step;
    pMin = Math.floor(pMin / step) * step;
    const yP = (w) => powerTop + (1 - (w - pMin) / (pMax - pMin)) * powerH;
    const ticks = [];
    for (let w = pMin; w <= pMax + 1e-6; w += step) {
      const label = fmt.kw.format(w / 1000) + (w + step > pMax + 1e-6 ? " kW" : "");
      ticks.push(`<line class="grid-line" x1="${m.left}" x2="${m.left + plotW}" y1="${yP(w)}" y2="${yP(w)}"></line>
        <text x="${m.left - 4}" y="${yP(w) + 4}" text-anchor="end">${escapeHtml(label)}</text>`);
    }
    out.push(`<g class="axis power-axis">${ticks.join("")}</g>`);

    // Outages across the whole chart
    if (present.has("outage")) {
      for (const [a, b] of runsWhere(slots, (s) => s.outage === true)) {
        out.push(this._rect("outage", x(slots[a].startMs), m.top, x(slots[b].endMs) - x(slots[a].startMs), powerTop + powerH - m.top,
          `fill="url(#gn-outage-hatch)"`, `Grid outage ${fmt.time.format(slots[a].startMs)}–${fmt.time.format(slots[b].endMs)}`));
      }
    }

    // Areas: load under PV so that surplus stands out
    if (present.has("load")) {
      out.push(`<path class="series-load" fill="${SERIES[2].color}" fill-opacity="0.18" stroke="${SERIES[2].color}" stroke-width="1.5" d="${this._areaPath(slots, x, (s) => num(s.load_w) ?? 0, yP)}"></path>`);
    }
    if (present.has("pv")) {
      out.push(`<path class="series-pv" fill="${SERIES[1].color}" fill-opacity="0.30" stroke="${SERIES[1].color}" stroke-width="1.5" d="${this._areaPath(slots, x, (s) => num(s.pv_w) ?? 0, yP)}"></path>`);
    }

    // Bars, side by side within each slot
    const barKeys = ["battery", "ev", "heat_pump"].filter((k) => present.has(k));
    if (barKeys.length) {
      const bars = [];
      slots.forEach((s, i) => {
        const x0 = x(s.startMs);
        const slotW = x(s.endMs) - x0;
        const barW = Math.max(1, (slotW * 0.8) / barKeys.length);
        barKeys.forEach((k, j) => {
          const v = num(s[field[k]]) ?? 0;
          if (Math.abs(v) < 1) return;
          const y0 = yP(Math.max(0, v));
          const h = Math.max(1, Math.abs(yP(v) - yP(0)));
          const spec = SERIES.find((d) => d.key === k);
          const what = k === "battery" ? (v > 0 ? "Battery discharging" : "Battery charging") : spec.label;
          bars.push(`<rect class="bar bar-${k}" data-slot="${i}" x="${round1(x0 + slotW * 0.1 + j * barW)}" y="${round1(y0)}" width="${round1(barW)}" height="${round1(h)}" fill="${spec.color}" fill-opacity="0.85"><title>${escapeHtml(`${what} ${fmt.formatKw(Math.abs(v))}, ${fmt.time.format(s.startMs)}`)}</title></rect>`);
        });
      });
      out.push(`<g class="bars">${bars.join("")}</g>`);
    }
    if (present.has("grid")) {
      out.push(`<path class="series-grid" fill="none" stroke="${SERIES[3].color}" stroke-width="1.5" stroke-dasharray="4 3" d="${this._stepPath(slots, x, (s) => num(s.grid_w), yP)}"></path>`);
    }
    out.push(`<line class="zero-line" x1="${m.left}" x2="${m.left + plotW}" y1="${yP(0)}" y2="${yP(0)}"></line>`);

    // Battery state of charge on the right axis
    if (present.has("soc")) {
      const yS = (pct) => powerTop + (1 - Math.min(100, Math.max(0, pct)) / 100) * powerH;
      const points = slots
        .map((s) => [x((s.startMs + s.endMs) / 2), num(s.soc_pct)])
        .filter(([, v]) => v !== null)
        .map(([px, v], i) => `${i ? "L" : "M"}${round1(px)} ${round1(yS(v))}`);
      out.push(`<g class="axis soc-axis">${[0, 50, 100].map((p) => `<text x="${m.left + plotW + 4}" y="${yS(p) + 4}">${p}%</text>`).join("")}</g>`);
      out.push(`<path class="series-soc" fill="none" stroke="${SERIES[4].color}" stroke-width="2.5" stroke-linejoin="round" d="${points.join(" ")}"><title>Battery charge (%)</title></path>`);
    }

    // Time axis
    out.push(this._timeAxis(from, to, x, powerTop + powerH, compact, fmt, m, priceH ? m.top : powerTop));

    // Now marker
    const now = Date.now();
    if (now >= from && now <= to) {
      out.push(`<line class="now-marker" x1="${x(now)}" x2="${x(now)}" y1="${m.top}" y2="${powerTop + powerH}"><title>Now</title></line>`);
    }

    // Per-slot hover targets with a readable summary
    out.push(`<g class="slot-targets">${slots.map((s, i) => `<rect class="slot-hit" data-slot="${i}" x="${round1(x(s.startMs))}" y="${m.top}" width="${round1(Math.max(1, x(s.endMs) - x(s.startMs)))}" height="${round1(powerTop + powerH - m.top)}"><title>${escapeHtml(this._slotText(s, fmt))}</title></rect>`).join("")}</g>`);

    return `<svg role="img" aria-labelledby="gn-title gn-desc" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" preserveAspectRatio="xMinYMin meet" xmlns="${SVG_NS}">${out.join("")}</svg>`;
  }

  _shortPrice(value, fmt) {
    return new Intl.NumberFormat(fmt.language, { maximumFractionDigits: 2, minimumFractionDigits: 2 }).format(value);
  }

  _rect(cls, x, y, w, h, attrs, title) {
    return `<rect class="${cls}" x="${round1(x)}" y="${round1(y)}" width="${round1(Math.max(1, w))}" height="${round1(h)}" ${attrs}><title>${escapeHtml(title)}</title></rect>`;
  }

  /** A step line: flat across each slot. Gaps where the value is missing. */
  _stepPath(slots, x, value, y) {
    const d = [];
    let open = false;
    for (const s of slots) {
      const v = value(s);
      if (v === null) {
        open = false;
        continue;
      }
      d.push(`${open ? "L" : "M"}${round1(x(s.startMs))} ${round1(y(v))} L${round1(x(s.endMs))} ${round1(y(v))}`);
      open = true;
    }
    return d.join(" ");
  }

  /** A filled step area down to zero. */
  _areaPath(slots, x, value, y) {
    const base = round1(y(0));
    const d = [`M${round1(x(slots[0].startMs))} ${base}`];
    for (const s of slots) {
      const yy = round1(y(value(s)));
      d.push(`L${round1(x(s.startMs))} ${yy} L${round1(x(s.endMs))} ${yy}`);
    }
    d.push(`L${round1(x(slots[slots.length - 1].endMs))} ${base} Z`);
    return d.join(" ");
  }

  /** Contiguous runs of each job (by id), in order of their start. */
  _jobRuns(slots) {
    const ids = [];
    const names = new Map();
    for (const s of slots) {
      s.jobIds.forEach((id, i) => {
        if (!ids.includes(id)) {
          ids.push(id);
          names.set(id, s.jobs[i]);
        }
      });
    }
    const runs = [];
    for (const id of ids) {
      for (const [first, last] of runsWhere(slots, (s) => s.jobIds.includes(id))) {
        runs.push({ id, name: names.get(id), first, last, row: 0 });
      }
    }
    runs.sort((a, b) => a.first - b.first);
    return runs;
  }

  _timeAxis(from, to, x, bottom, compact, fmt, m, top) {
    const hours = (to - from) / 3600e3;
    const every = compact ? (hours > 24 ? 12 : 6) : hours > 24 ? 6 : 3;
    const out = [];
    const quarter = 15 * 60e3;
    for (let t = Math.ceil(from / quarter) * quarter; t < to; t += quarter) {
      const [hour, minute] = fmt.hourMinute(t);
      if (minute !== 0 || hour % every !== 0) continue;
      const label = hour === 0 ? fmt.weekday.format(new Date(t)) : fmt.time.format(new Date(t));
      out.push(`<g class="tick"><line class="grid-line" x1="${round1(x(t))}" x2="${round1(x(t))}" y1="${top}" y2="${bottom}" stroke-opacity="0.6"></line>
        <text x="${round1(x(t))}" y="${bottom + 14}" text-anchor="middle">${escapeHtml(label)}</text></g>`);
    }
    return `<g class="axis time-axis">${out.join("")}</g>`;
  }

  _slotText(s, fmt) {
    const parts = [`${fmt.time.format(s.startMs)}–${fmt.time.format(s.endMs)}`];
    if (num(s.price) !== null) parts.push(fmt.formatPrice(s.price) + (s.price_estimated === true ? " (estimated)" : ""));
    if (num(s.pv_w) !== null) parts.push(`solar ${fmt.formatKw(s.pv_w)}`);
    if (num(s.load_w) !== null) parts.push(`load ${fmt.formatKw(s.load_w)}`);
    const bat = num(s.battery_w);
    if (bat !== null && Math.abs(bat) >= 1) parts.push(`battery ${bat > 0 ? "discharging" : "charging"} ${fmt.formatKw(Math.abs(bat))}`);
    if (num(s.soc_pct) !== null) parts.push(`charge ${Math.round(s.soc_pct)} %`);
    const grid = num(s.grid_w);
    if (grid !== null && Math.abs(grid) >= 1) parts.push(`grid ${grid > 0 ? "import" : "export"} ${fmt.formatKw(Math.abs(grid))}`);
    if ((num(s.ev_w) ?? 0) >= 1) parts.push(`EV ${fmt.formatKw(s.ev_w)}`);
    if ((num(s.heat_pump_w) ?? 0) >= 1) parts.push(`heat pump ${fmt.formatKw(s.heat_pump_w)}`);
    if (Array.isArray(s.jobs) && s.jobs.length) parts.push(`jobs: ${s.jobs.join(", ")}`);
    const flags = [s.cheap === true && "cheap", s.clean === true && "clean", s.outage === true && "grid outage"].filter(Boolean);
    if (flags.length) parts.push(flags.join(", "));
    return parts.join(" · ");
  }

  _summary(plan, fmt, present) {
    const { slots } = plan;
    const hours = Math.round((plan.to - plan.from) / 3600e3);
    const text = [`Plan for the next ${hours} hours from ${fmt.time.format(plan.from)}.`];
    const priced = slots.filter((s) => num(s.price) !== null);
    if (present.has("price") && priced.length) {
      const cheapest = priced.reduce((a, b) => (b.price < a.price ? b : a));
      const dearest = priced.reduce((a, b) => (b.price > a.price ? b : a));
      text.push(`Price from ${fmt.formatPrice(cheapest.price)} at ${fmt.time.format(cheapest.startMs)} to ${fmt.formatPrice(dearest.price)} at ${fmt.time.format(dearest.startMs)}.`);
    }
    const socs = slots.map((s) => num(s.soc_pct)).filter((v) => v !== null);
    if (present.has("soc") && socs.length) {
      text.push(`Battery charge ${Math.round(socs[0])} % now, between ${Math.round(Math.min(...socs))} % and ${Math.round(Math.max(...socs))} %.`);
    }
    if (present.has("outage")) {
      const runs = runsWhere(slots, (s) => s.outage === true);
      text.push(`Grid outage expected ${runs.map(([a, b]) => `${fmt.time.format(slots[a].startMs)}–${fmt.time.format(slots[b].endMs)}`).join(", ")}.`);
    }
    if (present.has("jobs")) {
      const runs = this._jobRuns(slots);
      text.push(`Planned: ${runs.map((r) => `${r.name} at ${fmt.time.format(slots[r.first].startMs)}`).join(", ")}.`);
    }
    return text.join(" ");
  }
}

const EDITOR_STYLE = `
  :host { display: block; }
  .editor { display: grid; gap: 12px; color: var(--primary-text-color, #212121); }
  label.field { display: grid; gap: 4px; font-size: 0.9em; color: var(--secondary-text-color, #727272); }
  input[type="text"], input[type="number"] {
    font: inherit; padding: 8px; border-radius: 4px; color: var(--primary-text-color, #212121);
    background: var(--card-background-color, #fff); border: 1px solid var(--divider-color, #bdbdbd);
  }
  fieldset { border: 1px solid var(--divider-color, #e0e0e0); border-radius: 6px; margin: 0; padding: 8px 12px;
    display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap: 4px 12px; }
  legend { padding: 0 4px; font-size: 0.9em; color: var(--secondary-text-color, #727272); }
  label.check { display: flex; align-items: center; gap: 6px; }
  input[type="checkbox"] { accent-color: var(--primary-color, #03a9f4); }
`;

class GridNodePlanCardEditor extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this._config = { entity: DEFAULT_ENTITY };
    this._hass = null;
    this._built = false;
  }

  setConfig(config) {
    this._config = { ...config };
    this._update();
  }

  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    if (first || this._built) this._updateEntityList();
  }

  connectedCallback() {
    this._update();
  }

  _build() {
    const seriesBoxes = SERIES.map(
      (s) => `<label class="check"><input type="checkbox" name="series" value="${s.key}">${escapeHtml(s.label)}</label>`,
    ).join("");
    this.shadowRoot.innerHTML = `
      <style>${EDITOR_STYLE}</style>
      <div class="editor">
        <label class="field">Plan entity
          <input type="text" id="entity" list="gridnode-plan-entities" autocomplete="off" placeholder="${DEFAULT_ENTITY}">
        </label>
        <datalist id="gridnode-plan-entities"></datalist>
        <label class="field">Title
          <input type="text" id="title" placeholder="Energy plan">
        </label>
        <label class="field">Hours ahead (${MIN_HOURS}–${MAX_HOURS})
          <input type="number" id="hours" min="${MIN_HOURS}" max="${MAX_HOURS}" step="1">
        </label>
        <fieldset id="series"><legend>Show on the chart</legend>${seriesBoxes}</fieldset>
        <label class="check"><input type="checkbox" id="show_actions">Show what each device does now</label>
        <label class="check"><input type="checkbox" id="show_savings">Show savings and cost today</label>
      </div>`;
    const root = this.shadowRoot;
    root.getElementById("entity").addEventListener("change", (ev) => {
      const value = ev.target.value.trim();
      this._emit({ entity: value || DEFAULT_ENTITY });
    });
    root.getElementById("title").addEventListener("change", (ev) => {
      const value = ev.target.value;
      this._emit({ title: value === "" ? undefined : value });
    });
    root.getElementById("hours").addEventListener("change", (ev) => {
      const value = Number(ev.target.value);
      if (!Number.isFinite(value) || ev.target.value === "") return;
      this._emit({ hours: Math.min(MAX_HOURS, Math.max(MIN_HOURS, Math.round(value))) });
    });
    root.getElementById("series").addEventListener("change", () => {
      const chosen = [...root.querySelectorAll('input[name="series"]')].filter((b) => b.checked).map((b) => b.value);
      this._emit({ series: chosen });
    });
    for (const id of ["show_actions", "show_savings"]) {
      root.getElementById(id).addEventListener("change", (ev) => this._emit({ [id]: ev.target.checked }));
    }
    this._built = true;
    this._updateEntityList();
  }

  _update() {
    if (!this.shadowRoot) return;
    if (!this._built) this._build();
    const root = this.shadowRoot;
    const config = this._config;
    const active = root.activeElement;
    const setValue = (id, value) => {
      const input = root.getElementById(id);
      if (input !== active) input.value = value;
    };
    setValue("entity", config.entity ?? DEFAULT_ENTITY);
    setValue("title", config.title ?? "");
    setValue("hours", String(config.hours ?? DEFAULT_HOURS));
    const series = Array.isArray(config.series) ? config.series : DEFAULT_SERIES;
    for (const box of root.querySelectorAll('input[name="series"]')) box.checked = series.includes(box.value);
    root.getElementById("show_actions").checked = config.show_actions !== false;
    root.getElementById("show_savings").checked = config.show_savings !== false;
  }

  /** Offer GridNode plan sensors first: registry platform gridnode, or any sensor carrying plan slots. */
  _updateEntityList() {
    const list = this.shadowRoot?.getElementById("gridnode-plan-entities");
    if (!list || !this._hass) return;
    const states = this._hass.states || {};
    const registry = this._hass.entities || {};
    const ids = Object.keys(states)
      .filter((id) => id.startsWith("sensor."))
      .filter((id) => registry[id]?.platform === "gridnode" || Array.isArray(states[id]?.attributes?.slots))
      .sort();
    list.innerHTML = ids
      .map((id) => `<option value="${escapeHtml(id)}">${escapeHtml(states[id]?.attributes?.friendly_name ?? id)}</option>`)
      .join("");
  }

  _emit(change) {
    const config = { ...this._config, ...change };
    for (const [key, value] of Object.entries(config)) {
      if (value === undefined) delete config[key];
    }
    this._config = config;
    this.dispatchEvent(new CustomEvent("config-changed", { detail: { config }, bubbles: true, composed: true }));
  }
}

/** Define the card and its editor, and list the card in the card picker (idempotent). */
function registerElements() {
  if (!customElements.get(CARD_TAG)) customElements.define(CARD_TAG, GridNodePlanCard);
  if (!customElements.get(EDITOR_TAG)) customElements.define(EDITOR_TAG, GridNodePlanCardEditor);

  window.customCards = window.customCards || [];
  if (!window.customCards.some((card) => card.type === CARD_TAG)) {
    window.customCards.push({
      type: CARD_TAG,
      name: "GridNode plan",
      description: "The energy plan for the next hours: prices, solar, load, battery, EV, heat pump, outages and planned jobs.",
      preview: true,
    });
    console.info(`%c GRIDNODE-PLAN-CARD %c ${CARD_VERSION} `, "color: white; background: #2e7d32", "");
  }
}

/*
 * Home Assistant loads this module beside its own app. When the app boots it may replace
 * window.customElements with a scoped registry; an element defined on the browser's registry
 * before that moment is invisible to dashboards ("Custom element doesn't exist"), until the
 * page is reloaded. On Home Assistant's page (it holds a <home-assistant> element) wait for the
 * app to define that element, then define ours on whatever registry is current.
 */
if (document.querySelector("home-assistant") && !customElements.get("home-assistant")) {
  customElements.whenDefined("home-assistant").then(registerElements);
} else {
  registerElements();
}

export { GridNodePlanCard, GridNodePlanCardEditor, normaliseConfig, visiblePlan, CARD_VERSION };

/*
 * GridNode plan card: the energy plan for the next hours as one chart.
 *
 * A self-contained ES module (no build step, no external imports). It defines
 *   <gridnode-plan-card>         the Lovelace card
 *   <gridnode-plan-card-editor>  its visual editor
 * and lists the card in window.customCards so it shows up in the card picker.
 *
 * Data: the plan slot by slot, fetched over Home Assistant's websocket (hass.callWS, command
 * WS_COMMAND) when the plan sensor's plan_version attribute changes, not on every write of the sensor:
 *   slots: [{start, end (ISO UTC), price, pv_w, load_w, battery_w (+discharge/-charge),
 *            soc_pct, grid_w (+import/-export), ev_w, heat_pump_w, jobs: [job ids],
 *            cheap, clean, outage}]
 *   names: {device or job id: the name to show} (ids are unique, names may repeat)
 * (a sensor that still carries `slots` in its attributes is read directly), and the plan sensor's
 * attributes (default entity sensor.gridnode_plan):
 *   current_actions: {device id: {name, action}} (or, from older versions, {name: action text})
 *   current_errors: {device id: {name, error, message}} (commands a device did not take)
 *   device_kinds: {device id: battery | ev | heat_pump | load}; ev_goals: {charger id: {soc_pct,
 *     target_pct, by, charging: [[start, end]]}}; device_violations: {device id: [message]}
 *   savings_today, savings_hours, cost_today, currency (ISO 4217 code or a symbol), generated_at
 * and, from the site's other sensors found beside the plan entity (SIBLING_KEYS): the metered cost
 * so far today and the grid outage in progress or the last one.
 * From these the card says, per device, what it does now, why and until when ("Explainer").
 * Its words are in STRINGS (en, de, nl), chosen by Home Assistant's language.
 */

const CARD_TAG = "gridnode-plan-card";
const EDITOR_TAG = "gridnode-plan-card-editor";
const CARD_VERSION = "0.1.0";
const DEFAULT_ENTITY = "sensor.gridnode_plan";
/* The websocket command that answers with the plan slot by slot (GridNode's websocket.py). */
const WS_COMMAND = "gridnode/plan";
/* After a failed fetch the same plan version is asked for again on an update this much later. */
const RETRY_AFTER_MS = 30e3;
const DEFAULT_HOURS = 24;
const MIN_HOURS = 6;
const MAX_HOURS = 48;
const COMPACT_BELOW_PX = 400;
const SVG_NS = "http://www.w3.org/2000/svg";
/* Planned-job rows between the price and power panels. Labels are measured as drawn, never guessed. */
const JOB_ROW_PX = 18; /* least row height */
const JOB_GAP_PX = 6; /* free space kept around a run's start marker (5 px wide each side) */
const JOB_LABEL_OFFSET_PX = 8; /* a label starts this far right of its run's start */
const JOB_LABEL_ROWS = 3; /* rows opened to fit labels; beyond, the label in the way is shortened */
const JOB_LABEL_BAND_PX = 72; /* and those rows take at most this much of the chart's height */
const ELLIPSIS = "\u2026";
/* The power drawn per series, and how far a car's charging may tower over the rest before it is cut. */
const POWER_FIELD = { pv: "pv_w", load: "load_w", grid: "grid_w", battery: "battery_w", ev: "ev_w", heat_pump: "heat_pump_w" };
const CLIP_FACTOR = 1.5;

/* Every series the card can draw, in legend order. `bar` series are drawn side by side per slot.
 * Each has its own colour: no two series the eye must tell apart share one. */
const SERIES = [
  { key: "price", color: "var(--gridnode-price-color, var(--primary-color, #03a9f4))" },
  { key: "pv", color: "var(--energy-solar-color, #ff9800)" },
  { key: "load", color: "var(--gridnode-load-color, #8d6e63)" },
  { key: "grid", color: "var(--energy-grid-consumption-color, #488fc2)" },
  { key: "soc", color: "var(--energy-battery-out-color, #4db6ac)" },
  { key: "battery", color: "var(--energy-battery-in-color, #f06292)", bar: true },
  { key: "ev", color: "var(--gridnode-ev-color, #8e44ad)", bar: true },
  { key: "heat_pump", color: "var(--gridnode-heat-pump-color, #e65100)", bar: true },
  { key: "cheap", color: "var(--gridnode-cheap-color, #43a047)" },
  { key: "clean", color: "var(--gridnode-clean-color, #00838f)" },
  { key: "outage", color: "var(--error-color, #db4437)" },
  { key: "jobs", color: "var(--gridnode-job-color, #5c6bc0)" },
];

/* The site's other GridNode sensors the card shows, found beside the plan entity (same device) by
 * their translation key: the metered cost so far today and the grid outage now or last. */
const SIBLING_KEYS = ["cost_today", "grid_state", "time_on_battery", "outage_energy",
  "last_outage_start", "last_outage_duration", "last_outage_energy"];

function siblings(hass, entityId) {
  const entities = hass?.entities;
  const own = entities?.[entityId];
  const found = {};
  if (!own || !own.device_id) return found;
  for (const entry of Object.values(entities)) {
    if (!entry || entry.platform !== "gridnode" || entry.device_id !== own.device_id) continue;
    if (!SIBLING_KEYS.includes(entry.translation_key)) continue;
    const state = hass.states?.[entry.entity_id];
    if (state) found[entry.translation_key] = state;
  }
  return found;
}

/*
 * The card's words in English, German and Dutch, chosen by Home Assistant's language.
 * {name} marks a value put in by the card.
 */
const STRINGS = {
  en: {
    "series.price": "Price", "series.pv": "Solar", "series.load": "Load", "series.grid": "Grid",
    "series.soc": "Battery charge", "series.battery": "Battery power", "series.ev": "EV charging",
    "series.heat_pump": "Heat pump", "series.cheap": "Cheap", "series.clean": "Clean",
    "series.outage": "Grid outage", "series.jobs": "Planned jobs",
    "card.title": "Energy plan", "card.updated": "Updated {time}", "card.now": "Now",
    "card.not_found": "Entity not found: {entity}", "card.out_of_date": "The plan has no time slots ahead: it is out of date.",
    "card.no_plan": "No plan yet: GridNode has not produced a plan.",
    "card.loading": "Loading the plan…", "card.fetch_failed": "Could not load the latest plan: {reason}",
    "card.fallback": "Devices are running on their own settings", "card.chart": "Chart", "card.table": "Table",
    "card.savings": "Planned savings, next {hours} h", "card.cost_planned": "Planned cost, rest of today",
    "card.cost_today": "Cost today: so far + planned", "card.cost_sum": "{so_far} + {planned} = {total}",
    "card.outage_now": "Grid outage since {time}: on battery for {duration}, {energy} served",
    "card.outage_last": "Last grid outage: {start}, {duration}, {energy} served",
    "card.tap_hint": "Tap the chart to see a time slot.",
    "card.clipped": "{series} bars are cut at {cut} (highest {max}).",
    "card.failed": "Did not take the plan's command: {reason}", "card.command": "command: {action}",
    "card.description": "The energy plan for the next hours: prices, solar, load, battery, EV, heat pump, outages and planned jobs.",
    "table.time": "Time", "table.price": "Price", "table.battery": "Battery", "table.ev": "Car",
    "table.heat_pump": "Heat pump", "table.jobs": "Jobs", "table.soc": "Charge", "table.cost": "Import cost",
    "table.charging": "charging {kw}", "table.discharging": "discharging {kw}",
    "table.caption": "The plan slot by slot: import cost is grid import × price.",
    "slot.estimated": "estimated", "slot.solar": "solar {kw}", "slot.load": "load {kw}",
    "slot.charging": "battery charging {kw}", "slot.discharging": "battery discharging {kw}",
    "slot.soc": "charge {pct}", "slot.import": "grid import {kw}", "slot.export": "grid export {kw}",
    "slot.ev": "EV {kw}", "slot.heat_pump": "heat pump {kw}", "slot.jobs": "jobs: {jobs}",
    "slot.cheap": "cheap", "slot.clean": "clean", "slot.outage": "grid outage",
    "chart.charging": "Battery charging", "chart.discharging": "Battery discharging", "chart.now": "Now",
    "chart.window_cheap": "Cheap {from}–{to}", "chart.window_clean": "Clean {from}–{to}",
    "chart.outage": "Grid outage {from}–{to}", "chart.planned": "Planned: {label}",
    "chart.price_unit": "Price ({unit})",
    "summary.plan": "Plan for the next {hours} hours from {time}.",
    "summary.price": "Price from {low} at {lowAt} to {high} at {highAt}.",
    "summary.soc": "Battery charge {now} now, between {min} and {max}.",
    "summary.outage": "Grid outage expected {runs}.", "summary.jobs": "Planned: {jobs}.", "summary.job_at": "{name} at {time}",
    "why.battery.solar": "surplus solar: {pv} solar, {load} use",
    "why.battery.cheap": "{hours} h at {price}, the average ahead is {avg}",
    "why.battery.dear": "price {price} now, the average ahead is {avg}",
    "why.battery.outage": "grid outage", "why.battery.keep": "keeping the charge for {time} at {price}",
    "why.battery.wait": "charging is cheaper at {time} ({price})", "why.battery.idle": "nothing cheaper or dearer ahead",
    "do.battery.charge": "charging {kw} until {until}", "do.battery.discharge": "discharging {kw} until {until}",
    "do.battery.hold": "holding until {until}", "do.battery.hold_all": "holding for the whole plan",
    "do.soc": "at {pct}",
    "do.ev.goal": "{pct} by {time}", "do.ev.goal_open": "{pct}", "do.ev.charging_now": "charging {kw} until {until}",
    "do.ev.runs": "charging {runs}", "do.ev.paused": "paused until {until}", "do.ev.none": "no charging planned",
    "why.ev.later": "{price} then, {now} now",
    "do.hp.on": "heating {kw} until {until}", "do.hp.off": "off until {until}", "do.hp.none": "no heating planned",
    "why.hp.on": "price {price} now, the average ahead is {avg}", "why.hp.off": "heating planned at {price}",
    "do.job.running": "running until {until}", "do.job.waiting": "waiting until {until}, runs {from}–{to}",
    "do.job.none": "not planned in the next {hours} h", "why.job.price": "{price} then, {now} now",
    "do.later": "{day} {time}",
    "editor.entity": "Plan entity", "editor.title": "Title", "editor.hours": "Hours ahead ({min}–{max})",
    "editor.series": "Show on the chart", "editor.show_actions": "Show what each device does now",
    "editor.show_savings": "Show planned savings and cost",
  },
  de: {
    "series.price": "Preis", "series.pv": "Solar", "series.load": "Verbrauch", "series.grid": "Netz",
    "series.soc": "Batterieladung", "series.battery": "Batterieleistung", "series.ev": "E-Auto-Laden",
    "series.heat_pump": "Wärmepumpe", "series.cheap": "Günstig", "series.clean": "Sauber",
    "series.outage": "Netzausfall", "series.jobs": "Geplante Aufgaben",
    "card.title": "Energieplan", "card.updated": "Aktualisiert {time}", "card.now": "Jetzt",
    "card.not_found": "Entität nicht gefunden: {entity}", "card.out_of_date": "Der Plan hat keine Zeitfenster mehr vor sich: er ist veraltet.",
    "card.no_plan": "Noch kein Plan: GridNode hat noch keinen Plan erstellt.",
    "card.loading": "Plan wird geladen…", "card.fetch_failed": "Der neueste Plan konnte nicht geladen werden: {reason}",
    "card.fallback": "Die Geräte laufen mit ihren eigenen Einstellungen", "card.chart": "Diagramm", "card.table": "Tabelle",
    "card.savings": "Geplante Ersparnis, nächste {hours} h", "card.cost_planned": "Geplante Kosten, restlicher Tag",
    "card.cost_today": "Kosten heute: bisher + geplant", "card.cost_sum": "{so_far} + {planned} = {total}",
    "card.outage_now": "Netzausfall seit {time}: {duration} auf Batterie, {energy} geliefert",
    "card.outage_last": "Letzter Netzausfall: {start}, {duration}, {energy} geliefert",
    "card.tap_hint": "Tippe auf das Diagramm, um ein Zeitfenster zu sehen.",
    "card.clipped": "Balken für {series} sind bei {cut} abgeschnitten (höchstens {max}).",
    "card.failed": "Hat den Befehl des Plans nicht übernommen: {reason}", "card.command": "Befehl: {action}",
    "card.description": "Der Energieplan für die nächsten Stunden: Preise, Solar, Verbrauch, Batterie, E-Auto, Wärmepumpe, Ausfälle und geplante Aufgaben.",
    "table.time": "Zeit", "table.price": "Preis", "table.battery": "Batterie", "table.ev": "Auto",
    "table.heat_pump": "Wärmepumpe", "table.jobs": "Aufgaben", "table.soc": "Ladung", "table.cost": "Bezugskosten",
    "table.charging": "lädt {kw}", "table.discharging": "entlädt {kw}",
    "table.caption": "Der Plan Zeitfenster für Zeitfenster: Bezugskosten sind Netzbezug × Preis.",
    "slot.estimated": "geschätzt", "slot.solar": "Solar {kw}", "slot.load": "Verbrauch {kw}",
    "slot.charging": "Batterie lädt {kw}", "slot.discharging": "Batterie entlädt {kw}",
    "slot.soc": "Ladung {pct}", "slot.import": "Netzbezug {kw}", "slot.export": "Einspeisung {kw}",
    "slot.ev": "E-Auto {kw}", "slot.heat_pump": "Wärmepumpe {kw}", "slot.jobs": "Aufgaben: {jobs}",
    "slot.cheap": "günstig", "slot.clean": "sauber", "slot.outage": "Netzausfall",
    "chart.charging": "Batterie lädt", "chart.discharging": "Batterie entlädt", "chart.now": "Jetzt",
    "chart.window_cheap": "Günstig {from}–{to}", "chart.window_clean": "Sauber {from}–{to}",
    "chart.outage": "Netzausfall {from}–{to}", "chart.planned": "Geplant: {label}",
    "chart.price_unit": "Preis ({unit})",
    "summary.plan": "Plan für die nächsten {hours} Stunden ab {time}.",
    "summary.price": "Preis von {low} um {lowAt} bis {high} um {highAt}.",
    "summary.soc": "Batterieladung jetzt {now}, zwischen {min} und {max}.",
    "summary.outage": "Netzausfall erwartet {runs}.", "summary.jobs": "Geplant: {jobs}.", "summary.job_at": "{name} um {time}",
    "why.battery.solar": "Solarüberschuss: {pv} Solar, {load} Verbrauch",
    "why.battery.cheap": "{hours} h zu {price}, im Mittel danach {avg}",
    "why.battery.dear": "Preis jetzt {price}, im Mittel danach {avg}",
    "why.battery.outage": "Netzausfall", "why.battery.keep": "hält die Ladung für {time} zu {price}",
    "why.battery.wait": "Laden ist um {time} günstiger ({price})", "why.battery.idle": "nichts Günstigeres oder Teureres in Sicht",
    "do.battery.charge": "lädt {kw} bis {until}", "do.battery.discharge": "entlädt {kw} bis {until}",
    "do.battery.hold": "hält bis {until}", "do.battery.hold_all": "hält für den ganzen Plan",
    "do.soc": "bei {pct}",
    "do.ev.goal": "{pct} bis {time}", "do.ev.goal_open": "{pct}", "do.ev.charging_now": "lädt {kw} bis {until}",
    "do.ev.runs": "lädt {runs}", "do.ev.paused": "pausiert bis {until}", "do.ev.none": "kein Laden geplant",
    "why.ev.later": "dann {price}, jetzt {now}",
    "do.hp.on": "heizt {kw} bis {until}", "do.hp.off": "aus bis {until}", "do.hp.none": "kein Heizen geplant",
    "why.hp.on": "Preis jetzt {price}, im Mittel danach {avg}", "why.hp.off": "Heizen geplant zu {price}",
    "do.job.running": "läuft bis {until}", "do.job.waiting": "wartet bis {until}, läuft {from}–{to}",
    "do.job.none": "in den nächsten {hours} h nicht geplant", "why.job.price": "dann {price}, jetzt {now}",
    "do.later": "{day} {time}",
    "editor.entity": "Plan-Entität", "editor.title": "Titel", "editor.hours": "Stunden voraus ({min}–{max})",
    "editor.series": "Im Diagramm zeigen", "editor.show_actions": "Zeigen, was jedes Gerät gerade tut",
    "editor.show_savings": "Geplante Ersparnis und Kosten zeigen",
  },
  nl: {
    "series.price": "Prijs", "series.pv": "Zon", "series.load": "Verbruik", "series.grid": "Net",
    "series.soc": "Batterijlading", "series.battery": "Batterijvermogen", "series.ev": "Auto laden",
    "series.heat_pump": "Warmtepomp", "series.cheap": "Goedkoop", "series.clean": "Schoon",
    "series.outage": "Stroomstoring", "series.jobs": "Geplande taken",
    "card.title": "Energieplan", "card.updated": "Bijgewerkt {time}", "card.now": "Nu",
    "card.not_found": "Entiteit niet gevonden: {entity}", "card.out_of_date": "Het plan heeft geen tijdvakken meer voor zich: het is verouderd.",
    "card.no_plan": "Nog geen plan: GridNode heeft nog geen plan gemaakt.",
    "card.loading": "Plan wordt geladen…", "card.fetch_failed": "Het nieuwste plan kon niet worden geladen: {reason}",
    "card.fallback": "De apparaten draaien op hun eigen instellingen", "card.chart": "Grafiek", "card.table": "Tabel",
    "card.savings": "Geplande besparing, komende {hours} u", "card.cost_planned": "Geplande kosten, rest van vandaag",
    "card.cost_today": "Kosten vandaag: tot nu toe + gepland", "card.cost_sum": "{so_far} + {planned} = {total}",
    "card.outage_now": "Stroomstoring sinds {time}: {duration} op de batterij, {energy} geleverd",
    "card.outage_last": "Laatste stroomstoring: {start}, {duration}, {energy} geleverd",
    "card.tap_hint": "Tik op de grafiek om een tijdvak te zien.",
    "card.clipped": "Balken voor {series} zijn afgekapt op {cut} (hoogste {max}).",
    "card.failed": "Heeft het commando van het plan niet overgenomen: {reason}", "card.command": "commando: {action}",
    "card.description": "Het energieplan voor de komende uren: prijzen, zon, verbruik, batterij, auto, warmtepomp, storingen en geplande taken.",
    "table.time": "Tijd", "table.price": "Prijs", "table.battery": "Batterij", "table.ev": "Auto",
    "table.heat_pump": "Warmtepomp", "table.jobs": "Taken", "table.soc": "Lading", "table.cost": "Afnamekosten",
    "table.charging": "laadt {kw}", "table.discharging": "ontlaadt {kw}",
    "table.caption": "Het plan per tijdvak: afnamekosten zijn afname van het net × prijs.",
    "slot.estimated": "geschat", "slot.solar": "zon {kw}", "slot.load": "verbruik {kw}",
    "slot.charging": "batterij laadt {kw}", "slot.discharging": "batterij ontlaadt {kw}",
    "slot.soc": "lading {pct}", "slot.import": "afname {kw}", "slot.export": "teruglevering {kw}",
    "slot.ev": "auto {kw}", "slot.heat_pump": "warmtepomp {kw}", "slot.jobs": "taken: {jobs}",
    "slot.cheap": "goedkoop", "slot.clean": "schoon", "slot.outage": "stroomstoring",
    "chart.charging": "Batterij laadt", "chart.discharging": "Batterij ontlaadt", "chart.now": "Nu",
    "chart.window_cheap": "Goedkoop {from}–{to}", "chart.window_clean": "Schoon {from}–{to}",
    "chart.outage": "Stroomstoring {from}–{to}", "chart.planned": "Gepland: {label}",
    "chart.price_unit": "Prijs ({unit})",
    "summary.plan": "Plan voor de komende {hours} uur vanaf {time}.",
    "summary.price": "Prijs van {low} om {lowAt} tot {high} om {highAt}.",
    "summary.soc": "Batterijlading nu {now}, tussen {min} en {max}.",
    "summary.outage": "Stroomstoring verwacht {runs}.", "summary.jobs": "Gepland: {jobs}.", "summary.job_at": "{name} om {time}",
    "why.battery.solar": "zonne-overschot: {pv} zon, {load} verbruik",
    "why.battery.cheap": "{hours} u tegen {price}, gemiddeld daarna {avg}",
    "why.battery.dear": "prijs nu {price}, gemiddeld daarna {avg}",
    "why.battery.outage": "stroomstoring", "why.battery.keep": "bewaart de lading voor {time} tegen {price}",
    "why.battery.wait": "laden is goedkoper om {time} ({price})", "why.battery.idle": "niets goedkopers of duurders in zicht",
    "do.battery.charge": "laadt {kw} tot {until}", "do.battery.discharge": "ontlaadt {kw} tot {until}",
    "do.battery.hold": "houdt vast tot {until}", "do.battery.hold_all": "houdt vast voor het hele plan",
    "do.soc": "op {pct}",
    "do.ev.goal": "{pct} om {time}", "do.ev.goal_open": "{pct}", "do.ev.charging_now": "laadt {kw} tot {until}",
    "do.ev.runs": "laadt {runs}", "do.ev.paused": "gepauzeerd tot {until}", "do.ev.none": "geen laden gepland",
    "why.ev.later": "dan {price}, nu {now}",
    "do.hp.on": "verwarmt {kw} tot {until}", "do.hp.off": "uit tot {until}", "do.hp.none": "geen verwarming gepland",
    "why.hp.on": "prijs nu {price}, gemiddeld daarna {avg}", "why.hp.off": "verwarming gepland tegen {price}",
    "do.job.running": "draait tot {until}", "do.job.waiting": "wacht tot {until}, draait {from}–{to}",
    "do.job.none": "niet gepland in de komende {hours} u", "why.job.price": "dan {price}, nu {now}",
    "do.later": "{day} {time}",
    "editor.entity": "Plan-entiteit", "editor.title": "Titel", "editor.hours": "Uren vooruit ({min}–{max})",
    "editor.series": "Tonen in de grafiek", "editor.show_actions": "Tonen wat elk apparaat nu doet",
    "editor.show_savings": "Geplande besparing en kosten tonen",
  },
};

/** The card's language: Home Assistant's (its locale's first), else English. */
function languageOf(hass) {
  const tag = String((hass && (hass.locale?.language || hass.language)) || "en");
  const base = tag.toLowerCase().split(/[-_]/)[0];
  return Object.prototype.hasOwnProperty.call(STRINGS, base) ? base : "en";
}

/** A translator for `hass`'s language: t(key, {name: value}). Missing words fall back to English. */
function translator(hass) {
  const words = STRINGS[languageOf(hass)];
  return (key, values = {}) => {
    const text = words[key] ?? STRINGS.en[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
  };
}

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
/** A number from an entity's state (a string), or null when it is unknown or unavailable. */
const stateNum = (state) => (typeof state === "string" && state.trim() !== "" ? num(Number(state)) : null);
/* A sensor's value in seconds or kWh, whatever unit the user shows it in. */
const SECONDS_PER = { s: 1, min: 60, h: 3600, d: 86400 };
const KWH_PER = { Wh: 0.001, kWh: 1, MWh: 1000 };
const inUnit = (stateObj, factors, fallback) => {
  const value = stateNum(stateObj?.state);
  const factor = factors[stateObj?.attributes?.unit_of_measurement ?? fallback];
  return value === null || factor === undefined ? null : value * factor;
};

/** Whether a state is a GridNode plan sensor's: it has a plan version, or (older) its slots. */
const isPlanState = (stateObj) =>
  typeof stateObj?.attributes?.plan_version === "string" || Array.isArray(stateObj?.attributes?.slots);

/** The tag that says which plan a state announces: the card fetches again when it changes. */
const planVersionOf = (stateObj) => {
  const attributes = stateObj?.attributes ?? {};
  return String(attributes.plan_version ?? attributes.generated_at ?? "");
};

/** A websocket error (Home Assistant sends {code, message}) or any other failure, in words. */
const errorText = (err) => {
  if (typeof err === "string" && err) return err;
  if (err && typeof err.message === "string" && err.message) return err.message;
  if (err && typeof err.code === "string" && err.code) return err.code;
  return String(err);
};

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

/** The locale numbers are written in, as the user chose in their Home Assistant profile. */
function numberLocale(hass, language) {
  switch (hass?.locale?.number_format) {
    case "comma_decimal":
      return ["en-US"];
    case "decimal_comma":
      return ["de-DE"];
    case "space_comma":
      return ["fr-FR"];
    case "system":
      return undefined;
    default:
      return [language];
  }
}

/** A duration in seconds as "1 h 05 min", "12 min" or "40 s" (the units read the same in en, de, nl). */
function formatDuration(seconds, fmt) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${fmt.whole.format(s)} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${fmt.whole.format(minutes)} min`;
  return `${fmt.whole.format(Math.floor(minutes / 60))} h ${String(minutes % 60).padStart(2, "0")} min`;
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
    this.t = translator(hass);
    this.time = make({ hour: "2-digit", minute: "2-digit" });
    this.weekday = make({ weekday: "short" });
    this.dayKey = make({ year: "numeric", month: "2-digit", day: "2-digit" }, false);
    this.parts = make({ hour: "numeric", minute: "numeric", hourCycle: "h23" }, false);
    this.language = language;
    const numbers = numberLocale(hass, language);
    const grouping = hass?.locale?.number_format === "none" ? { useGrouping: false } : {};
    const number = (options) => {
      try {
        return new Intl.NumberFormat(numbers, { ...options, ...grouping });
      } catch (_err) {
        return new Intl.NumberFormat("en", { ...options, ...grouping });
      }
    };
    this.number = number;
    this.currency = typeof currency === "string" ? currency : "";
    this.money = null;
    if (/^[A-Z]{3}$/.test(this.currency)) {
      try {
        this.money = number({ style: "currency", currency: this.currency });
      } catch (_err) {
        this.money = null;
      }
    }
    this.decimal = number({ maximumFractionDigits: 2 });
    this.kw = number({ maximumFractionDigits: 1 });
    this.price = number({ maximumFractionDigits: 3 });
    this.price2 = number({ maximumFractionDigits: 2, minimumFractionDigits: 2 });
    this.whole = number({ maximumFractionDigits: 0 });
  }

  /** A time, with the weekday in front when it is not on the same day as `ref`. */
  when(ms, ref) {
    const time = this.time.format(new Date(ms));
    if (ref === undefined || this.dayKey.format(new Date(ms)) === this.dayKey.format(new Date(ref))) return time;
    return this.t("do.later", { day: this.weekday.format(new Date(ms)), time });
  }

  formatPct(value) {
    return `${this.whole.format(value)} %`;
  }

  priceUnit() {
    const unit = this.currencySymbol();
    return `${unit ? unit : ""}/kWh`;
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
    return `${this.price.format(value)}${unit ? " " + unit : ""}/kWh`;
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

/**
 * Says in words what each device does now, why, and until when, from what the plan already holds:
 * the slot series and prices, the cars' goals and charging runs, and the goals it cannot meet.
 */
class Explainer {
  constructor(attributes, plan, fmt) {
    const obj = (value) => (value && typeof value === "object" && !Array.isArray(value) ? value : {});
    this.kinds = obj(attributes?.device_kinds);
    this.goals = obj(attributes?.ev_goals);
    this.violations = obj(attributes?.device_violations);
    this.fmt = fmt;
    // every slot ahead, not only those the chart shows: "until" may lie beyond the chart's window
    this.slots = visiblePlan(attributes, 24 * 365, Date.now()).slots;
    this.nowMs = this.slots.length ? Math.max(Date.now(), this.slots[0].startMs) : Date.now();
    const prices = this.slots.map((s) => num(s.price)).filter((p) => p !== null);
    this.avg = prices.length ? prices.reduce((a, b) => a + b, 0) / prices.length : null;
    this.plan = plan;
  }

  /** {doing, why, problems} for device `id`, or null when the plan says nothing about it. */
  device(id, action) {
    const slots = this.slots;
    if (!slots.length) return null;
    let kind = this.kinds[id];
    if (!kind && slots.some((s) => s.jobIds.includes(id))) kind = "load";
    const problems = (Array.isArray(this.violations[id]) ? this.violations[id] : []).filter((v) => typeof v === "string");
    let out = null;
    if (kind === "battery") out = this._battery();
    else if (kind === "ev") out = this._ev(id);
    else if (kind === "heat_pump") out = this._heatPump();
    else if (kind === "load") out = this._job(id);
    if (!out) return null;
    void action;
    const doing = out.doing.charAt(0).toLocaleUpperCase(this.fmt.language) + out.doing.slice(1);
    return { doing, why: out.why || "", problems };
  }

  /** The index after the run of slots from `from` on where `state` stays what it is at `from`. */
  _runEnd(from, state) {
    const first = state(this.slots[from]);
    let k = from;
    while (k < this.slots.length && state(this.slots[k]) === first) k += 1;
    return k;
  }

  _when(ms) {
    return this.fmt.when(ms, this.nowMs);
  }

  _price(value) {
    return num(value) === null ? null : this.fmt.formatPrice(value);
  }

  _meanPrice(a, b) {
    const prices = this.slots.slice(a, b).map((s) => num(s.price)).filter((p) => p !== null);
    return prices.length ? prices.reduce((x, y) => x + y, 0) / prices.length : null;
  }

  _battery() {
    const { fmt, slots } = this;
    const t = fmt.t;
    const state = (s) => {
      const w = num(s.battery_w) ?? 0;
      return w < -50 ? "charge" : w > 50 ? "discharge" : "hold";
    };
    const now = slots[0];
    const st = state(now);
    const k = this._runEnd(0, state);
    const until = this._when(slots[k - 1].endMs);
    const kw = fmt.formatKw(Math.abs(num(now.battery_w) ?? 0));
    let doing;
    let why = "";
    if (st === "hold") {
      doing = k >= slots.length ? t("do.battery.hold_all") : t("do.battery.hold", { until });
      const next = slots[k];
      if (next && this._price(next.price) !== null) {
        why = state(next) === "discharge"
          ? t("why.battery.keep", { time: this._when(next.startMs), price: this._price(next.price) })
          : t("why.battery.wait", { time: this._when(next.startMs), price: this._price(next.price) });
      } else if (!next) {
        why = t("why.battery.idle");
      }
    } else {
      doing = t(st === "charge" ? "do.battery.charge" : "do.battery.discharge", { kw, until });
      const surplus = (num(now.pv_w) ?? 0) - (num(now.load_w) ?? 0);
      if (now.outage === true) {
        why = t("why.battery.outage");
      } else if (st === "charge" && surplus >= 0.5 * Math.abs(num(now.battery_w) ?? 0)) {
        why = t("why.battery.solar", { pv: fmt.formatKw(num(now.pv_w) ?? 0), load: fmt.formatKw(num(now.load_w) ?? 0) });
      } else if (this.avg !== null) {
        const mean = this._meanPrice(0, k);
        if (mean !== null) {
          why = st === "charge"
            ? t("why.battery.cheap", { hours: fmt.kw.format((slots[k - 1].endMs - now.startMs) / 3600e3), price: fmt.formatPrice(mean), avg: fmt.formatPrice(this.avg) })
            : t("why.battery.dear", { price: fmt.formatPrice(num(now.price) ?? mean), avg: fmt.formatPrice(this.avg) });
        }
      }
    }
    if (num(now.soc_pct) !== null) doing += `, ${t("do.soc", { pct: fmt.formatPct(now.soc_pct) })}`;
    return { doing, why };
  }

  _ev(id) {
    const { fmt, slots } = this;
    const t = fmt.t;
    const goal = this.goals[id] && typeof this.goals[id] === "object" ? this.goals[id] : null;
    let runs = [];
    if (goal && Array.isArray(goal.charging)) {
      runs = goal.charging
        .filter((r) => Array.isArray(r) && r.length === 2)
        .map(([a, b]) => [Date.parse(a), Date.parse(b)])
        .filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b) && b > this.nowMs);
    } else {
      runs = runsWhere(slots, (s) => (num(s.ev_w) ?? 0) >= 1).map(([a, b]) => [slots[a].startMs, slots[b].endMs]);
    }
    const parts = [];
    if (goal && num(goal.target_pct) !== null) {
      const by = Date.parse(goal.by);
      const pct = fmt.formatPct(goal.target_pct);
      parts.push(Number.isFinite(by) ? t("do.ev.goal", { pct, time: this._when(by) }) : t("do.ev.goal_open", { pct }));
    }
    const span = (r) => `${fmt.time.format(new Date(r[0]))}–${fmt.time.format(new Date(r[1]))}`;
    const current = runs.find(([a, b]) => a <= this.nowMs && this.nowMs < b);
    let why = "";
    if (current) {
      const w = num(slots[0].ev_w) ?? 0;
      parts.push(t("do.ev.charging_now", { kw: fmt.formatKw(w), until: this._when(current[1]) }));
      const later = runs.filter((r) => r !== current);
      if (later.length) parts.push(t("do.ev.runs", { runs: later.slice(0, 2).map(span).join(", ") }));
    } else if (runs.length) {
      parts.push(t("do.ev.paused", { until: this._when(runs[0][0]) }));
      parts.push(t("do.ev.runs", { runs: runs.slice(0, 2).map(span).join(", ") }));
      const at = slots.findIndex((s) => s.startMs <= runs[0][0] && runs[0][0] < s.endMs);
      const then = at >= 0 ? this._price(slots[at].price) : null;
      const nowPrice = this._price(slots[0].price);
      if (then !== null && nowPrice !== null) why = t("why.ev.later", { price: then, now: nowPrice });
    } else {
      parts.push(t("do.ev.none"));
    }
    return { doing: parts.join(", "), why };
  }

  _heatPump() {
    const { fmt, slots } = this;
    const t = fmt.t;
    const state = (s) => (num(s.heat_pump_w) ?? 0) > 50;
    const on = state(slots[0]);
    const k = this._runEnd(0, state);
    if (on) {
      const price = this._price(slots[0].price);
      return {
        doing: t("do.hp.on", { kw: fmt.formatKw(num(slots[0].heat_pump_w)), until: this._when(slots[k - 1].endMs) }),
        why: price !== null && this.avg !== null ? t("why.hp.on", { price, avg: fmt.formatPrice(this.avg) }) : "",
      };
    }
    if (k >= slots.length) return { doing: t("do.hp.none"), why: "" };
    const price = this._price(slots[k].price);
    return {
      doing: t("do.hp.off", { until: this._when(slots[k].startMs) }),
      why: price !== null ? t("why.hp.off", { price }) : "",
    };
  }

  _job(id) {
    const { fmt, slots } = this;
    const t = fmt.t;
    const runs = runsWhere(slots, (s) => s.jobIds.includes(id));
    if (!runs.length) {
      const hours = fmt.whole.format((slots[slots.length - 1].endMs - slots[0].startMs) / 3600e3);
      return { doing: t("do.job.none", { hours }), why: "" };
    }
    const [a, b] = runs[0];
    if (a === 0) return { doing: t("do.job.running", { until: this._when(slots[b].endMs) }), why: "" };
    const mean = this._meanPrice(a, b + 1);
    const nowPrice = this._price(slots[0].price);
    return {
      doing: t("do.job.waiting", {
        until: this._when(slots[a].startMs),
        from: fmt.time.format(new Date(slots[a].startMs)),
        to: fmt.time.format(new Date(slots[b].endMs)),
      }),
      why: mean !== null && nowPrice !== null ? t("why.job.price", { price: fmt.formatPrice(mean), now: nowPrice }) : "",
    };
  }
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
  .grid-outage { margin: 6px 0 2px; padding: 4px 8px; border-radius: 4px; font-size: 0.95em; overflow-wrap: anywhere; }
  .grid-outage.now { background: rgba(219, 68, 55, 0.12); border-left: 3px solid var(--error-color, #db4437); font-weight: 500; }
  .grid-outage.last { color: var(--secondary-text-color, #727272); }
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
  .fetch-error { margin: 6px 0 2px; font-size: 0.9em; color: var(--error-color, #db4437); overflow-wrap: anywhere; }
  .loading { margin-top: 8px; font-size: 0.9em; color: var(--secondary-text-color, #727272); }
  .view-switch { display: inline-flex; margin-top: 8px; border: 1px solid var(--divider-color, #e0e0e0); border-radius: 6px; overflow: hidden; }
  .view-switch button { font: inherit; font-size: 0.85em; padding: 4px 12px; border: 0; cursor: pointer; min-height: 32px;
    background: transparent; color: var(--primary-text-color, #212121); }
  .view-switch button[aria-pressed="true"] { background: var(--primary-color, #03a9f4); color: var(--text-primary-color, #fff); }
  .slot-detail { margin: 4px 0 0; min-height: 1.3em; font-size: 0.85em; color: var(--primary-text-color, #212121); overflow-wrap: anywhere; }
  .slot-hit { cursor: pointer; }
  .slot-hit.selected { fill: var(--primary-color, #03a9f4); fill-opacity: 0.12; }
  .clip-note { margin: 4px 0 0; font-size: 0.8em; color: var(--secondary-text-color, #727272); }
  .axis-unit { font-style: italic; }
  .table-wrap { margin-top: 4px; overflow-x: auto; max-height: 420px; overflow-y: auto; }
  table.slots { border-collapse: collapse; width: 100%; font-size: 0.85em; font-variant-numeric: tabular-nums; }
  .table-note { margin: 8px 0 0; font-size: 0.8em; color: var(--secondary-text-color, #727272); }
  table.slots th, table.slots td { padding: 3px 8px; text-align: right; white-space: nowrap; border-bottom: 1px solid var(--divider-color, #e0e0e0); }
  table.slots thead th { position: sticky; top: 0; background: var(--ha-card-background, var(--card-background-color, #fff)); font-weight: 500; }
  table.slots [data-col="time"], table.slots [data-col="jobs"] { text-align: left; }
  table.slots tr.cheap th[scope="row"] { box-shadow: inset 3px 0 var(--gridnode-cheap-color, #43a047); }
  table.slots tr.outage th[scope="row"] { box-shadow: inset 3px 0 var(--error-color, #db4437); }
  .actions .why, .actions .command { color: var(--secondary-text-color, #727272); }
  .actions .command { font-size: 0.85em; }
  .actions .goal-problem { color: var(--warning-color, #ffa600); }
  .actions .failed { display: block; color: var(--error-color, #db4437); font-weight: 500; }
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
      const found = Object.keys(states).find((id) => id.startsWith("sensor.") && isPlanState(states[id]));
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
    /* Chart or table, and the slot last tapped (by its start), kept across updates. */
    this._view = "chart";
    this._selected = undefined;
    this._shownPlan = null;
    /* The plan fetched over the websocket: {entity, version, data} of the last answer, the request
     * in flight ({entity, version, seq}) and the last failure; the last answer stays shown meanwhile. */
    this._fetched = null;
    this._fetching = null;
    this._fetchError = null;
    this._fetchSeq = 0;
    this.shadowRoot.addEventListener("click", (ev) => this._onClick(ev));
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
    this._maybeFetch();
    this._render();
  }

  set hass(hass) {
    this._hass = hass;
    this._maybeFetch();
    this._render();
  }

  /**
   * Fetch the plan when the plan sensor announces one the card does not have (a new plan_version,
   * or another entity), once per version: a sensor written for any other reason costs nothing.
   * A failed fetch (GridNode reloading, the connection lost) is tried again on an update once
   * RETRY_AFTER_MS have passed.
   */
  _maybeFetch() {
    const entity = this._config?.entity;
    const hass = this._hass;
    const stateObj = entity ? hass?.states?.[entity] : undefined;
    if (!stateObj || Array.isArray(stateObj.attributes?.slots) || typeof hass.callWS !== "function") return;
    const version = planVersionOf(stateObj);
    const same = (held) => held && held.entity === entity && held.version === version;
    const failedLately = same(this._fetchError) && Date.now() - this._fetchError.at < RETRY_AFTER_MS;
    if (same(this._fetched) || same(this._fetching) || failedLately) return;
    const seq = ++this._fetchSeq;
    this._fetching = { entity, version, seq };
    let request;
    try {
      request = Promise.resolve(hass.callWS({ type: WS_COMMAND, entity_id: entity }));
    } catch (err) {
      request = Promise.reject(err);
    }
    request.then(
      (data) => {
        if (this._fetching?.seq !== seq) return;
        this._fetching = null;
        this._fetchError = null;
        this._fetched = { entity, version, data: data && typeof data === "object" ? data : {} };
        this._render();
      },
      (err) => {
        if (this._fetching?.seq !== seq) return;
        this._fetching = null;
        this._fetchError = { entity, version, reason: errorText(err), at: Date.now() };
        this._render();
      },
    );
  }

  /** The plan sensor's attributes with the fetched plan over them (for this entity only). */
  _planAttributes(stateObj) {
    const attributes = stateObj.attributes || {};
    const fetched = this._fetched;
    if (Array.isArray(attributes.slots) || !fetched || fetched.entity !== this._config.entity) return attributes;
    const data = fetched.data;
    return { ...attributes, slots: Array.isArray(data.slots) ? data.slots : [], names: data.names ?? attributes.names };
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
    const related = siblings(hass, config.entity);
    this._related = related;
    const key = [stateObj, width, hass?.themes?.darkMode, hass?.themes?.theme, hass?.locale, hass?.language, this._view,
      this._fetched, this._fetchError, ...SIBLING_KEYS.map((k) => related[k])];
    if (this._renderedKey && key.every((part, i) => part === this._renderedKey[i])) return;
    this._renderedKey = key;

    const compact = width < COMPACT_BELOW_PX;
    const t = translator(hass);
    const title = config.title ?? t("card.title");
    let body;
    this._pendingChart = null;
    this._shownPlan = null;
    if (!hass) {
      body = "";
    } else if (!stateObj) {
      body = `<div class="warning" role="alert">${escapeHtml(t("card.not_found", { entity: config.entity }))}</div>`;
    } else {
      body = this._renderPlan(stateObj, width, compact);
    }
    this.shadowRoot.innerHTML = `
      <style>${STYLE}</style>
      <ha-card>
        <div class="root ${compact ? "compact" : "wide"}" data-layout="${compact ? "compact" : "wide"}" lang="${escapeHtml(languageOf(hass))}">
          <div class="header">
            <h2 class="title">${escapeHtml(title)}</h2>
            ${this._updatedText(stateObj)}
          </div>
          ${body}
        </div>
      </ha-card>`;
    this._drawChart();
  }

  /** Taps and clicks: switch between chart and table, and show the slot under a tap. */
  _onClick(ev) {
    const path = ev.composedPath();
    const button = path.find((el) => el instanceof Element && el.matches?.("button[data-view]"));
    if (button) {
      if (this._view !== button.dataset.view) {
        this._view = button.dataset.view;
        this._render();
      }
      return;
    }
    const hit = path.find((el) => el instanceof Element && el.classList?.contains("slot-hit"));
    if (hit && this._shownPlan) this._inspect(Number(hit.dataset.slot));
  }

  /** Show one slot of the chart in words below it (the chart's hover titles do not work on phones). */
  _inspect(index) {
    const shown = this._shownPlan;
    const slot = shown?.plan.slots[index];
    const detail = this.shadowRoot.querySelector(".slot-detail");
    if (!slot || !detail) return;
    this._selected = slot.startMs;
    for (const rect of this.shadowRoot.querySelectorAll("rect.slot-hit.selected")) rect.classList.remove("selected");
    this.shadowRoot.querySelector(`rect.slot-hit[data-slot="${index}"]`)?.classList.add("selected");
    detail.textContent = this._slotText(slot, shown.fmt);
    detail.dataset.slot = String(index);
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
    this._hasJobLabels = pending.present.has("jobs");
    this._labelsEstimated = this._hasJobLabels && measure.estimated;
    if (this._selected !== undefined) {
      const index = pending.plan.slots.findIndex((s) => s.startMs === this._selected);
      if (index >= 0) this._inspect(index);
    }
  }

  _updatedText(stateObj) {
    const generated = Date.parse(stateObj?.attributes?.generated_at);
    if (!Number.isFinite(generated)) return "";
    const fmt = new Formatters(this._hass, "");
    return `<span class="updated">${escapeHtml(fmt.t("card.updated", { time: fmt.time.format(new Date(generated)) }))}</span>`;
  }

  _renderPlan(stateObj, width, compact) {
    const config = this._config;
    const attributes = this._planAttributes(stateObj);
    const fmt = new Formatters(this._hass, attributes.currency);
    const t = fmt.t;
    const plan = visiblePlan(attributes, config.hours, Date.now());
    const parts = [];
    const failed = this._fetchError?.entity === config.entity ? this._fetchError : null;
    if (failed) {
      parts.push(`<div class="fetch-error" role="alert">${escapeHtml(t("card.fetch_failed", { reason: failed.reason }))}</div>`);
    }
    if (config.show_savings) parts.push(this._renderSavings(attributes, fmt));
    parts.push(this._renderOutage(fmt));
    if (stateObj.state === "fallback") {
      const why = typeof attributes.reason === "string" && attributes.reason ? `: ${attributes.reason}` : "";
      parts.push(`<div class="warning fallback" role="status">${escapeHtml(t("card.fallback") + why)}</div>`);
    }
    const loading = !Array.isArray(attributes.slots) && !failed && this._fetching?.entity === config.entity;
    if (!plan.slots.length && loading) {
      parts.push(`<div class="loading" role="status">${escapeHtml(t("card.loading"))}</div>`);
    } else if (!plan.slots.length && failed && !Array.isArray(attributes.slots)) {
      // nothing fetched yet: the error line above says why there is no plan to show
    } else if (!plan.slots.length) {
      const reason = plan.total ? t("card.out_of_date") : t("card.no_plan");
      parts.push(`<div class="warning" role="status">${escapeHtml(reason)}</div>`);
    } else {
      const shown = new Set(config.series);
      const present = this._presentSeries(plan.slots, shown);
      const view = this._view === "table" ? "table" : "chart";
      parts.push(`<div class="view-switch" role="group">${["chart", "table"]
        .map((v) => `<button type="button" data-view="${v}" aria-pressed="${v === view}">${escapeHtml(t(`card.${v}`))}</button>`)
        .join("")}</div>`);
      this._shownPlan = { plan, fmt };
      if (view === "table") {
        parts.push(this._renderTable(plan, fmt, attributes));
      } else {
        // The chart is drawn at its displayed size (measured once in place; until then the card width
        // less the padding), so text is never scaled.
        const chartWidth = Math.max(120, width - (compact ? 20 : 32));
        this._pendingChart = { plan, width: chartWidth, compact, fmt, present };
        parts.push(`<div class="chart"></div>`);
        parts.push(`<p class="slot-detail" role="status" aria-live="polite">${escapeHtml(t("card.tap_hint"))}</p>`);
        parts.push(this._renderLegend(present, fmt));
        const clip = this._powerScale(plan.slots, present);
        if (clip.clipped) {
          parts.push(`<p class="clip-note">${escapeHtml(t("card.clipped", {
            series: t("series.ev"), cut: fmt.formatKw(clip.cut), max: fmt.formatKw(clip.max) }))}</p>`);
        }
      }
    }
    if (config.show_actions) parts.push(this._renderActions(attributes, plan, fmt));
    return parts.join("");
  }

  /** One row per slot: time, price, what each device does, the battery's charge and the import cost. */
  _renderTable(plan, fmt, attributes) {
    const t = fmt.t;
    const { slots } = plan;
    const any = (test) => slots.some(test);
    const kw = (w) => (Math.abs(num(w) ?? 0) >= 1 ? fmt.formatKw(w) : "–");
    const names = attributes?.names && typeof attributes.names === "object" ? attributes.names : {};
    const columns = [
      ["time", (s) => `${fmt.time.format(s.startMs)}–${fmt.time.format(s.endMs)}`],
      any((s) => num(s.price) !== null) && ["price", (s) => (num(s.price) === null ? "–" : fmt.formatPrice(s.price))],
      any((s) => Math.abs(num(s.battery_w) ?? 0) >= 1) && ["battery", (s) => {
        const w = num(s.battery_w) ?? 0;
        if (Math.abs(w) < 1) return "–";
        return t(w < 0 ? "table.charging" : "table.discharging", { kw: fmt.formatKw(Math.abs(w)) });
      }],
      any((s) => (num(s.ev_w) ?? 0) >= 1) && ["ev", (s) => kw(s.ev_w)],
      any((s) => (num(s.heat_pump_w) ?? 0) >= 1) && ["heat_pump", (s) => kw(s.heat_pump_w)],
      any((s) => s.jobs.length > 0) && ["jobs", (s) => (s.jobs.length ? s.jobs.join(", ") : "–")],
      any((s) => num(s.soc_pct) !== null) && ["soc", (s) => (num(s.soc_pct) === null ? "–" : fmt.formatPct(s.soc_pct))],
      any((s) => num(s.price) !== null && num(s.grid_w) !== null) && ["cost", (s) => {
        const price = num(s.price);
        const grid = num(s.grid_w);
        if (price === null || grid === null) return "–";
        return fmt.formatMoney((Math.max(0, grid) / 1000) * ((s.endMs - s.startMs) / 3600e3) * price);
      }],
    ].filter(Boolean);
    void names;
    const head = columns.map(([key]) => `<th scope="col" data-col="${key}">${escapeHtml(t(`table.${key}`))}</th>`).join("");
    const rows = slots.map((s, i) => {
      const flags = [s.cheap === true && "cheap", s.clean === true && "clean", s.outage === true && "outage"].filter(Boolean);
      const cells = columns.map(([key, cell], j) => (j === 0 ? `<th scope="row" data-col="${key}">` : `<td data-col="${key}">`) + escapeHtml(cell(s)) + (j === 0 ? "</th>" : "</td>"));
      return `<tr data-slot="${i}"${flags.length ? ` class="${flags.join(" ")}"` : ""}>${cells.join("")}</tr>`;
    });
    return `<p class="table-note" id="gn-table-note">${escapeHtml(t("table.caption"))}</p><div class="table-wrap" tabindex="0"><table class="slots" aria-describedby="gn-table-note"><thead><tr>${head}</tr></thead><tbody>${rows.join("")}</tbody></table></div>`;
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

  /**
   * The power axis's range. A car charging at several times the house's other flows would flatten
   * them all: its bars are then cut at the height of the rest (the cut is said under the chart).
   */
  _powerScale(slots, present) {
    const keys = Object.keys(POWER_FIELD).filter((k) => present.has(k));
    let max = 0;
    let min = 0;
    let rest = 0;
    let restTop = 0;
    let evMax = 0;
    for (const s of slots) {
      for (const k of keys) {
        const v = num(s[POWER_FIELD[k]]) ?? 0;
        max = Math.max(max, v);
        min = Math.min(min, v);
        if (k === "ev") {
          evMax = Math.max(evMax, v);
        } else {
          rest = Math.max(rest, Math.abs(v));
          restTop = Math.max(restTop, v);
        }
      }
    }
    if (evMax > CLIP_FACTOR * rest && rest >= 100) {
      // the axis is what it would be without the car; its bars reach the top and are marked cut
      const top = restTop;
      return { clipped: true, cut: top, max: evMax, top, bottom: min };
    }
    return { clipped: false, cut: Infinity, max: evMax, top: max, bottom: min };
  }

  _renderSavings(attributes, fmt) {
    const t = fmt.t;
    const saved = num(attributes.savings_today);
    const cost = num(attributes.cost_today);
    if (saved === null && cost === null) return "";
    const items = [];
    if (saved !== null) {
      let hours = num(attributes.savings_hours);
      if (hours === null) {
        const starts = (Array.isArray(attributes.slots) ? attributes.slots : []).map((s) => Date.parse(s?.start)).filter(Number.isFinite);
        const ends = (Array.isArray(attributes.slots) ? attributes.slots : []).map((s) => Date.parse(s?.end)).filter(Number.isFinite);
        hours = starts.length ? (Math.max(...ends) - Math.min(...starts)) / 3600e3 : 0;
      }
      const label = t("card.savings", { hours: fmt.kw.format(hours) });
      items.push(`<span class="saved">${escapeHtml(label)} <span class="value">${escapeHtml(fmt.formatMoney(saved))}</span></span>`);
    }
    const soFar = stateNum(this._related?.cost_today?.state);
    if (cost !== null && soFar !== null) {
      // What the grid has cost since midnight (metered) and what the plan expects until midnight.
      const sum = t("card.cost_sum", { so_far: fmt.formatMoney(soFar), planned: fmt.formatMoney(cost), total: fmt.formatMoney(soFar + cost) });
      items.push(`<span class="cost">${escapeHtml(t("card.cost_today"))} <span class="value">${escapeHtml(sum)}</span></span>`);
    } else if (cost !== null) {
      // What the plan expects from now to midnight (no metered cost so far to add).
      items.push(`<span class="cost">${escapeHtml(t("card.cost_planned"))} <span class="value">${escapeHtml(fmt.formatMoney(cost))}</span></span>`);
    }
    return `<div class="savings" aria-label="${escapeHtml(t("card.savings", { hours: "" }).replace(/,.*$/, ""))}">${items.join("")}</div>`;
  }

  /** The grid outage in progress (since when, how long on battery, energy served), else the last one. */
  _renderOutage(fmt) {
    const related = this._related || {};
    const t = fmt.t;
    const energy = (stateObj) => {
      const kwh = inUnit(stateObj, KWH_PER, "kWh");
      return kwh === null ? "–" : `${fmt.decimal.format(kwh)} kWh`;
    };
    if (related.grid_state?.state === "islanded") {
      const seconds = inUnit(related.time_on_battery, SECONDS_PER, "s") ?? 0;
      const text = t("card.outage_now", {
        time: fmt.time.format(new Date(Date.now() - seconds * 1000)),
        duration: formatDuration(seconds, fmt),
        energy: energy(related.outage_energy),
      });
      return `<div class="grid-outage now" role="alert">${escapeHtml(text)}</div>`;
    }
    const start = Date.parse(related.last_outage_start?.state);
    if (!Number.isFinite(start)) return "";
    const seconds = inUnit(related.last_outage_duration, SECONDS_PER, "s");
    const text = t("card.outage_last", {
      start: fmt.when(start, Date.now()),
      duration: seconds === null ? "–" : formatDuration(seconds, fmt),
      energy: energy(related.last_outage_energy),
    });
    return `<div class="grid-outage last" role="status">${escapeHtml(text)}</div>`;
  }

  _renderActions(attributes, plan, fmt) {
    const actions = attributes.current_actions;
    const errors = attributes.current_errors && typeof attributes.current_errors === "object" && !Array.isArray(attributes.current_errors)
      ? attributes.current_errors
      : {};
    const entries = actions && typeof actions === "object" && !Array.isArray(actions) ? Object.entries(actions) : [];
    // {id: {name, action}}: one row per device, even when two share a name
    const rows = new Map();
    for (const [id, entry] of entries) {
      const [name, text] = entry && typeof entry === "object" ? [entry.name || id, entry.action] : [id, entry];
      if (typeof text === "string" && text !== "") rows.set(id, { name, text });
    }
    for (const [id, entry] of Object.entries(errors)) {
      if (!entry || typeof entry !== "object") continue;
      const row = rows.get(id) ?? { name: entry.name || id, text: "" };
      row.error = entry;
      rows.set(id, row);
    }
    if (!rows.size) return "";
    const t = fmt.t;
    const explain = new Explainer(attributes, plan, fmt);
    const html = [...rows.entries()].map(([id, row]) => {
      const sentence = explain.device(id, row.text);
      const parts = [];
      if (sentence) {
        parts.push(`<span class="doing">${escapeHtml(sentence.doing)}</span>`);
        if (sentence.why) parts.push(` <span class="why">(${escapeHtml(sentence.why)})</span>`);
        if (sentence.problems.length) parts.push(` <span class="goal-problem">${escapeHtml(sentence.problems.join("; "))}</span>`);
        if (row.text) parts.push(` <span class="command">${escapeHtml(t("card.command", { action: row.text }))}</span>`);
      } else if (row.text) {
        parts.push(escapeHtml(row.text));
      }
      if (row.error) {
        const reason = [row.error.error, row.error.message].filter((v) => typeof v === "string" && v).join(": ");
        parts.push(`<span class="failed" role="alert">${escapeHtml(t("card.failed", { reason }))}</span>`);
      }
      return `<dt data-device="${escapeHtml(id)}">${escapeHtml(row.name)}</dt><dd data-device="${escapeHtml(id)}"${row.error ? ' class="has-error"' : ""}>${parts.join("")}</dd>`;
    });
    return `<section class="actions" aria-label="${escapeHtml(t("card.now"))}"><h3>${escapeHtml(t("card.now"))}</h3><dl>${html.join("")}</dl></section>`;
  }

  _renderLegend(present, fmt) {
    const items = SERIES.filter((s) => present.has(s.key)).map((s) => {
      const line = ["price", "soc", "grid"].includes(s.key);
      return `<li data-series="${s.key}"><span class="swatch${line ? " line" : ""}" style="background:${s.color}"></span>${escapeHtml(fmt.t(`series.${s.key}`))}</li>`;
    });
    return `<ul class="legend" aria-label="Legend">${items.join("")}</ul>`;
  }

  _renderChart(plan, width, compact, fmt, present, measure = new LabelMeasure(null, new Map())) {
    const { slots, from, to } = plan;
    const height = compact ? 240 : 280;
    const m = { left: compact ? 34 : 50, right: present.has("soc") ? (compact ? 30 : 36) : 8, top: 6, bottom: 20 };
    const plotW = Math.max(10, width - m.left - m.right);
    const x = (ms) => m.left + ((ms - from) / (to - from)) * plotW;
    // Job runs share a row unless their bars or (in the wide layout) their labels would touch.
    const jobRuns = present.has("jobs") ? this._jobRuns(slots) : [];
    let jobRowH = JOB_ROW_PX;
    for (const run of jobRuns) {
      run.x0 = x(slots[run.first].startMs);
      run.x1 = x(slots[run.last].endMs);
      run.begin = run.x0 - JOB_GAP_PX;
      run.barEnd = run.x1 + JOB_GAP_PX;
      run.end = run.barEnd;
      // The label's box as drawn, halo included; it may run past the bar but not off the chart.
      run.extent = measure.measure(run.name);
      run.textX = run.x0 + JOB_LABEL_OFFSET_PX;
      run.labelStart = run.textX + run.extent.left - measure.halo;
      run.labelLimit = width - 1;
      run.end = Math.max(run.barEnd, Math.min(run.textX + run.extent.right + measure.halo, run.labelLimit) + JOB_GAP_PX);
      jobRowH = Math.max(jobRowH, Math.ceil(run.extent.ascent + run.extent.descent + 2 * measure.halo + 1));
    }
    // On a phone too, each marker carries its job's name (shortened where it has no room).
    const labelRows = Math.max(1, Math.min(JOB_LABEL_ROWS, Math.floor(JOB_LABEL_BAND_PX / jobRowH)));
    const jobRows = placeJobRuns(jobRuns, labelRows);
    const priceH = present.has("price") || present.has("cheap") || present.has("clean") ? (compact ? 46 : 64) : 0;
    const gap = priceH ? 10 : 0;
    const jobsH = jobRows * jobRowH;
    const powerTop = m.top + priceH + gap + jobsH;
    const powerH = Math.max(40, height - powerTop - m.bottom);
    const out = [];

    // Accessible summary
    out.push(`<title id="gn-title">${escapeHtml(this._config.title ?? fmt.t("card.title"))}</title>`);
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
            `fill="${SERIES[8].color}" fill-opacity="0.16"`, fmt.t("chart.window_cheap", { from: fmt.time.format(slots[a].startMs), to: fmt.time.format(slots[b].endMs) })));
        }
      }
      if (present.has("clean")) {
        const band = 5;
        for (const [a, b] of runsWhere(slots, (s) => s.clean === true)) {
          out.push(this._rect("window-clean", x(slots[a].startMs), priceTop + priceH - band, x(slots[b].endMs) - x(slots[a].startMs), band,
            `fill="${SERIES[9].color}" fill-opacity="0.8"`, fmt.t("chart.window_clean", { from: fmt.time.format(slots[a].startMs), to: fmt.time.format(slots[b].endMs) })));
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
          <text x="${m.left - 4}" y="${priceTop + priceH - 6}" text-anchor="end">${escapeHtml(this._shortPrice(Math.min(...prices), fmt))}</text>
          <text class="axis-unit price-unit" x="${m.left - 4}" y="${priceTop + priceH / 2 + 2}" text-anchor="end">${escapeHtml(fmt.priceUnit())}</text></g>`);
        out.push(`<path class="series-price" fill="none" stroke="${SERIES[0].color}" stroke-width="2" stroke-linejoin="round" d="${this._stepPath(slots, x, (s) => num(s.price), y)}"><title>${escapeHtml(fmt.t("chart.price_unit", { unit: fmt.priceUnit() }))}</title></path>`);
      }
    }

    // Job rows between the panels. A label that has no room for the whole name is shortened with an
    // ellipsis or left out; the marker's tooltip and accessible name always carry the full name.
    jobRuns.forEach((run) => {
      const { x0, x1 } = run;
      const yy = m.top + priceH + gap + run.row * jobRowH + jobRowH / 2;
      const label = `${run.name} ${fmt.time.format(slots[run.first].startMs)}–${fmt.time.format(slots[run.last].endMs)}`;
      let text = "";
      const room = run.labelLimit - measure.halo - run.textX;
      const shown = run.extent.right <= room ? run.name : measure.elide(run.name, room);
      // Centre the text's box (ascent over descent) on the row.
      const baseline = round1(yy + (run.extent.ascent - run.extent.descent) / 2);
      const short = shown !== run.name ? ` data-elided="true"` : "";
      if (shown) text = `<text class="job-label" x="${round1(run.textX)}" y="${baseline}"${short}>${escapeHtml(shown)}</text>`;
      out.push(`<g class="job-marker" data-job="${escapeHtml(run.name)}" data-job-id="${escapeHtml(run.id)}" role="img" aria-label="${escapeHtml(fmt.t("chart.planned", { label }))}"><title>${escapeHtml(label)}</title>
        <line x1="${x0}" x2="${x1}" y1="${yy}" y2="${yy}" stroke="${SERIES[11].color}" stroke-width="3" stroke-linecap="round"></line>
        <path d="M${x0} ${yy - 5} L${x0 + 5} ${yy} L${x0} ${yy + 5} L${x0 - 5} ${yy} Z" fill="${SERIES[11].color}"></path>${text}</g>`);
    });

    // Power panel
    const field = POWER_FIELD;
    const scale = this._powerScale(slots, present);
    let pMax = scale.top;
    let pMin = scale.bottom;
    if (pMax - pMin < 100) pMax = pMin + 1000;
    const step = niceStep((pMax - pMin) / 1000, compact ? 4 : 5) * 1000;
    pMax = Math.ceil(pMax / step) * step;
    pMin = Math.floor(pMin / step) * step;
    const yP = (w) => powerTop + (1 - (w - pMin) / (pMax - pMin)) * powerH;
    const ticks = [];
    for (let w = pMin; w <= pMax + 1e-6; w += step) {
      const label = fmt.kw.format(w / 1000) + (w + step > pMax + 1e-6 ? " kW" : "");
      // every tick carries its unit in the compact layout too: the top one says kW
      ticks.push(`<line class="grid-line" x1="${m.left}" x2="${m.left + plotW}" y1="${yP(w)}" y2="${yP(w)}"></line>
        <text x="${m.left - 4}" y="${yP(w) + 4}" text-anchor="end">${escapeHtml(label)}</text>`);
    }
    out.push(`<g class="axis power-axis">${ticks.join("")}</g>`);

    // Outages across the whole chart
    if (present.has("outage")) {
      for (const [a, b] of runsWhere(slots, (s) => s.outage === true)) {
        out.push(this._rect("outage", x(slots[a].startMs), m.top, x(slots[b].endMs) - x(slots[a].startMs), powerTop + powerH - m.top,
          `fill="url(#gn-outage-hatch)"`, fmt.t("chart.outage", { from: fmt.time.format(slots[a].startMs), to: fmt.time.format(slots[b].endMs) })));
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
          const real = num(s[field[k]]) ?? 0;
          if (Math.abs(real) < 1) return;
          const v = Math.min(real, Math.max(scale.cut, pMax));
          const cut = v < real;
          const y0 = yP(Math.max(0, v));
          const h = Math.max(1, Math.abs(yP(v) - yP(0)));
          const spec = SERIES.find((d) => d.key === k);
          const what = k === "battery" ? fmt.t(real > 0 ? "chart.discharging" : "chart.charging") : fmt.t(`series.${spec.key}`);
          let mark = "";
          if (cut) {
            const bx = x0 + slotW * 0.1 + j * barW;
            mark = (`<path class="clip-mark" d="M${round1(bx)} ${round1(y0 + 4)} L${round1(bx + barW / 2)} ${round1(y0)} L${round1(bx + barW)} ${round1(y0 + 4)}" fill="none" stroke="var(--card-background-color, #fff)" stroke-width="1.5"></path>`);
          }
          bars.push(`<rect class="bar bar-${k}" data-slot="${i}"${cut ? ' data-clipped="true"' : ""} x="${round1(x0 + slotW * 0.1 + j * barW)}" y="${round1(y0)}" width="${round1(barW)}" height="${round1(h)}" fill="${spec.color}" fill-opacity="0.85"><title>${escapeHtml(`${what} ${fmt.formatKw(Math.abs(real))}, ${fmt.time.format(s.startMs)}`)}</title></rect>${mark}`);
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
      out.push(`<path class="series-soc" fill="none" stroke="${SERIES[4].color}" stroke-width="2.5" stroke-linejoin="round" d="${points.join(" ")}"><title>${escapeHtml(fmt.t("series.soc"))} (%)</title></path>`);
    }

    // Time axis
    out.push(this._timeAxis(from, to, x, powerTop + powerH, compact, fmt, m, priceH ? m.top : powerTop));

    // Now marker
    const now = Date.now();
    if (now >= from && now <= to) {
      out.push(`<line class="now-marker" x1="${x(now)}" x2="${x(now)}" y1="${m.top}" y2="${powerTop + powerH}"><title>${escapeHtml(fmt.t("chart.now"))}</title></line>`);
    }

    // Per-slot hover targets with a readable summary
    out.push(`<g class="slot-targets">${slots.map((s, i) => `<rect class="slot-hit" data-slot="${i}" x="${round1(x(s.startMs))}" y="${m.top}" width="${round1(Math.max(1, x(s.endMs) - x(s.startMs)))}" height="${round1(powerTop + powerH - m.top)}"><title>${escapeHtml(this._slotText(s, fmt))}</title></rect>`).join("")}</g>`);

    return `<svg role="img" aria-labelledby="gn-title gn-desc" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" preserveAspectRatio="xMinYMin meet" xmlns="${SVG_NS}">${out.join("")}</svg>`;
  }

  _shortPrice(value, fmt) {
    return fmt.price2.format(value);
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
    const t = fmt.t;
    const parts = [`${fmt.time.format(s.startMs)}–${fmt.time.format(s.endMs)}`];
    if (num(s.price) !== null) parts.push(fmt.formatPrice(s.price) + (s.price_estimated === true ? ` (${t("slot.estimated")})` : ""));
    if (num(s.pv_w) !== null) parts.push(t("slot.solar", { kw: fmt.formatKw(s.pv_w) }));
    if (num(s.load_w) !== null) parts.push(t("slot.load", { kw: fmt.formatKw(s.load_w) }));
    const bat = num(s.battery_w);
    if (bat !== null && Math.abs(bat) >= 1) parts.push(t(bat > 0 ? "slot.discharging" : "slot.charging", { kw: fmt.formatKw(Math.abs(bat)) }));
    if (num(s.soc_pct) !== null) parts.push(t("slot.soc", { pct: fmt.formatPct(s.soc_pct) }));
    const grid = num(s.grid_w);
    if (grid !== null && Math.abs(grid) >= 1) parts.push(t(grid > 0 ? "slot.import" : "slot.export", { kw: fmt.formatKw(Math.abs(grid)) }));
    if ((num(s.ev_w) ?? 0) >= 1) parts.push(t("slot.ev", { kw: fmt.formatKw(s.ev_w) }));
    if ((num(s.heat_pump_w) ?? 0) >= 1) parts.push(t("slot.heat_pump", { kw: fmt.formatKw(s.heat_pump_w) }));
    if (Array.isArray(s.jobs) && s.jobs.length) parts.push(t("slot.jobs", { jobs: s.jobs.join(", ") }));
    const flags = [s.cheap === true && t("slot.cheap"), s.clean === true && t("slot.clean"), s.outage === true && t("slot.outage")].filter(Boolean);
    if (flags.length) parts.push(flags.join(", "));
    return parts.join(" · ");
  }

  _summary(plan, fmt, present) {
    const t = fmt.t;
    const { slots } = plan;
    const hours = Math.round((plan.to - plan.from) / 3600e3);
    const text = [t("summary.plan", { hours, time: fmt.time.format(plan.from) })];
    const priced = slots.filter((s) => num(s.price) !== null);
    if (present.has("price") && priced.length) {
      const cheapest = priced.reduce((a, b) => (b.price < a.price ? b : a));
      const dearest = priced.reduce((a, b) => (b.price > a.price ? b : a));
      text.push(t("summary.price", {
        low: fmt.formatPrice(cheapest.price), lowAt: fmt.time.format(cheapest.startMs),
        high: fmt.formatPrice(dearest.price), highAt: fmt.time.format(dearest.startMs),
      }));
    }
    const socs = slots.map((s) => num(s.soc_pct)).filter((v) => v !== null);
    if (present.has("soc") && socs.length) {
      text.push(t("summary.soc", { now: fmt.formatPct(socs[0]), min: fmt.formatPct(Math.min(...socs)), max: fmt.formatPct(Math.max(...socs)) }));
    }
    if (present.has("outage")) {
      const runs = runsWhere(slots, (s) => s.outage === true);
      text.push(t("summary.outage", { runs: runs.map(([a, b]) => `${fmt.time.format(slots[a].startMs)}–${fmt.time.format(slots[b].endMs)}`).join(", ") }));
    }
    if (present.has("jobs")) {
      const runs = this._jobRuns(slots);
      text.push(t("summary.jobs", { jobs: runs.map((r) => t("summary.job_at", { name: r.name, time: fmt.time.format(slots[r.first].startMs) })).join(", ") }));
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
    const t = translator(this._hass);
    const seriesBoxes = SERIES.map(
      (s) => `<label class="check"><input type="checkbox" name="series" value="${s.key}">${escapeHtml(t(`series.${s.key}`))}</label>`,
    ).join("");
    this.shadowRoot.innerHTML = `
      <style>${EDITOR_STYLE}</style>
      <div class="editor">
        <label class="field">${escapeHtml(t("editor.entity"))}
          <input type="text" id="entity" list="gridnode-plan-entities" autocomplete="off" placeholder="${DEFAULT_ENTITY}">
        </label>
        <datalist id="gridnode-plan-entities"></datalist>
        <label class="field">${escapeHtml(t("editor.title"))}
          <input type="text" id="title" placeholder="${escapeHtml(t("card.title"))}">
        </label>
        <label class="field">${escapeHtml(t("editor.hours", { min: MIN_HOURS, max: MAX_HOURS }))}
          <input type="number" id="hours" min="${MIN_HOURS}" max="${MAX_HOURS}" step="1">
        </label>
        <fieldset id="series"><legend>${escapeHtml(t("editor.series"))}</legend>${seriesBoxes}</fieldset>
        <label class="check"><input type="checkbox" id="show_actions">${escapeHtml(t("editor.show_actions"))}</label>
        <label class="check"><input type="checkbox" id="show_savings">${escapeHtml(t("editor.show_savings"))}</label>
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

  /** Offer GridNode plan sensors first: registry platform gridnode, or any sensor announcing a plan. */
  _updateEntityList() {
    const list = this.shadowRoot?.getElementById("gridnode-plan-entities");
    if (!list || !this._hass) return;
    const states = this._hass.states || {};
    const registry = this._hass.entities || {};
    const ids = Object.keys(states)
      .filter((id) => id.startsWith("sensor."))
      .filter((id) => registry[id]?.platform === "gridnode" || isPlanState(states[id]))
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
      description: STRINGS[languageOf({ language: document.documentElement.lang || navigator.language })]["card.description"],
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

// The page: signup, credit scoring with explanations, drift, and live tables of jobs and queues.

import {api, ApiError, jobFailure, runJob, saveKey, savedKey, watchJob} from "./api.js";
import {barChart, largest} from "./charts.js";
import {featureIndex, featureLabel, featureValue, percent, probability} from "./format.js";

const $ = (selector) => document.querySelector(selector);
const REFRESH_MS = 2000;
let lastProbability = null;
let globalJobId = null;

function element(tag, text, className) {
  const made = document.createElement(tag);
  if (text !== undefined) made.textContent = text;
  if (className) made.className = className;
  return made;
}

// What the top notice says about a failed request: the server's own words, and what to do about a key.
function describe(error) {
  if (!(error instanceof ApiError)) return String(error.message || error);
  if (error.keyRefused) return `The API key was refused (${error.message}): check it above, or clear it.`;
  if (error.status === 401) return `This service needs an API key: enter it above (${error.message}).`;
  return error.summary;
}

function notice(error) {
  const box = $("#notice");
  const key = $("#api-key");
  if (error instanceof ApiError && error.status === 401) key.setAttribute("aria-invalid", "true");
  else key.removeAttribute("aria-invalid");
  box.hidden = !error;
  box.textContent = error ? describe(error) : "";
}

function show(target, status, ...children) {
  target.dataset.status = status;
  target.replaceChildren(...children);
}

// -- field errors: details[].field names the input ("input.city"), the page marks it ------------------
function fieldFor(section, name) {
  const fields = [...section.querySelectorAll("[data-field]")];
  return fields.find(({dataset}) => name === dataset.field || name.startsWith(`${dataset.field}.`));
}

function markField(field, message) {
  field.setAttribute("aria-invalid", "true");
  // Score and explain may both be refused for the same customer: one note says it.
  const anchor = field.closest("label") || field;
  const next = anchor.nextElementSibling;
  if (next && next.matches(".field-error") && next.textContent === message) return;
  const note = element("span", message, "field-error");
  note.dataset.for = field.dataset.field;
  anchor.after(note);
}

function clearFields(section) {
  section.querySelectorAll(".field-error").forEach((note) => note.remove());
  section.querySelectorAll("[aria-invalid]").forEach((field) => field.removeAttribute("aria-invalid"));
}

// A refused request: its message in the card that asked, each field error beside its field.
function refuse(result, error) {
  const section = result.closest("section");
  const details = error instanceof ApiError ? error.details : [];
  const elsewhere = details.filter(({field, message}) => {
    const input = field && fieldFor(section, field);
    if (input) markField(input, message);
    return !input;
  });
  const headline = error instanceof ApiError && error.status !== 401 ? error.message : describe(error);
  show(result, error instanceof ApiError && error.status < 500 ? "invalid" : "error",
    element("span", headline, "error"),
    ...elsewhere.map(({field, message}) => element("div", field ? `${field}: ${message}` : message, "error")));
}

// An event handler that reports failures: in the top notice and, given a result box, in its card.
// The button that started it is disabled meanwhile, so the card is ready again however it ends.
function guard(action, {result = null, button = null} = {}) {
  return async (event) => {
    if (event) event.preventDefault();
    const box = result && $(result);
    const busy = button && $(button);
    if (box) clearFields(box.closest("section"));
    if (busy) busy.disabled = true;
    try {
      notice(null);
      await action(event);
    } catch (error) {
      notice(error);
      if (box) refuse(box, error);
    } finally {
      if (busy) busy.disabled = false;
    }
  };
}

// -- signup -------------------------------------------------------------------
async function loadVocabulary() {
  const model = await api("GET", "/models/interests");
  const box = $("#interests");
  box.replaceChildren(element("legend", "Interests"));
  for (const term of model.details.vocabulary) {
    const label = element("label", undefined, "chip");
    const input = Object.assign(document.createElement("input"), {type: "checkbox", value: term, name: "interest"});
    label.append(input, element("span", term));
    box.append(label);
  }
}

async function signUp() {
  const interests = [...document.querySelectorAll("#interests input:checked")].map((input) => input.value);
  const result = $("#signup-result");
  if (!interests.length) {
    markField($("#interests"), "Pick at least one interest.");
    show(result, "invalid", element("span", "Pick at least one interest.", "error"));
    return;
  }
  show(result, "queued", element("span", "Waiting for a worker…", "muted"));
  const job = await runJob({model: "interests", input: {interests, city: $("#city").value}},
    (update) => show(result, update.status, element("span", `Job ${update.status}…`, "muted")));
  const failure = jobFailure(job);
  if (failure) {
    show(result, job.status, element("span", failure, "error"));
    return;
  }
  const {cluster, room, unknown_interests: unknown} = job.result;
  const parts = [element("div", `Cluster ${cluster}`, "big"), element("div", `Chat room: ${room}`, "room")];
  if (unknown.length) parts.push(element("div", `Not in the vocabulary: ${unknown.join(", ")}`, "muted"));
  show(result, job.status, ...parts);
}

// -- credit -------------------------------------------------------------------
const CUSTOMER_RE = /^[0-9]{1,18}$/;
const SUGGESTIONS = 20;
let features = featureIndex(); // the active credit model's features: name -> {label, unit}
let searching = null;

function offerCustomers(customers) {
  $("#customer-ids").replaceChildren(...customers.map(({customer_id: id}) => new Option(`Customer ${id}`, id)));
}

async function loadCredit() {
  const [model, page] = await Promise.all([api("GET", "/models/credit"), api("GET", `/customers?limit=${SUGGESTIONS}`)]);
  features = featureIndex(model.details.features);
  offerCustomers(page.customers);
  if (!$("#customer").value && page.customers.length) $("#customer").value = page.customers[0].customer_id;
  const count = model.metrics.n_customers;
  $("#customer-hint").textContent = count
    ? `${count.toLocaleString("en")} customers: type the first digits of an id to find one` : "";
  const recommended = model.metrics.recommended_threshold;
  if (recommended !== undefined) {
    $("#threshold").value = recommended;
    $("#threshold-hint").textContent = `recommended: ${recommended.toFixed(3)} (lowest expected cost)`;
  }
  showThreshold();
}

// Suggest the customers whose id starts with what was typed (GET /customers?id_prefix=), once typing pauses.
function searchCustomers() {
  clearTimeout(searching);
  const digits = $("#customer").value.trim();
  if (!CUSTOMER_RE.test(digits)) return;
  searching = setTimeout(async () => {
    try {
      const page = await api("GET", `/customers?limit=${SUGGESTIONS}&id_prefix=${digits}`);
      if ($("#customer").value.trim() === digits) offerCustomers(page.customers);
    } catch (error) {
      notice(error);
    }
  }, 150);
}

function decision(probability, threshold) {
  return probability >= threshold ? "refused" : "accepted";
}

function showThreshold() {
  const threshold = Number($("#threshold").value);
  $("#threshold-value").textContent = threshold.toFixed(3);
  const badge = $("#credit-result .decision");
  if (badge && lastProbability !== null) {
    badge.textContent = decision(lastProbability, threshold);
    badge.className = `decision ${badge.textContent}`;
  }
}

// What was typed goes to the service as it is (digits as a number): the service says what is wrong with it.
function creditInput() {
  const typed = $("#customer").value.trim();
  return {customer_id: CUSTOMER_RE.test(typed) ? Number(typed) : typed || null};
}

async function score() {
  const result = $("#credit-result");
  show(result, "queued", element("span", "Scoring…", "muted"));
  const threshold = Number($("#threshold").value);
  const input = creditInput();
  const job = await runJob({model: "credit", input, params: {threshold}});
  const failure = jobFailure(job);
  if (failure) {
    show(result, job.status, element("span", failure, "error"));
    return;
  }
  lastProbability = job.result.probability;
  show(result, job.status,
    element("span", `Customer ${input.customer_id}: probability of default ${percent(lastProbability)} `),
    element("span", job.result.decision, `decision ${job.result.decision}`));
  showThreshold();
}

async function explainLocal() {
  const chart = $("#local-chart");
  show(chart, "queued", element("span", "Explaining…", "muted"));
  const top = 12;
  const job = await runJob({model: "credit", task: "explain", input: creditInput(), params: {scope: "local", top}});
  const failure = jobFailure(job);
  if (failure) {
    show(chart, job.status, element("span", failure, "error"));
    return;
  }
  // SHAP values add up in log-odds: base + their sum is this applicant's; both read as probabilities.
  const {base_value: base, probability: own, top_reasons: reasons, customer_id: id} = job.result;
  barChart(chart, reasons.map(({feature, value, contribution}) => ({
    label: featureLabel(features, feature), note: featureValue(features, feature, value), value: contribution,
  })), {
    signed: true, positive: "raises risk", negative: "lowers risk",
    title: `Customer ${id}: average applicant ${percent(probability(base))} → this applicant ${percent(own)}`,
    caption: `The ${reasons.length} features that moved this applicant's risk most, with their values; `
      + "each bar is its push in log-odds (SHAP).",
  });
  chart.dataset.status = job.status;
}

// -- global explanation -------------------------------------------------------
function showProgress(job) {
  globalJobId = job.id;
  const {done, total} = job.progress;
  const share = total ? done / total : 0;
  $("#global-bar").style.width = `${(share * 100).toFixed(1)}%`;
  show($("#global-progress"), job.status, element("span", `${job.status}: ${done} / ${total} customers`));
  $("#global-cancel").disabled = job.status !== "queued" && job.status !== "running";
}

async function explainGlobal() {
  const chart = $("#global-chart");
  show(chart, "queued");
  $("#global-start").disabled = true;
  try {
    const params = {scope: "global", sample_size: Number($("#sample-size").value), seed: Number($("#seed").value)};
    const job = await watchJob({model: "credit", task: "explain", params}, showProgress);
    const failure = jobFailure(job);
    if (failure) {
      show(chart, job.status, element("span", failure, "error"));
      return;
    }
    const cached = job.result.cached ? " (reused from an identical earlier job)" : "";
    const drivers = largest(job.result.importance, 15).map(([name, value]) => ({
      label: featureLabel(features, name), value,
    }));
    barChart(chart, drivers, {
      title: `What moves the risk most, over ${job.result.sample_size} customers${cached}`,
      caption: "Each bar is a feature's average push on one applicant's risk, either way (mean |SHAP|, log-odds).",
    });
    chart.dataset.status = job.status;
  } finally {
    $("#global-start").disabled = false;
    $("#global-cancel").disabled = true;
  }
}

async function cancelGlobal() {
  if (globalJobId) await api("DELETE", `/jobs/${globalJobId}`);
}

// -- drift --------------------------------------------------------------------
const DRIFT_BARS = 15;

function count(number, noun) {
  return `${number.toLocaleString("en")} ${noun}${number === 1 ? "" : "s"}`;
}

function when(iso) {
  return new Date(iso).toLocaleString("en", {dateStyle: "medium", timeStyle: "short"});
}

async function loadDriftModels() {
  const {models} = await api("GET", "/models");
  const select = $("#drift-model");
  const chosen = select.value || (models.some(({name}) => name === "credit") ? "credit" : "");
  select.replaceChildren(...models.map(({name}) => new Option(name, name)));
  select.value = chosen || (models.length ? models[0].name : "");
  if (select.value) await showDrift();
}

// GET /models/<name>/drift: what the window holds, what it is compared with, and a bar per feature.
async function showDrift() {
  const name = $("#drift-model").value;
  const summary = $("#drift-summary");
  const chart = $("#drift-chart");
  show(summary, "queued", element("span", "Comparing…", "muted"));
  chart.dataset.status = "queued"; // the chart shown is the last window's until this one is drawn
  const path = `/models/${encodeURIComponent(name)}`;
  const days = encodeURIComponent($("#drift-days").value);
  const [report, model] = await Promise.all([api("GET", `${path}/drift?days=${days}`), api("GET", path)]);
  const labels = featureIndex(model.details.features || []);
  const {window: range, reference, prediction} = report;
  const lines = [
    element("div", `${count(range.jobs, "job")}, ${count(range.records, "record")}, `
      + `${when(range.since)} to ${when(range.until)}`
      + (range.truncated ? ` (the newest ${range.max_jobs} jobs)` : "")),
    element("div", `Compared with the training data of version ${reference.version}: `
      + `${(reference.rows || 0).toLocaleString("en")} rows, ${reference.training_data || "its training table"}`,
    "muted"),
  ];
  const flagged = report.flagged.map((feature) => featureLabel(labels, feature));
  if (flagged.length) lines.push(element("div", `Drifting (PSI above ${report.threshold}): ${flagged.join(", ")}`, "flags"));
  else if (range.records < report.min_records) {
    lines.push(element("div", `Too few records to flag anything (at least ${report.min_records}).`, "muted"));
  } else lines.push(element("div", `No feature above ${report.threshold}.`, "muted"));
  if (prediction && prediction.psi !== null) {
    lines.push(element("div", `Predictions (${prediction.name}): PSI ${prediction.psi.toFixed(3)}`
      + (prediction.flagged ? ": drifting" : ""), prediction.flagged ? "flags" : "muted"));
  }
  show(summary, "succeeded", ...lines);
  const bars = report.features.filter(({psi}) => psi !== null).sort((a, b) => b.psi - a.psi).slice(0, DRIFT_BARS);
  if (!bars.length) {
    show(chart, "empty", element("span", "No archived prediction in this window yet.", "muted"));
    return;
  }
  barChart(chart, bars.map(({name: feature, psi, flagged: drifting, missing_share: missing}) => ({
    label: featureLabel(labels, feature), value: psi, flagged: drifting,
    note: missing.window > missing.reference + 0.05 ? `missing ${percent(missing.window)}` : undefined,
  })), {
    title: `The ${bars.length} features that moved most`,
    caption: "Population stability index of each feature's recent values against training; "
      + `the dashed line is ${report.threshold}, red bars are above it (drawn at most to ${4 * report.threshold}).`,
    marker: {value: report.threshold, label: String(report.threshold)},
    cap: 4 * report.threshold,
  });
  chart.dataset.status = "succeeded";
}

// -- live tables --------------------------------------------------------------
function row(...cells) {
  const tr = document.createElement("tr");
  tr.append(...cells.map((cell) => element("td", cell === null || cell === undefined ? "" : String(cell))));
  return tr;
}

function ranMs(job) {
  if (!job.started_at || !job.finished_at) return "";
  return Math.max(0, Date.parse(job.finished_at) - Date.parse(job.started_at));
}

async function refreshTables() {
  const [jobs, scaling] = await Promise.all([api("GET", "/jobs?limit=10"), api("GET", "/scaling")]);
  $("#jobs-table tbody").replaceChildren(...jobs.jobs.map((job) => {
    const tr = row(job.id.slice(0, 8), job.model, job.task, job.status,
      new Date(job.created_at).toLocaleTimeString(), ranMs(job));
    tr.className = job.status;
    return tr;
  }));
  $("#queues-table tbody").replaceChildren(...Object.values(scaling.queues).map((q) =>
    row(q.queue, q.depth, q.oldest_age_s, q.workers, q.throughput_per_min, q.suggested_workers)));
}

async function refreshLoop() {
  try {
    await refreshTables();
  } catch (error) {
    notice(error);
  }
  setTimeout(refreshLoop, REFRESH_MS);
}

// -- start --------------------------------------------------------------------
async function loadAll() {
  notice(null);
  const loads = await Promise.allSettled([loadVocabulary(), loadCredit(), loadDriftModels()]);
  const failed = loads.find((outcome) => outcome.status === "rejected");
  if (failed) notice(failed.reason);
}

function start() {
  $("#api-key").value = savedKey();
  $("#key-state").textContent = savedKey() ? "saved" : "";
  $("#key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveKey($("#api-key").value.trim());
    $("#key-state").textContent = savedKey() ? "saved" : "cleared";
    loadAll();
  });
  $("#signup-form").addEventListener("submit", guard(signUp, {result: "#signup-result", button: "#signup-submit"}));
  $("#credit-form").addEventListener("submit", guard(score, {result: "#credit-result", button: "#score"}));
  $("#explain-local").addEventListener("click", guard(explainLocal, {result: "#local-chart", button: "#explain-local"}));
  $("#threshold").addEventListener("input", showThreshold);
  $("#customer").addEventListener("input", searchCustomers);
  $("#global-form").addEventListener("submit", guard(explainGlobal, {result: "#global-chart"}));
  $("#global-cancel").addEventListener("click", guard(cancelGlobal));
  $("#drift-form").addEventListener("submit", guard(showDrift, {result: "#drift-summary", button: "#drift-compare"}));
  $("#drift-model").addEventListener("change", guard(showDrift, {result: "#drift-summary"}));
  loadAll();
  refreshLoop();
}

start();

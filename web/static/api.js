// The service's JSON API as the page uses it: the stored key, errors as exceptions, jobs to completion.

const KEY_STORAGE = "scoring.apiKey";
const TERMINAL = new Set(["succeeded", "failed", "canceled"]);
const FIELDS_IN_SUMMARY = 3;

export class ApiError extends Error {
  constructor(status, body, challenge = "") {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.type = error.type || "http_error";
    // One entry per bad field: {field: "input.city", message: "...", type: "..."}.
    this.details = Array.isArray(error.details) ? error.details : [];
    // RFC 6750: a key was sent and the service does not know it (rather than none sent at all).
    this.keyRefused = status === 401 && /error="invalid_token"/.test(challenge);
  }

  // The server's message and its first field errors, as one line a person can act on.
  get summary() {
    const fields = this.details.slice(0, FIELDS_IN_SUMMARY).map(({field, message}) =>
      field ? `${field}: ${message}` : message);
    const more = this.details.length > FIELDS_IN_SUMMARY ? ` (and ${this.details.length - FIELDS_IN_SUMMARY} more)` : "";
    return fields.length ? `${this.message}: ${fields.join("; ")}${more}` : this.message;
  }
}

export function savedKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

export function saveKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

export async function api(method, path, body) {
  const headers = {Accept: "application/json"};
  const key = savedKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data, response.headers.get("WWW-Authenticate") || "");
  return data;
}

export function isDone(job) {
  return TERMINAL.has(job.status);
}

// Submit a job and hold until it ends, using ?wait on both the submit and the polls.
export async function runJob(body, onUpdate = () => {}) {
  let job = await api("POST", "/jobs?wait=10", body);
  onUpdate(job);
  while (!isDone(job)) {
    job = await api("GET", `/jobs/${job.id}?wait=10`);
    onUpdate(job);
  }
  return job;
}

// Submit a job and poll it often, so its progress can be shown as it moves.
export async function watchJob(body, onUpdate, intervalMs = 300) {
  let job = await api("POST", "/jobs", body);
  onUpdate(job);
  while (!isDone(job)) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    job = await api("GET", `/jobs/${job.id}`);
    onUpdate(job);
  }
  return job;
}

export function jobFailure(job) {
  if (job.status === "failed") return job.error ? job.error.message : "the job failed";
  if (job.status === "canceled") return "the job was canceled";
  return null;
}

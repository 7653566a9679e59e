// Numbers as a credit officer reads them: probabilities in per cent, features by their manifest labels and units.

const DAYS_PER_YEAR = 365.25;

// A no-break space keeps "5.9 %" on one line.
export function percent(probability) {
  return `${(probability * 100).toFixed(1)}\u00a0%`;
}

// Log-odds (the model's raw output, and SHAP's unit) as a probability.
export function probability(logOdds) {
  return 1 / (1 + Math.exp(-logOdds));
}

// The manifest's details.features as a look-up: name -> {label, unit, ...}.
export function featureIndex(features = []) {
  return Object.fromEntries(features.map((feature) => [feature.name, feature]));
}

export function featureLabel(index, name) {
  return (index[name] && index[name].label) || name;
}

// A span of days as a person says it: "12 days", "8 months", "40.2 years".
function span(days) {
  const count = Math.abs(days);
  if (count < 90) return `${Math.round(count)} day${Math.round(count) === 1 ? "" : "s"}`;
  if (count < 2 * DAYS_PER_YEAR) return `${Math.round(count / (DAYS_PER_YEAR / 12))} months`;
  return `${(count / DAYS_PER_YEAR).toFixed(1)} years`;
}

// One applicant's value: DAYS_* (days before the application) as a span, amounts with thousands separators.
export function featureValue(index, name, value) {
  if (value === null || value === undefined) return "missing";
  if (typeof value !== "number") return String(value);
  const unit = index[name] && index[name].unit;
  if (unit === "days") return span(value);
  if (unit === "currency") return value.toLocaleString("en", {maximumFractionDigits: 0});
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(3)));
}

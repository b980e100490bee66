// What every view of the catalog page shares: the GraphQL client (with the credential prompt),
// DOM building that only ever sets text, charts, and the page's address as its state.
/* global Chart */

export const RUN_QUERY = `query Run($metrics: [String!]!, $groupBy: [String!], $where: String, $orderBy: [String!], $from: String, $to: String, $limit: Int, $fillGaps: Boolean) {
  query(metrics: $metrics, groupBy: $groupBy, where: $where, orderBy: $orderBy, from: $from, to: $to, limit: $limit, fillGaps: $fillGaps) {
    columns { name type role }
    rows
    sql
    version
    commit
    warnings
    health { models { model dataAsOf failedChecks { id status message } } incompletePeriods { model grain period dataAsOf } warnings }
  }
}`;

export class ApiError extends Error {
  constructor(error) {
    super(error.message);
    this.code = error.extensions?.code;
  }
}

// A server with authentication asks for an API key or a bearer token: the page prompts once,
// keeps it for this tab only (sessionStorage) and sends it the way the API expects.
const CREDENTIAL = 'tally.credential';
let credentialPrompt = null;

function credentialHeaders() {
  const credential = sessionStorage.getItem(CREDENTIAL);
  if (!credential) return {};
  return /^[\w-]+\.[\w-]+\.[\w-]+$/.test(credential) ? { authorization: `Bearer ${credential}` } : { 'x-api-key': credential };
}

/** One prompt however many requests were refused at once; false when the reader declines. */
function askForCredential() {
  credentialPrompt ??= Promise.resolve().then(() => {
    const answer = window.prompt('This Tally server needs credentials. Paste an API key or a bearer token (kept for this tab only):');
    credentialPrompt = null;
    if (!answer?.trim()) return false;
    sessionStorage.setItem(CREDENTIAL, answer.trim());
    return true;
  });
  return credentialPrompt;
}

export async function graphql(query, variables, afterPrompt = false) {
  const sent = sessionStorage.getItem(CREDENTIAL);
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...credentialHeaders() },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors?.length) {
    if (body.errors[0].extensions?.code === 'UNAUTHENTICATED' && !afterPrompt) {
      // Another request may have been given a credential meanwhile: use it before asking.
      if (sessionStorage.getItem(CREDENTIAL) !== sent) return graphql(query, variables, true);
      sessionStorage.removeItem(CREDENTIAL);
      if (await askForCredential()) return graphql(query, variables, true);
    }
    throw new ApiError(body.errors[0]);
  }
  return body.data;
}

export const run = async (request) => (await graphql(RUN_QUERY, request)).query;

// ---- DOM helpers: text is always set as text, never parsed as HTML ----

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'value') el.value = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  el.append(...nodes(children));
  return el;
}

/** Children as nodes: nested arrays flattened, null/undefined/false dropped, the rest as text. */
function nodes(children) {
  return children
    .flat(Infinity)
    .filter((child) => child !== null && child !== undefined && child !== false)
    .map((child) => (child instanceof Node ? child : String(child)));
}

export function fill(el, ...children) {
  el.replaceChildren(...nodes(children));
  return el;
}


// ---- numbers: exact values stay exact strings; only the display groups digits (format.js) ----

export const rawValue = (value) => (value === null || value === undefined ? '' : String(value));
export const chartNumber = (value) => (value === null || value === undefined ? null : Number(value));


const charts = new Map();

/** Which render is current: a view bumps it when it starts, and drops answers that arrive for an older one. */
export const view = { token: 0 };

/** Removes every chart (a new view is about to be drawn). */
export function destroyCharts() {
  for (const chart of charts.values()) chart.destroy();
  charts.clear();
}
let renderToken = 0;

export function drawChart(id, canvas, config) {
  charts.get(id)?.destroy();
  charts.set(id, new Chart(canvas, config));
}


/** Keeps the page's state in its address without re-rendering, so that it can be shared. */
export function replaceParams(path, params) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();
  history.replaceState(null, '', `#${path}${query ? `?${query}` : ''}`);
}


export function requestText(request) {
  const parts = [`${request.metrics.join(', ')}`];
  if (request.groupBy?.length) parts.push(`by ${request.groupBy.join(', ')}`);
  if (request.from) parts.push(`from ${request.from}`);
  if (request.to) parts.push(`to ${request.to}`);
  if (request.where) parts.push(`where ${request.where}`);
  return parts.join(' ');
}

export function errorBanner(error) {
  return h('div', { class: 'banner error', role: 'alert' }, error.code ? `${error.code}: ` : '', error.message);
}

export const title = (metric) => metric.label || metric.name;

/** A value axis of a percent metric reads 40%, not 0.4; other formats keep Chart.js's ticks. */
export function percentTicks(format) {
  return format?.kind?.toLowerCase() === 'percent' ? { ticks: { callback: (value) => `${Math.round(Number(value) * 1000) / 10}%` } } : {};
}

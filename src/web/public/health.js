// The data-health page: every model with its freshness and each check with its last result and
// its history, all from the GraphQL API's `health` query (src/api/health-schema.ts).
const QUERY = `{ health { lastRunAt models { model timeDimension dataAsOf checks { id kind severity derived description last { status message ranAt failing } history(limit: 30) { status ranAt } } } } }`;

function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

// The credential the catalog page keeps for this tab (app.js), sent the same way.
function credentialHeaders() {
  const credential = sessionStorage.getItem('tally.credential');
  if (!credential) return {};
  return /^[\w-]+\.[\w-]+\.[\w-]+$/.test(credential) ? { authorization: `Bearer ${credential}` } : { 'x-api-key': credential };
}

async function start() {
  const main = document.getElementById('health');
  let health;
  try {
    const response = await fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...credentialHeaders() }, body: JSON.stringify({ query: QUERY }) });
    const body = await response.json();
    if (body.errors) throw new Error(body.errors.map((e) => e.message).join('; '));
    health = body.data.health;
  } catch (error) {
    main.replaceChildren(h('div', { class: 'banner', role: 'alert' }, `The data health could not be loaded: ${error.message}`));
    return;
  }
  const sections = health.models.map((m) => {
    const rows = m.checks.map((c) => {
      const status = c.last?.status ?? 'not run';
      const history = [...c.history].reverse().map((r) => h('span', { class: r.status, title: `${r.ranAt}: ${r.status}` }));
      return h('tr', { dataset: { check: c.id, status } },
        h('td', { class: `status-${status}` }, status),
        h('td', {}, h('code', {}, c.id), h('div', { class: 'muted' }, c.description, c.derived ? ' (derived from the definitions)' : '', ` · ${c.severity}`)),
        h('td', {}, c.last && c.last.status !== 'pass' ? c.last.message : ''),
        h('td', {}, h('span', { class: 'history', 'aria-label': `last ${c.history.length} runs` }, history)),
      );
    });
    return h('section', { class: 'card', id: `model-${m.model}` },
      h('header', {}, h('h2', {}, m.model), h('span', { class: 'request freshness' }, m.dataAsOf ? `data as of ${m.dataAsOf} UTC (${m.timeDimension})` : 'no time dimension')),
      h('table', { class: 'health' }, h('thead', {}, h('tr', {}, h('th', {}, 'Status'), h('th', {}, 'Check'), h('th', {}, 'Last result'), h('th', {}, 'History'))), h('tbody', {}, rows)),
    );
  });
  main.replaceChildren(
    h('h1', {}, 'Data health'),
    h('p', { class: 'muted', id: 'last-run' }, health.lastRunAt ? `Last check run started ${health.lastRunAt}. Run them with tally check, or on the schedule in tally.yml.` : 'No check run yet: run tally check (or set checks.schedule in tally.yml).'),
    ...sections,
  );
  document.body.dataset.ready = 'true';
}

start();

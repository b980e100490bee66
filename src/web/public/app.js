// The metric catalog. Everything it shows comes from the GraphQL API at /graphql, the same
// calculation path as the CLI and the library; this page only lays the answers out.
// Routes: #/ (searchable list, ?q=), #/metric/NAME (?grain=&from=&to=&by=), #/explore (explore.js)
// and #/dashboards, #/dashboard/NAME (dashboards.js).
import { renderDashboard, renderDashboardList } from './dashboards.js';
import { renderExplore } from './explore.js';
import { formatMetric, fuzzyMatches, periodLabel } from './format.js';
import { chartNumber, percentTicks, destroyCharts, drawChart, errorBanner, fill, graphql, h, rawValue, replaceParams, requestText, run, title, view } from './page.js';

const CATALOG_QUERY = `{
  catalog {
    version
    metrics {
      name type label description owner formula dimensions grains requiresTime format { kind currency decimals }
      deprecated { reason replacement }
      lineage { metric type inputs filterMetrics measures { measure agg expr model table metric columns { table column } } computedFrom { metric type inputs filterMetrics } }
    }
    dimensions { name type description }
  }
}`;

const BREAKDOWN_LIMIT = 20;
/** Grains worth a chart; finer ones the API offers are for tools, not for reading. */
const CHART_GRAINS = ['hour', 'day', 'week', 'month', 'quarter', 'year'];

// ---- state ----

let catalog;

function parseRoute() {
  const [path, query = ''] = (location.hash.replace(/^#/, '') || '/').split('?');
  const params = new URLSearchParams(query);
  const m = /^\/(metric|dashboard)\/([^/]+)$/.exec(path);
  if (m) return { view: m[1], name: decodeURIComponent(m[2]), params };
  if (path === '/explore') return { view: 'explore', params };
  if (path === '/dashboards') return { view: 'dashboards', params };
  return { view: 'list', params };
}

// ---- the list ----

function matches(metric, words) {
  const text = [metric.name, metric.label, metric.description, metric.owner, metric.type, metric.formula].filter(Boolean).join(' ');
  return fuzzyMatches(text, words);
}

function renderList(params) {
  const app = document.getElementById('app');
  const rows = h('tbody');
  const count = h('p', { id: 'result-count', class: 'muted' });
  const search = h('input', {
    id: 'search',
    class: 'search',
    type: 'search',
    placeholder: 'Search metrics by name, description, owner or type',
    'aria-label': 'Search metrics',
    value: params.get('q') ?? '',
    autocomplete: 'off',
  });
  const update = () => {
    const q = search.value.trim().toLowerCase();
    const words = q.split(/\s+/).filter(Boolean);
    const found = catalog.metrics.filter((m) => matches(m, words));
    fill(rows,
      ...found.map((m) =>
        h(
          'tr',
          { dataset: { metric: m.name } },
          h('td', {}, h('a', { class: 'name', href: `#/metric/${encodeURIComponent(m.name)}` }, title(m)), h('code', {}, m.name)),
          h('td', {}, h('span', { class: 'badge' }, m.type), m.deprecated ? [' ', h('span', { class: 'badge deprecated' }, 'deprecated')] : null),
          h('td', { class: 'owner' }, m.owner ?? ''),
          h('td', { class: 'description' }, m.description ?? ''),
        ),
      ),
    );
    count.textContent = `${found.length} of ${catalog.metrics.length} metrics`;
    replaceParams('/', { q: search.value.trim() });
  };
  search.addEventListener('input', update);
  fill(app,
    h('h1', {}, 'Metrics'),
    h('p', { class: 'muted' }, 'Every number here has one definition, reviewed like code. Open a metric for its chart, breakdown, lineage and SQL.'),
    search,
    count,
    h('table', { class: 'metrics-table', id: 'metric-list' }, h('thead', {}, h('tr', {}, h('th', {}, 'Metric'), h('th', {}, 'Type'), h('th', {}, 'Owner'), h('th', {}, 'Description'))), rows),
  );
  update();
  search.focus();
}

// ---- one metric ----

function lineageTree(metric) {
  // One entry per metric: measures (of inputs too) say which metric aggregates them.
  const entry = metric.lineage[0];
  if (!entry) return [];
  const byName = new Map([entry, ...entry.computedFrom].map((n) => [n.metric, n]));
  const columnsOf = (m) => h('ul', {}, m.columns.map((c) => h('li', { dataset: { column: `${c.table}.${c.column}` } }, h('span', { class: 'kind' }, 'column'), h('span', { class: 'node' }, `${c.table}.${c.column}`))));
  const node = (name, seen, kind) => {
    const n = byName.get(name);
    if (!n || seen.has(name)) return h('li', {}, h('span', { class: 'node' }, name));
    const next = new Set(seen).add(name);
    return h(
      'li',
      { dataset: { metric: name } },
      h('span', { class: 'kind' }, `${kind}${n.type} metric`),
      name === metric.name ? h('strong', { class: 'node' }, name) : h('a', { class: 'node', href: `#/metric/${encodeURIComponent(name)}` }, name),
      h(
        'ul',
        {},
        n.inputs.map((input) => node(input, next, '')),
        n.filterMetrics.map((input) => node(input, next, 'in a filter: ')),
        entry.measures
          .filter((m) => m.metric === name)
          .map((m) =>
            h(
              'li',
              { dataset: { measure: m.measure } },
              h('span', { class: 'kind' }, 'measure'),
              h('span', { class: 'node' }, `${m.measure} = ${m.agg}(${m.expr})`),
              h('ul', {}, h('li', {}, h('span', { class: 'kind' }, 'model'), h('span', { class: 'node' }, m.model), h('ul', {}, h('li', { dataset: { table: m.table } }, h('span', { class: 'kind' }, 'table'), h('span', { class: 'node' }, m.table), columnsOf(m))))),
            ),
          ),
      ),
    );
  };
  const columns = [...new Set(entry.measures.flatMap((m) => m.columns.map((c) => `${c.table}.${c.column}`)))];
  return [h('ul', { class: 'lineage', id: 'lineage' }, node(metric.name, new Set(), '')), h('p', { class: 'tables' }, 'Reads ', columns.length ? columns.map((t, i) => [i ? ', ' : '', h('code', {}, t)]) : '(no table columns)')];
}

function valuesTable(id, keyName, metric, rows, keyOf, labelOf = (key) => key ?? '(none)') {
  return h(
    'table',
    { id },
    h('thead', {}, h('tr', {}, h('th', {}, keyName), h('th', { class: 'num' }, metric.name))),
    h(
      'tbody',
      {},
      rows.map((row) => {
        const key = keyOf(row);
        const value = row[metric.name];
        return h('tr', { dataset: { key: rawValue(key), value: rawValue(value) } }, h('td', {}, labelOf(key)), h('td', { class: 'num' }, formatMetric(value, metric.format)));
      }),
    ),
  );
}


function renderMetric(name, params) {
  const app = document.getElementById('app');
  const metric = catalog.metrics.find((m) => m.name === name);
  if (!metric) {
    fill(app, h('p', { class: 'crumbs' }, h('a', { href: '#/' }, '← All metrics')), errorBanner({ code: 'UNKNOWN_METRIC', message: `There is no metric '${name}'.` }));
    return;
  }
  const grains = metric.grains.map((g) => g.toLowerCase()).filter((g) => CHART_GRAINS.includes(g));
  const dimensionTypes = new Map(catalog.dimensions.map((d) => [d.name, d.type]));
  const breakdownChoices = metric.dimensions.filter((d) => dimensionTypes.get(d) === 'categorical');
  const state = {
    grain: grains.includes(params.get('grain')) ? params.get('grain') : grains.includes('month') ? 'month' : grains[0],
    from: params.get('from') ?? '',
    to: params.get('to') ?? '',
    by: breakdownChoices.includes(params.get('by')) ? params.get('by') : (breakdownChoices.find((d) => d === 'user.country') ?? breakdownChoices[0]),
  };

  const seriesCard = h('section', { class: 'card', id: 'series' });
  const breakdownCard = h('section', { class: 'card', id: 'breakdown' });
  const sqlCard = h('section', { class: 'card', id: 'sql-card' });
  const audit = h('footer', { class: 'audit', id: 'audit' });
  const apiWarnings = h('div', { id: 'warnings' });

  const grainSelect = grains.length
    ? h('label', {}, 'Grain', h('select', { id: 'grain', onchange: (e) => ((state.grain = e.target.value), refresh()) }, grains.map((g) => h('option', { value: g, selected: g === state.grain }, g))))
    : null;
  const dateInput = (key, label) => h('label', {}, label, h('input', { id: key, type: 'date', value: state[key], onchange: (e) => ((state[key] = e.target.value), refresh()) }));
  const controls = grains.length
    ? h('div', { class: 'controls' }, grainSelect, dateInput('from', 'From'), dateInput('to', 'To'), h('button', { type: 'button', onclick: () => ((state.from = state.to = ''), (document.getElementById('from').value = ''), (document.getElementById('to').value = ''), refresh()) }, 'All time'))
    : null;

  fill(app,
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, '← All metrics')),
    h('h1', { id: 'metric-title' }, title(metric), metric.deprecated ? [' ', h('span', { class: 'badge deprecated' }, 'deprecated')] : null),
    h('div', { class: 'subtitle' }, h('code', {}, metric.name), h('span', { class: 'badge' }, metric.type), metric.owner ? h('span', {}, `Owner: ${metric.owner}`) : null, h('a', { id: 'explore-link', href: `#/explore?metrics=${encodeURIComponent(metric.name)}&grain=${grains.length ? state.grain : 'none'}` }, 'Explore with other metrics →')),
    metric.deprecated
      ? h(
          'div',
          { class: 'banner', id: 'deprecation', role: 'note' },
          h('strong', {}, 'Deprecated. '),
          metric.deprecated.replacement ? ['Use ', h('a', { href: `#/metric/${encodeURIComponent(metric.deprecated.replacement)}` }, metric.deprecated.replacement), ' instead. '] : null,
          metric.deprecated.reason,
        )
      : null,
    apiWarnings,
    metric.description ? h('p', { class: 'description' }, metric.description) : null,
    controls,
    seriesCard,
    h(
      'div',
      { class: 'grid' },
      breakdownCard,
      h('section', { class: 'card', id: 'definition' }, h('h2', {}, 'Definition'), h('p', { class: 'formula', id: 'formula' }, metric.formula), h('h2', {}, 'Lineage'), lineageTree(metric)),
    ),
    sqlCard,
    audit,
  );

  async function refresh() {
    const token = ++view.token;
    replaceParams(`/metric/${encodeURIComponent(metric.name)}`, { grain: grains.length ? state.grain : '', from: state.from, to: state.to, by: state.by });
    const from = state.from || undefined;
    const to = state.to || undefined;
    const timeKey = grains.length ? `metric_time.${state.grain}` : undefined;
    const seriesRequest = timeKey ? { metrics: [metric.name], groupBy: [timeKey], orderBy: [timeKey], from, to, fillGaps: true } : { metrics: [metric.name] };
    seriesCard.dataset.state = breakdownCard.dataset.state = 'loading';
    let series;
    try {
      series = await run(seriesRequest);
    } catch (error) {
      if (token !== view.token) return;
      fill(seriesCard, h('h2', {}, 'Over time'), errorBanner(error));
      seriesCard.dataset.state = 'error';
      breakdownCard.dataset.state = 'error';
      return;
    }
    if (token !== view.token) return;
    showSeries(seriesRequest, series, timeKey);
    await showBreakdown(token, series, timeKey, from, to);
  }

  function showSeries(request, result, timeKey) {
    seriesCard.dataset.request = JSON.stringify(request);
    const header = h('header', {}, h('h2', {}, timeKey ? `${title(metric)} by ${state.grain}` : title(metric)), h('span', { class: 'request' }, requestText(request)));
    if (timeKey) {
      const canvas = h('canvas', { id: 'series-chart', 'aria-label': `${title(metric)} by ${state.grain}`, role: 'img' });
      const partial = new Set((result.health?.incompletePeriods ?? []).map((p) => p.period));
      const incomplete = new Set(result.rows.map((row, i) => (partial.has(String(row[timeKey]).slice(0, 10)) ? i : -1)).filter((i) => i >= 0));
      canvas.dataset.incomplete = JSON.stringify([...incomplete].map((i) => String(result.rows[i][timeKey]).slice(0, 10)));
      const table = valuesTable('series-table', timeKey, metric, result.rows, (row) => row[timeKey], (key) => periodLabel(key, state.grain));
      fill(seriesCard, header, h('div', { class: 'chart' }, canvas), h('details', { open: result.rows.length <= 36 }, h('summary', {}, `The ${result.rows.length} values in the chart`), h('div', { class: 'scroll' }, table)));
      drawChart('series', canvas, {
        type: 'line',
        data: {
          labels: result.rows.map((row) => periodLabel(row[timeKey], state.grain)),
          datasets: [
            {
              label: title(metric),
              data: result.rows.map((row) => chartNumber(row[metric.name])),
              borderColor: '#2563eb',
              backgroundColor: 'rgba(37, 99, 235, 0.10)',
              fill: true,
              // Straight segments: a curve between two periods would show values no period has.
              tension: 0,
              pointRadius: result.rows.length > 60 ? 0 : 3,
              // Incomplete periods (the data stops inside them): dashed line into them, hollow points.
              segment: { borderDash: (ctx) => (incomplete.has(ctx.p1DataIndex) ? [6, 4] : undefined) },
              pointStyle: result.rows.map((_, i) => (incomplete.has(i) ? 'crossRot' : 'circle')),
            },
          ],
        },
        options: {
          animation: false,
          maintainAspectRatio: false,
          interaction: { mode: 'index', intersect: false },
          plugins: { legend: { display: false }, tooltip: { callbacks: { label: (ctx) => formatMetric(result.rows[ctx.dataIndex][metric.name], metric.format) } } },
          scales: { y: { beginAtZero: true, ...percentTicks(metric.format) }, x: { ticks: { maxRotation: 0, autoSkipPadding: 12 } } },
        },
      });
    } else {
      const value = result.rows[0]?.[metric.name] ?? null;
      fill(seriesCard,
        header,
        h('p', { class: 'big-number', id: 'total', dataset: { value: rawValue(value) } }, formatMetric(value, metric.format)),
        h('p', { class: 'muted' }, 'This metric has no time axis, so it is shown as one number.'),
      );
    }
    seriesCard.dataset.state = 'ready';
    fill(apiWarnings,
      ...(metric.deprecated ? [] : result.warnings.map((w) => h('div', { class: 'banner', role: 'note' }, w))),
      ...(result.health?.warnings ?? []).map((w) => h('div', { class: 'banner health-warning', role: 'note' }, w)),
    );
    fill(sqlCard, h('header', {}, h('h2', {}, 'SQL'), h('span', { class: 'request' }, `behind the ${timeKey ? 'chart' : 'number'} above: ${requestText(request)}`)), h('pre', { class: 'sql', id: 'sql' }, result.sql));
    const asOf = (result.health?.models ?? []).filter((m) => m.dataAsOf).map((m) => `${m.model} ${m.dataAsOf} UTC`);
    const failed = (result.health?.models ?? []).flatMap((m) => m.failedChecks);
    fill(audit, h('p', { id: 'data-health' }, asOf.length ? `Data as of: ${asOf.join(', ')}. ` : '', failed.length ? h('span', { class: 'check-status bad' }, `${failed.length} check${failed.length === 1 ? '' : 's'} on its data not passing`) : h('span', { class: 'check-status ok' }, 'Checks on its data passing'), ' · ', h('a', { href: '/health' }, 'Data health')),
      'Definitions version ', h('code', { id: 'definitions-version' }, result.version), result.commit ? [' · commit ', h('code', {}, result.commit)] : null, ' · every number on this page comes from the GraphQL API at ', h('a', { href: '/graphql' }, '/graphql'), '.');
  }

  async function showBreakdown(token, series, timeKey, from, to) {
    const header = (request) => h('header', {}, h('h2', {}, 'Breakdown'), request ? h('span', { class: 'request' }, requestText(request)) : null);
    if (!state.by) {
      fill(breakdownCard, header(), h('p', { class: 'muted' }, 'No dimension to break this metric down by.'));
      breakdownCard.dataset.state = 'ready';
      return;
    }
    const select = (note) => h('p', { class: 'by' }, h('label', {}, 'By ', h('select', { id: 'breakdown-by', onchange: (e) => ((state.by = e.target.value), refresh()) }, breakdownChoices.map((d) => h('option', { value: d, selected: d === state.by }, d)))), note ? h('span', { class: 'muted' }, note) : null);
    // A metric computed per period (a window, a comparison) is broken down over the latest period.
    const latest = metric.requiresTime ? [...series.rows].reverse().find((row) => row[metric.name] !== null)?.[timeKey] : undefined;
    const request = latest
      ? { metrics: [metric.name], groupBy: [timeKey, state.by], orderBy: [`-${metric.name}`], from: latest, to: latest, limit: BREAKDOWN_LIMIT }
      : { metrics: [metric.name], groupBy: [state.by], orderBy: [`-${metric.name}`], from, to, limit: BREAKDOWN_LIMIT };
    const note = latest
      ? `${title(metric)} is computed per period, so this is the latest ${state.grain}: ${periodLabel(latest, state.grain)}.`
      : `Top ${BREAKDOWN_LIMIT} over the ${from || to ? 'chosen range' : 'whole history'}.`;
    let result;
    try {
      result = await run(request);
    } catch (error) {
      if (token !== view.token) return;
      fill(breakdownCard, header(), select(), errorBanner(error));
      breakdownCard.dataset.state = 'error';
      return;
    }
    if (token !== view.token) return;
    breakdownCard.dataset.request = JSON.stringify(request);
    const canvas = h('canvas', { id: 'breakdown-chart', role: 'img', 'aria-label': `${title(metric)} by ${state.by}` });
    const table = valuesTable('breakdown-table', state.by, metric, result.rows, (row) => row[state.by]);
    fill(breakdownCard, header(request), select(note), h('div', { class: 'chart bars' }, canvas), h('details', {}, h('summary', {}, `The ${result.rows.length} values in the chart`), h('div', { class: 'scroll' }, table)));
    drawChart('breakdown', canvas, {
      type: 'bar',
      data: {
        labels: result.rows.map((row) => row[state.by] ?? '(none)'),
        datasets: [{ label: title(metric), data: result.rows.map((row) => chartNumber(row[metric.name])), backgroundColor: '#60a5fa', borderRadius: 3 }],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: 'y',
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: (ctx) => formatMetric(result.rows[ctx.dataIndex][metric.name], metric.format) } } },
        scales: { x: { beginAtZero: true } },
      },
    });
    breakdownCard.dataset.state = 'ready';
  }

  refresh();
}

// ---- start ----

function route() {
  const { view: page, name, params } = parseRoute();
  view.token++;
  destroyCharts();
  for (const link of document.querySelectorAll('.top nav a[data-view]')) link.classList.toggle('current', link.dataset.view === (page === 'dashboard' ? 'dashboards' : page === 'metric' ? 'list' : page));
  if (page === 'metric') renderMetric(name, params);
  else if (page === 'explore') renderExplore(catalog, params);
  else if (page === 'dashboards') renderDashboardList(catalog);
  else if (page === 'dashboard') renderDashboard(catalog, name, params);
  else renderList(params);
  window.scrollTo(0, 0);
}

async function start() {
  try {
    catalog = (await graphql(CATALOG_QUERY)).catalog;
  } catch (error) {
    fill(document.getElementById('app'), errorBanner(error));
    return;
  }
  document.getElementById('version').textContent = `definitions ${catalog.version}`;
  document.body.dataset.ready = 'true';
  window.addEventListener('hashchange', route);
  route();
}

start();

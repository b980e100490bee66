// Dashboards defined as code (`dashboards:` in metrics/*.yml). The API's `dashboards` field gives
// each tile's dates (range, current period, comparison period) and lists only tiles the caller may
// query; each number is then asked with the generic `query` field like any other request.
// Routes: #/dashboards and #/dashboard/NAME (?as_of=YYYY-MM-DD to look back).
import { formatChange, formatMetric, periodLabel, relativeChange } from './format.js';
import { chartNumber, percentTicks, drawChart, errorBanner, fill, graphql, h, rawValue, replaceParams, requestText, run, title, view } from './page.js';

const DASHBOARDS_QUERY = `query Dashboards($name: String, $asOf: String) {
  dashboards(name: $name, asOf: $asOf) {
    name title description owner asOf
    tiles { metric title grain rangeText comparison breakdown range { from to } current { from to } compared { from to } }
  }
}`;

const BREAKDOWN_LIMIT = 10;
const COMPARISON_TEXT = { previous_period: 'the period before', same_period_last_year: 'the same period last year' };

export async function renderDashboardList(catalog) {
  const app = document.getElementById('app');
  const token = view.token;
  fill(app, h('h1', {}, 'Dashboards'), h('p', { class: 'muted' }, 'Loading…'));
  let dashboards;
  try {
    dashboards = (await graphql(DASHBOARDS_QUERY, {})).dashboards;
  } catch (error) {
    if (token === view.token) fill(app, h('h1', {}, 'Dashboards'), errorBanner(error));
    return;
  }
  if (token !== view.token) return;
  const names = new Map(catalog.metrics.map((m) => [m.name, title(m)]));
  fill(app,
    h('h1', {}, 'Dashboards'),
    h('p', { class: 'muted' }, 'Key numbers defined as code under dashboards: in metrics/*.yml, reviewed like metrics.'),
    dashboards.length === 0 ? h('p', { class: 'muted', id: 'no-dashboards' }, 'No dashboards are defined, or none shows a metric you may see.') : null,
    h(
      'ul',
      { class: 'dashboard-list', id: 'dashboard-list' },
      dashboards.map((d) =>
        h(
          'li',
          { class: 'card', dataset: { dashboard: d.name } },
          h('a', { class: 'name', href: `#/dashboard/${encodeURIComponent(d.name)}` }, d.title),
          d.description ? h('p', {}, d.description) : null,
          h('p', { class: 'muted' }, d.tiles.map((t) => t.title || names.get(t.metric) || t.metric).join(' · '), d.owner ? ` — ${d.owner}` : ''),
        ),
      ),
    ),
  );
}

export async function renderDashboard(catalog, name, params) {
  const app = document.getElementById('app');
  const token = view.token;
  const asOf = params.get('as_of') || undefined;
  const crumbs = h('p', { class: 'crumbs' }, h('a', { href: '#/dashboards' }, '← All dashboards'));
  fill(app, crumbs, h('p', { class: 'muted' }, 'Loading…'));
  let dashboard;
  try {
    [dashboard] = (await graphql(DASHBOARDS_QUERY, { name, asOf })).dashboards;
  } catch (error) {
    if (token === view.token) fill(app, crumbs, errorBanner(error));
    return;
  }
  if (token !== view.token) return;
  if (!dashboard) {
    fill(app, crumbs, errorBanner({ code: 'UNKNOWN_DASHBOARD', message: `There is no dashboard '${name}' with a metric you may see.` }));
    return;
  }
  const byName = new Map(catalog.metrics.map((m) => [m.name, m]));
  const asOfInput = h('input', {
    id: 'as-of',
    type: 'date',
    value: dashboard.asOf,
    onchange: (e) => {
      replaceParams(`/dashboard/${encodeURIComponent(name)}`, { as_of: e.target.value });
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    },
  });
  const tiles = dashboard.tiles.map((tile, i) => h('section', { class: 'card tile', id: `tile-${i}`, dataset: { metric: tile.metric, state: 'loading' } }, h('p', { class: 'muted' }, 'Loading…')));
  fill(app,
    crumbs,
    h('h1', { id: 'dashboard-title' }, dashboard.title),
    h('div', { class: 'subtitle' }, dashboard.owner ? h('span', {}, `Owner: ${dashboard.owner}`) : null, h('label', { class: 'as-of' }, 'As of ', asOfInput)),
    dashboard.description ? h('p', { class: 'description' }, dashboard.description) : null,
    h('div', { class: 'tiles', id: 'tiles' }, tiles),
    h('footer', { class: 'audit' }, 'Defined as code under ', h('code', {}, 'dashboards:'), ' in metrics/*.yml; every number comes from the GraphQL API at ', h('a', { href: '/graphql' }, '/graphql'), '.'),
  );
  await Promise.all(dashboard.tiles.map((tile, i) => renderTile(tiles[i], tile, byName.get(tile.metric), i, token)));
}

async function renderTile(card, tile, metric, index, token) {
  const grain = tile.grain.toLowerCase();
  const timeKey = `metric_time.${grain}`;
  const heading = tile.title || (metric ? title(metric) : tile.metric);
  const trendRequest = { metrics: [tile.metric], groupBy: [timeKey], orderBy: [timeKey], from: tile.range.from, to: tile.range.to, fillGaps: true };
  const comparedRequest = { metrics: [tile.metric], groupBy: [timeKey], orderBy: [timeKey], from: tile.compared.from, to: tile.compared.to };
  const breakdownRequest = tile.breakdown
    ? { metrics: [tile.metric], groupBy: [timeKey, tile.breakdown], orderBy: [`-${tile.metric}`, tile.breakdown], from: tile.current.from, to: tile.current.to, limit: BREAKDOWN_LIMIT }
    : undefined;
  let trend, compared, breakdown;
  try {
    [trend, compared, breakdown] = await Promise.all([run(trendRequest), run(comparedRequest), breakdownRequest ? run(breakdownRequest) : undefined]);
  } catch (error) {
    if (token !== view.token) return;
    fill(card, h('h2', {}, heading), errorBanner(error));
    card.dataset.state = 'error';
    return;
  }
  if (token !== view.token) return;
  const valueAt = (rows, period) => rows.find((row) => row[timeKey] === period)?.[tile.metric] ?? null;
  const current = valueAt(trend.rows, tile.current.from);
  const before = valueAt(compared.rows, tile.compared.from);
  const change = relativeChange(current, before);
  Object.assign(card.dataset, {
    current: rawValue(current),
    compared: rawValue(before),
    change: change === null ? '' : String(change),
    currentPeriod: tile.current.from,
    comparedPeriod: tile.compared.from,
    requests: JSON.stringify({ trend: trendRequest, compared: comparedRequest, breakdown: breakdownRequest }),
  });
  const canvas = h('canvas', { id: `tile-${index}-chart`, role: 'img', 'aria-label': `${heading}, ${tile.rangeText} by ${grain}` });
  fill(card,
    h('header', {}, h('h2', {}, metric ? h('a', { href: `#/metric/${encodeURIComponent(tile.metric)}` }, heading) : heading), h('span', { class: 'request' }, `${tile.rangeText} by ${grain}`)),
    h('p', { class: 'big-number tile-value' }, formatMetric(current, metric?.format)),
    h(
      'p',
      { class: 'tile-change' },
      h('span', { class: `change ${change === null ? '' : change > 0 ? 'up' : change < 0 ? 'down' : ''}` }, formatChange(change)),
      ` ${periodLabel(tile.current.from, grain)} vs ${periodLabel(tile.compared.from, grain)} (${formatMetric(before, metric?.format)}), ${COMPARISON_TEXT[tile.comparison] ?? tile.comparison}`,
    ),
    h('div', { class: 'chart tile-chart' }, canvas),
    breakdown ? breakdownTable(tile, breakdown, grain, metric?.format) : null,
    h(
      'details',
      {},
      h('summary', {}, `The ${trend.rows.length} values in the chart`),
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { class: 'tile-trend' },
          h('tbody', {}, trend.rows.map((row) => h('tr', { dataset: { key: rawValue(row[timeKey]), value: rawValue(row[tile.metric]) } }, h('td', {}, periodLabel(row[timeKey], grain)), h('td', { class: 'num' }, formatMetric(row[tile.metric], metric?.format))))),
        ),
      ),
      h('p', { class: 'request' }, requestText(trendRequest)),
    ),
    h('p', { class: 'tile-links' }, h('a', { href: exploreLink(tile, grain) }, 'Open in Explore →')),
  );
  drawChart(`tile-${index}`, canvas, {
    type: 'line',
    data: {
      labels: trend.rows.map((row) => periodLabel(row[timeKey], grain)),
      datasets: [{ label: heading, data: trend.rows.map((row) => chartNumber(row[tile.metric])), borderColor: '#2563eb', backgroundColor: 'rgba(37, 99, 235, 0.10)', fill: true, tension: 0, pointRadius: trend.rows.length > 40 ? 0 : 2 }],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (ctx) => formatMetric(trend.rows[ctx.dataIndex][tile.metric], metric?.format) } } },
      scales: { y: { beginAtZero: true, ...percentTicks(metric?.format) }, x: { ticks: { maxRotation: 0, autoSkipPadding: 12 } } },
    },
  });
  card.dataset.state = 'ready';
}

/** The tile's question on the Explore page, to take it further (other metrics, filters, groups). */
function exploreLink(tile, grain) {
  const params = new URLSearchParams({ metrics: tile.metric, grain, from: tile.range.from, to: tile.range.to, chart: 'line' });
  if (tile.breakdown) params.set('by', tile.breakdown);
  return `#/explore?${params}`;
}

function breakdownTable(tile, answer, grain, format) {
  const values = answer.rows.map((row) => chartNumber(row[tile.metric]) ?? 0);
  const max = Math.max(...values.map(Math.abs), 0);
  return h(
    'div',
    { class: 'tile-breakdown' },
    h('p', { class: 'muted' }, `By ${tile.breakdown}, ${periodLabel(tile.current.from, grain)}`),
    h(
      'table',
      { class: 'breakdown' },
      h(
        'tbody',
        {},
        answer.rows.map((row, i) =>
          h(
            'tr',
            { dataset: { key: rawValue(row[tile.breakdown]), value: rawValue(row[tile.metric]) } },
            h('td', {}, row[tile.breakdown] ?? '(none)'),
            h('td', { class: 'bar-cell' }, h('span', { class: 'bar', style: `width: ${max ? Math.round((100 * Math.abs(values[i])) / max) : 0}%` })),
            h('td', { class: 'num' }, formatMetric(row[tile.metric], format)),
          ),
        ),
      ),
    ),
  );
}

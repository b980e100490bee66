// Explore: ask a new question without writing GraphQL. Pick metrics, group-bys, a filter, a time
// range and grain; see a line or bar chart or a table; download the answer as CSV; share the view,
// whose whole state is in the address (#/explore?metrics=…&by=…&grain=…&from=…&to=…&where=…&chart=…).
// Every number comes from the API's generic `query` field, with the caller's access rules.
import { formatMetric, periodLabel, toCsv } from './format.js';
import { chartNumber, drawChart, errorBanner, fill, h, rawValue, replaceParams, requestText, run, title, view } from './page.js';

const GRAINS = ['hour', 'day', 'week', 'month', 'quarter', 'year'];
const CHART_TYPES = ['line', 'bar', 'table'];
/** Rows asked for at most; the answer says when there were more. */
const ROW_LIMIT = 5000;
/** Series drawn at most; the table and the CSV always hold everything. */
const SERIES_LIMIT = 24;
const DASHES = [[], [6, 4], [2, 3]];
const PALETTE = ['#2563eb', '#f97316', '#16a34a', '#9333ea', '#dc2626', '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d'];

const list = (text) => (text ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const intersect = (lists) => (lists.length ? lists.reduce((a, b) => a.filter((x) => b.includes(x))) : []);

/** A filter-language string literal: single quotes, a quote inside written twice. */
const literal = (text) => `'${text.replace(/'/g, "''")}'`;

/** The condition the filter helper adds, in Tally's filter language. */
export function condition(dimension, operator, value) {
  const values = operator === 'in' || operator === 'not in' ? list(value) : [value];
  if (operator === 'in') return `${dimension} IN (${values.map(literal).join(', ')})`;
  if (operator === 'not in') return `${dimension} NOT IN (${values.map(literal).join(', ')})`;
  return `${dimension} ${operator} ${literal(value)}`;
}

export function renderExplore(catalog, params) {
  const app = document.getElementById('app');
  const byName = new Map(catalog.metrics.map((m) => [m.name, m]));
  const categorical = new Set(catalog.dimensions.filter((d) => d.type === 'categorical').map((d) => d.name));
  const state = {
    metrics: list(params.get('metrics')).filter((m) => byName.has(m)),
    by: list(params.get('by')),
    grain: params.get('grain') === 'none' ? '' : (params.get('grain') ?? 'month'),
    from: params.get('from') ?? '',
    to: params.get('to') ?? '',
    where: params.get('where') ?? '',
    chart: CHART_TYPES.includes(params.get('chart')) ? params.get('chart') : 'line',
  };
  if (!params.has('metrics') && byName.has('revenue')) state.metrics = ['revenue'];

  const chosen = () => state.metrics.map((m) => byName.get(m));
  const dimensionChoices = () => intersect(chosen().map((m) => m.dimensions)).filter((d) => categorical.has(d));
  const grainChoices = () => intersect(chosen().map((m) => m.grains.map((g) => g.toLowerCase()))).filter((g) => GRAINS.includes(g));
  const needsTime = () => chosen().some((m) => m.requiresTime);

  const controls = h('section', { class: 'card explore-controls', id: 'explore-controls' });
  const result = h('section', { class: 'card', id: 'explore-result' });
  const sqlCard = h('section', { class: 'card', id: 'explore-sql' });

  function normalise() {
    const dims = dimensionChoices();
    state.by = state.by.filter((d) => dims.includes(d));
    const grains = grainChoices();
    if (state.grain && !grains.includes(state.grain)) state.grain = grains.includes('month') ? 'month' : (grains[0] ?? '');
    if (!state.grain && needsTime()) state.grain = grains.includes('month') ? 'month' : (grains[0] ?? '');
  }

  const changed = () => {
    normalise();
    drawControls();
    refresh();
  };

  function checkboxList(id, choices, selected, onToggle, labelOf = (c) => c) {
    return h(
      'div',
      { class: 'choices', id },
      choices.length === 0 ? h('p', { class: 'muted' }, 'Nothing to choose for these metrics.') : null,
      choices.map((choice) =>
        h('label', { class: 'choice' }, h('input', { type: 'checkbox', value: choice, checked: selected.includes(choice), onchange: (e) => onToggle(choice, e.target.checked) }), ' ', labelOf(choice)),
      ),
    );
  }

  function drawControls() {
    const grains = grainChoices();
    const dims = dimensionChoices();
    const filterDim = h('select', { id: 'filter-dimension', 'aria-label': 'Filter dimension' }, dims.map((d) => h('option', { value: d }, d)));
    const filterOp = h('select', { id: 'filter-operator', 'aria-label': 'Filter operator' }, ['=', '<>', 'in', 'not in'].map((op) => h('option', { value: op }, op === '<>' ? '≠' : op)));
    const filterValue = h('input', { id: 'filter-value', type: 'text', placeholder: 'KR or KR, US', 'aria-label': 'Filter value' });
    const where = h('input', { id: 'where', type: 'text', class: 'where', value: state.where, placeholder: "user.country IN ('KR', 'US')", 'aria-label': 'Filter', onchange: (e) => ((state.where = e.target.value.trim()), changed()) });
    const addCondition = () => {
      if (!filterDim.value || !filterValue.value.trim()) return;
      const added = condition(filterDim.value, filterOp.value, filterValue.value.trim());
      state.where = state.where ? `${state.where} AND ${added}` : added;
      changed();
    };
    fill(controls,
      h(
        'div',
        { class: 'explore-grid' },
        h(
          'fieldset',
          {},
          h('legend', {}, 'Metrics'),
          checkboxList('explore-metrics', catalog.metrics.map((m) => m.name), state.metrics, (name, on) => {
            state.metrics = on ? [...state.metrics, name] : state.metrics.filter((m) => m !== name);
            changed();
          }, (name) => [title(byName.get(name)), byName.get(name).label ? h('code', {}, ` ${name}`) : null]),
        ),
        h(
          'fieldset',
          {},
          h('legend', {}, 'Group by'),
          checkboxList('explore-by', dims, state.by, (dim, on) => {
            state.by = on ? [...state.by, dim] : state.by.filter((d) => d !== dim);
            changed();
          }),
        ),
        h(
          'fieldset',
          { class: 'explore-time' },
          h('legend', {}, 'Time'),
          h(
            'label',
            {},
            'Grain',
            h(
              'select',
              { id: 'explore-grain', onchange: (e) => ((state.grain = e.target.value), changed()) },
              needsTime() ? null : h('option', { value: '', selected: !state.grain }, 'none (one number per group)'),
              grains.map((g) => h('option', { value: g, selected: g === state.grain }, g)),
            ),
          ),
          h('label', {}, 'From', h('input', { id: 'explore-from', type: 'date', value: state.from, onchange: (e) => ((state.from = e.target.value), changed()) })),
          h('label', {}, 'To', h('input', { id: 'explore-to', type: 'date', value: state.to, onchange: (e) => ((state.to = e.target.value), changed()) })),
          h(
            'label',
            {},
            'Chart',
            h('select', { id: 'explore-chart-type', onchange: (e) => ((state.chart = e.target.value), changed()) }, CHART_TYPES.map((c) => h('option', { value: c, selected: c === state.chart }, c))),
          ),
        ),
      ),
      h(
        'fieldset',
        { class: 'explore-filter' },
        h('legend', {}, 'Filter'),
        where,
        h('div', { class: 'filter-helper' }, 'Add a condition: ', filterDim, filterOp, filterValue, h('button', { type: 'button', id: 'filter-add', onclick: addCondition }, 'Add'), state.where ? h('button', { type: 'button', id: 'filter-clear', onclick: () => ((state.where = ''), changed()) }, 'Clear') : null),
        h('p', { class: 'muted hint' }, "Tally's filter language: comparisons, IN, BETWEEN, LIKE, IS NULL, AND / OR / NOT over the dimensions listed under Group by; text values in single quotes."),
      ),
    );
  }

  function request() {
    const timeKey = state.grain ? `metric_time.${state.grain}` : undefined;
    const groupBy = [...(timeKey ? [timeKey] : []), ...state.by];
    return {
      metrics: state.metrics,
      groupBy,
      where: state.where || undefined,
      from: state.from || undefined,
      to: state.to || undefined,
      // Periods in order; without a time axis, the biggest first.
      orderBy: timeKey ? groupBy : [`-${state.metrics[0]}`, ...state.by],
      limit: ROW_LIMIT,
      fillGaps: timeKey !== undefined && state.by.length === 0 ? true : undefined,
    };
  }

  async function refresh() {
    const token = ++view.token;
    replaceParams('/explore', { metrics: state.metrics.join(','), by: state.by.join(','), grain: state.grain || 'none', from: state.from, to: state.to, where: state.where, chart: state.chart });
    if (state.metrics.length === 0) {
      fill(result, h('p', { class: 'muted' }, 'Choose one or more metrics.'));
      fill(sqlCard);
      result.dataset.state = 'empty';
      return;
    }
    const req = request();
    result.dataset.state = 'loading';
    let answer;
    try {
      answer = await run(req);
    } catch (error) {
      if (token !== view.token) return;
      fill(result, h('h2', {}, 'Answer'), errorBanner(error));
      fill(sqlCard);
      result.dataset.state = 'error';
      return;
    }
    if (token !== view.token) return;
    show(req, answer);
  }

  function show(req, answer) {
    const timeKey = req.groupBy.find((g) => g.startsWith('metric_time.'));
    const columns = answer.columns.map((c) => c.name);
    const keys = columns.filter((c) => c !== timeKey && !state.metrics.includes(c));
    const url = location.href;
    const download = h('button', { type: 'button', id: 'download-csv', onclick: () => downloadCsv(columns, answer.rows) }, 'Download CSV');
    const share = h('input', { id: 'share-url', type: 'text', readonly: true, value: url, 'aria-label': 'Link to this view', onfocus: (e) => e.target.select() });
    const copy = h('button', { type: 'button', onclick: () => navigator.clipboard?.writeText(url).catch(() => share.select()) }, 'Copy link');
    const table = h(
      'table',
      { id: 'explore-table' },
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: state.metrics.includes(c) ? 'num' : undefined }, c)))),
      h(
        'tbody',
        {},
        answer.rows.map((row) =>
          h(
            'tr',
            {},
            columns.map((c) =>
              h(
                'td',
                { class: state.metrics.includes(c) ? 'num' : undefined, dataset: { column: c, value: rawValue(row[c]) } },
                c === timeKey ? periodLabel(row[c], state.grain) : state.metrics.includes(c) ? formatMetric(row[c], byName.get(c)?.format) : (row[c] ?? '(none)'),
              ),
            ),
          ),
        ),
      ),
    );
    const chartType = state.chart === 'line' && !timeKey ? 'bar' : state.chart;
    const canvas = chartType === 'table' ? null : h('canvas', { id: 'explore-chart', role: 'img', 'aria-label': requestText(req) });
    const truncated = answer.rows.length >= ROW_LIMIT ? h('div', { class: 'banner', role: 'note' }, `Showing the first ${ROW_LIMIT} rows; narrow the range or the group-bys for the rest.`) : null;
    const series = canvas ? chartSeries(answer.rows, timeKey, keys) : null;
    fill(result,
      h('header', {}, h('h2', {}, 'Answer'), h('span', { class: 'request' }, requestText(req))),
      answer.warnings.map((w) => h('div', { class: 'banner', role: 'note' }, w)),
      truncated,
      h('div', { class: 'actions' }, download, copy, share),
      canvas ? h('div', { class: 'chart explore-chart' }, canvas) : null,
      series && series.datasets.length > SERIES_LIMIT ? h('p', { class: 'muted' }, `The chart shows the first ${SERIES_LIMIT} of ${series.datasets.length} series; the table has them all.`) : null,
      canvas ? h('details', { open: answer.rows.length <= 40 }, h('summary', {}, `The ${answer.rows.length} rows`), h('div', { class: 'scroll' }, table)) : h('div', { class: 'scroll tall' }, table),
    );
    result.dataset.request = JSON.stringify(req);
    result.dataset.rows = String(answer.rows.length);
    if (canvas) {
      drawChart('explore', canvas, {
        type: chartType,
        data: { labels: series.labels, datasets: series.datasets.slice(0, SERIES_LIMIT) },
        options: {
          animation: false,
          maintainAspectRatio: false,
          interaction: { mode: 'index', intersect: false },
          plugins: { legend: { display: series.datasets.length > 1 }, tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${formatMetric(series.raw[ctx.datasetIndex][ctx.dataIndex], series.formats[ctx.datasetIndex])}` } } },
          scales: {
            y: { beginAtZero: true, title: { display: state.metrics.length > 1, text: state.metrics.filter((_, i) => i !== 1).map((m) => title(byName.get(m))).join(', ') } },
            ...(state.metrics.length >= 2 ? { y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: title(byName.get(state.metrics[1])) } } } : {}),
            x: { ticks: { maxRotation: 0, autoSkipPadding: 12 } },
          },
        },
      });
    }
    fill(sqlCard, h('details', {}, h('summary', {}, 'The SQL behind this answer'), h('pre', { class: 'sql', id: 'explore-sql-text' }, answer.sql)));
    result.dataset.state = 'ready';
  }

  /** One series per metric and group: over periods with a time axis, over groups without one. */
  function chartSeries(rows, timeKey, keys) {
    const groupOf = (row) => keys.map((k) => row[k] ?? '(none)').join(' · ');
    const labels = [];
    const seen = new Set();
    const axisOf = (row) => (timeKey ? row[timeKey] : groupOf(row));
    for (const row of rows) {
      const x = axisOf(row);
      if (!seen.has(x)) (seen.add(x), labels.push(x));
    }
    const index = new Map(labels.map((x, i) => [x, i]));
    const datasets = [];
    const raw = [];
    const formats = [];
    const byKey = new Map();
    const groups = new Map();
    state.metrics.forEach((metric, m) => {
      for (const row of rows) {
        const group = timeKey ? groupOf(row) : '';
        const key = `${metric}\u0000${group}`;
        if (!byKey.has(key)) {
          // One colour per group; each metric its own dash (lines) or shade (bars), the second metric its own axis.
          if (!groups.has(group)) groups.set(group, PALETTE[groups.size % PALETTE.length]);
          const color = timeKey ? groups.get(group) : PALETTE[m % PALETTE.length];
          const label = [title(byName.get(metric)), group].filter(Boolean).join(' · ');
          const dataset = { label, data: labels.map(() => null), borderColor: color, backgroundColor: `${color}${['', '88', '44'][m % 3]}`, borderWidth: 2, borderDash: DASHES[m % DASHES.length], yAxisID: m === 1 ? 'y1' : 'y', tension: 0, pointRadius: labels.length > 60 ? 0 : 3 };
          byKey.set(key, { dataset, values: labels.map(() => null) });
          datasets.push(dataset);
          raw.push(byKey.get(key).values);
          formats.push(byName.get(metric).format);
        }
        const entry = byKey.get(key);
        const i = index.get(axisOf(row));
        entry.dataset.data[i] = chartNumber(row[metric]);
        entry.values[i] = row[metric];
      }
    });
    return { labels: labels.map((x) => (timeKey ? periodLabel(x, state.grain) : x)), datasets, raw, formats };
  }

  normalise();
  fill(app,
    h('h1', {}, 'Explore'),
    h('p', { class: 'muted' }, 'Ask a new question of the same definitions: every answer comes from the GraphQL API, and this page’s address is the question, so a link shares it.'),
    controls,
    result,
    sqlCard,
  );
  drawControls();
  refresh();
}

function downloadCsv(columns, rows) {
  const blob = new Blob([toCsv(columns, rows)], { type: 'text/csv;charset=utf-8' });
  const link = h('a', { href: URL.createObjectURL(blob), download: 'tally-explore.csv' });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

// The experiment pages: a list of experiments and, per experiment, its readout from the GraphQL
// API (`experiment(name:)`): the decision, the variants with the SRM check, a lift plot with the
// interval of every metric, and the cumulative effect of the primary metrics over time. Every
// number comes from /graphql; this page computes nothing of its own.
const app = document.getElementById('app');
const CREDENTIAL = 'tally.credential';

function headers() {
  const credential = sessionStorage.getItem(CREDENTIAL);
  if (!credential) return {};
  return /^[\w-]+\.[\w-]+\.[\w-]+$/.test(credential) ? { authorization: `Bearer ${credential}` } : { 'x-api-key': credential };
}

async function graphql(query, variables) {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers() },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors?.length) {
    if (body.errors[0].extensions?.code === 'UNAUTHENTICATED') {
      const answer = window.prompt('This Tally server needs credentials. Paste an API key or a bearer token (kept for this tab only):');
      if (answer?.trim()) {
        sessionStorage.setItem(CREDENTIAL, answer.trim());
        return graphql(query, variables);
      }
    }
    throw new Error(body.errors[0].message);
  }
  return body.data;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

const pct = (x) => (x === null || x === undefined ? '–' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}%`);
const num = (x) => (x === null || x === undefined ? '–' : Math.abs(x) >= 100 ? x.toFixed(2) : Number(x).toPrecision(4));
const pval = (x) => (x === null || x === undefined ? '–' : x < 1e-4 ? x.toExponential(1) : x.toFixed(4));
const VERDICT = { ship: 'Ship', dont_ship: "Don't ship", keep_running: 'Keep running', invalid: 'Invalid' };

function table(head, rows, testid) {
  return el('table', { class: 'values', 'data-testid': testid }, el('thead', {}, el('tr', {}, head.map((h) => el('th', {}, h)))), el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, c))))));
}

async function list() {
  const data = await graphql('{ experiments { name description owner start end variants primaryMetrics } }');
  app.replaceChildren(
    el('h1', {}, 'Experiments'),
    el('ul', { class: 'experiments', 'data-testid': 'experiment-list' }, data.experiments.map((e) =>
      el('li', {}, el('a', { href: `#/${encodeURIComponent(e.name)}` }, e.name), ` — ${e.description ?? ''} (${e.start} → ${e.end}; primary: ${e.primaryMetrics.join(', ')})`),
    )),
  );
}

const READOUT = `query ($name: String!) {
  experiment(name: $name, timelinePoints: 12) {
    experiment { name description owner hypothesis control start end criteria { direction minimumEffect alpha correction sequential } }
    variants { variant units plannedShare observedShare }
    srm { chiSquare pValue mismatch }
    decision { verdict reason variant }
    metrics { metric role kind variant control { units value } treatment { units value } relative { estimate ciLow ciHigh pValue } absolute { estimate ciLow ciHigh } adjustedPValue cupedTheta }
    preAgreement { commit date subject metrics }
    timeline { date metric variant units estimate ciLow ciHigh }
    sql version commit
  }
}`;

async function readout(name) {
  app.replaceChildren(el('p', { class: 'muted' }, `Reading ${name}…`));
  const { experiment: r } = await graphql(READOUT, { name });
  if (!r) throw new Error(`no experiment '${name}'`);
  document.getElementById('version').textContent = r.version;
  const e = r.experiment;
  const c = e.criteria;
  const liftCanvas = el('canvas', { 'data-testid': 'lift-plot', 'aria-label': 'Relative lift with intervals per metric' });
  const timeCanvas = el('canvas', { 'data-testid': 'timeline-plot', 'aria-label': 'Cumulative effect over time' });
  app.replaceChildren(
    el('p', {}, el('a', { href: '#/' }, '← All experiments')),
    el('h1', {}, e.name),
    e.description ? el('p', {}, e.description) : null,
    e.hypothesis ? el('p', {}, el('strong', {}, 'Hypothesis: '), e.hypothesis) : null,
    el('p', { class: `decision decision-${r.decision.verdict}`, 'data-testid': 'decision' }, el('strong', {}, VERDICT[r.decision.verdict]), ': ', r.decision.reason),
    el('p', { class: 'muted' }, `Criteria: ${c.direction} by at least ${pct(c.minimumEffect)}, alpha ${c.alpha}, ${c.correction} correction, ${c.sequential ? 'sequential intervals' : "Welch's t-test"}; ${e.start} → ${e.end}; owner ${e.owner ?? '–'}`),
    el('h2', {}, 'Variants'),
    table(['variant', 'units', 'planned', 'observed'], r.variants.map((v) => [v.variant, v.units, `${(v.plannedShare * 100).toFixed(1)}%`, `${(v.observedShare * 100).toFixed(2)}%`]), 'variants'),
    el('p', { 'data-testid': 'srm' }, `Sample-ratio check: chi-square ${r.srm.chiSquare.toFixed(3)}, p = ${pval(r.srm.pValue)} — `, el('strong', {}, r.srm.mismatch ? 'MISMATCH (p < 0.001)' : 'ok')),
    el('h2', {}, 'Lift per metric'),
    el('div', { class: 'chart' }, liftCanvas),
    table(['metric', 'role', 'variant', 'control', 'treatment', 'lift', 'interval', 'abs. diff', 'adj. p'], r.metrics.map((m) => [
      m.metric + (m.cupedTheta !== null ? ' (CUPED)' : ''), m.role, m.variant, num(m.control.value), num(m.treatment.value),
      pct(m.relative?.estimate), m.relative ? `[${pct(m.relative.ciLow)}, ${pct(m.relative.ciHigh)}]` : '–', num(m.absolute?.estimate), pval(m.adjustedPValue),
    ]), 'metrics'),
    el('h2', {}, 'Cumulative effect over time'),
    el('div', { class: 'chart' }, timeCanvas),
    r.preAgreement.length ? el('div', {}, el('h2', {}, 'Changed after the start'), el('ul', { 'data-testid': 'pre-agreement' }, r.preAgreement.map((ch) => el('li', {}, `${ch.commit} (${ch.date.slice(0, 10)}) “${ch.subject}” changed ${ch.metrics.join(', ')}`)))) : null,
    el('details', {}, el('summary', {}, 'SQL (per-variant sufficient statistics)'), el('pre', { 'data-testid': 'sql' }, r.sql)),
  );
  if (typeof Chart === 'undefined') return;
  const labels = r.metrics.map((m) => `${m.metric} (${m.role}${r.variants.length > 2 ? `, ${m.variant}` : ''})`);
  new Chart(liftCanvas, {
    type: 'bar',
    data: {
      labels,
      datasets: [
        { label: `${100 - c.alpha * 100}% interval of the relative lift (%)`, data: r.metrics.map((m) => (m.relative ? [m.relative.ciLow * 100, m.relative.ciHigh * 100] : null)), backgroundColor: r.metrics.map((m) => (m.role === 'primary' ? 'rgba(37, 99, 235, 0.45)' : 'rgba(217, 119, 6, 0.45)')), barThickness: 14 },
        { type: 'line', label: 'estimate (%)', data: r.metrics.map((m) => (m.relative ? m.relative.estimate * 100 : null)), showLine: false, pointRadius: 5, pointStyle: 'rectRot', borderColor: '#111', backgroundColor: '#111' },
      ],
    },
    options: { indexAxis: 'y', animation: false, responsive: true, maintainAspectRatio: false, scales: { x: { title: { display: true, text: 'relative lift, %' } } } },
  });
  const series = [...new Set(r.timeline.map((p) => `${p.metric} · ${p.variant}`))];
  const dates = [...new Set(r.timeline.map((p) => p.date))];
  const at = (s, key) => dates.map((d) => { const p = r.timeline.find((q) => q.date === d && `${q.metric} · ${q.variant}` === s); return p ? p[key] * 100 : null; });
  new Chart(timeCanvas, {
    type: 'line',
    data: {
      labels: dates,
      datasets: series.flatMap((s) => [
        { label: `${s}: lift %`, data: at(s, 'estimate'), borderColor: '#2563eb', backgroundColor: '#2563eb' },
        { label: `${s}: interval low`, data: at(s, 'ciLow'), borderColor: '#93c5fd', borderDash: [4, 4], pointRadius: 0 },
        { label: `${s}: interval high`, data: at(s, 'ciHigh'), borderColor: '#93c5fd', borderDash: [4, 4], pointRadius: 0 },
      ]),
    },
    options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { y: { title: { display: true, text: 'relative lift, %' } } } },
  });
  app.dataset.ready = 'true';
}

async function route() {
  const name = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
  try {
    if (name) await readout(name);
    else await list();
  } catch (error) {
    app.replaceChildren(el('p', { class: 'error', role: 'alert' }, error.message));
  }
}

window.addEventListener('hashchange', route);
route();

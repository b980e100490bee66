/**
 * dbt saved queries → Tally saved queries: metrics, group-bys and order written as Tally
 * references (`Dimension('user__country')` → `user.country`), the where filter translated, the
 * limit kept. Exports are dropped with a warning (Tally runs the query instead of writing tables).
 */
import { FilterTranslationError, translateGroupByName, translateObjectCall } from './filter.js';
import { filterText } from './metrics.js';
import type { TallyFile } from './translate.js';
import { type At, checkKeys, isObj, type Obj } from './walk.js';

/** One saved query into `out`. */
export function savedQuery(value: unknown, at: At, out: TallyFile): void {
  if (!isObj(value)) return at.report('a saved query is a mapping');
  checkKeys(value, at, ['name', 'description', 'label', 'query_params', 'exports'], { exports: 'Tally does not write tables; run the saved query instead' });
  const qp = isObj(value.query_params) ? value.query_params : {};
  const qat = at.sub('query_params');
  checkKeys(qp, qat, ['metrics', 'group_by', 'where', 'order_by', 'limit']);
  const q: Obj = { name: value.name };
  if (typeof value.description === 'string') q.description = value.description.trim();
  q.metrics = Array.isArray(qp.metrics) ? qp.metrics : [];
  const refs = (list: unknown, key: string): string[] => {
    if (!Array.isArray(list)) return [];
    const result: string[] = [];
    list.forEach((item, i) => {
      if (typeof item !== 'string') return qat.sub(key, i).report('expected text such as "Dimension(\'user__country\')"');
      try {
        const text = item.trim();
        const call = /^[A-Za-z]+\s*\(/.test(text) ? translateObjectCall(text) : undefined;
        const descending = /\.descending\(\s*True\s*\)\s*$/.test(text);
        const ref = call ? call.text : translateGroupByName(text.replace(/^-/, ''));
        result.push(`${descending || text.startsWith('-') ? '-' : ''}${ref}`);
      } catch (e) {
        if (!(e instanceof FilterTranslationError)) throw e;
        qat.sub(key, i).report(e.message);
      }
    });
    return result;
  };
  q.group_by = refs(qp.group_by, 'group_by');
  if (qp.where !== undefined && qp.where !== null) {
    const w = filterText(qp.where, qat.sub('where'));
    if (w) q.where = w;
  }
  const order = refs(qp.order_by, 'order_by').map((o) => o.replace(/^(-?)(?:metric\.)?/, '$1'));
  if (order.length) q.order_by = order;
  if (typeof qp.limit === 'number') q.limit = qp.limit;
  out.saved_queries.push(q);
}

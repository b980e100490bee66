/**
 * Messages name what the user asked and suggest what they most likely meant (issue 11, item 14):
 * an offset metric asked without a time group-by is named itself, not its input; an unknown name
 * in a filter suggests metric-per-entity references (`listing.bookings`) and dimensions by
 * closeness rather than an entity that happens to share a prefix.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileRequest, loadProject, projectFromSources, type RequestInput, TallyError } from '../src/index.js';

const DEFINITIONS = `
semantic_models:
  - name: listings
    description: Listings.
    table: listings
    entities:
      - { name: listing, type: primary, expr: listing_id }
    dimensions:
      - { name: country, type: categorical }
  - name: bookings_source
    description: One row per booking.
    table: bookings
    defaults: { agg_time_dimension: booked_at }
    entities:
      - { name: booking, type: primary, expr: booking_id }
      - { name: listing, type: foreign, expr: listing_id }
      - { name: guest, type: foreign, expr: guest_id }
    dimensions:
      - { name: booked_at, type: time, granularity: day }
    measures:
      - { name: booking_count, agg: count, expr: booking_id }
      - { name: units_sold, agg: sum, expr: units }
metrics:
  - { name: bookings, type: simple, measure: booking_count }
  - { name: units_total, type: cumulative, measure: units_sold, period_agg: last }
  - name: units_opening
    type: derived
    description: The all-time total as of one month earlier.
    expr: units_total_last_month
    metrics:
      - { name: units_total, alias: units_total_last_month, offset_window: 1 month }
  - name: bookings_growth
    type: derived
    expr: bookings - bookings_last_week
    metrics:
      - { name: bookings }
      - { name: bookings, alias: bookings_last_week, offset_window: 1 week }
`;

const project = projectFromSources([{ display: 'metrics/bookings.yml', text: DEFINITIONS }]);

function refusal(request: RequestInput, graph = project.graph): TallyError {
  try {
    compileRequest(graph, request);
  } catch (e) {
    expect(e).toBeInstanceOf(TallyError);
    return e as TallyError;
  }
  throw new Error(`expected ${JSON.stringify(request)} to be refused`);
}

describe('an offset metric without a time group-by', () => {
  it('names the metric asked (a cumulative metric offset by a month), not its input', () => {
    const e = refusal({ metrics: ['units_opening'] });
    expect(e.code).toBe('INVALID_REQUEST');
    expect(e.message).toBe("metric 'units_opening' compares periods (an offset), so group it by metric_time, for example metric_time.month");
  });

  it('names the metric asked when grouped by something other than time, and for a simple offset', () => {
    expect(refusal({ metrics: ['units_opening'], groupBy: ['listing.country'] }).message).toMatch(/^metric 'units_opening' compares periods/);
    expect(refusal({ metrics: ['bookings', 'bookings_growth'], groupBy: ['listing'] }).message).toMatch(/^metric 'bookings_growth' compares periods/);
  });

  it('still compiles with metric_time or the metric\'s own time dimension', () => {
    expect(() => compileRequest(project.graph, { metrics: ['units_opening'], groupBy: ['metric_time.month'] })).not.toThrow();
    expect(() => compileRequest(project.graph, { metrics: ['units_opening'], groupBy: ['booking.booked_at.month'] })).not.toThrow();
  });
});

describe('suggestions for an unknown name in a filter', () => {
  it('a bare metric name: every metric-per-entity reference of it, never the entity that shares its prefix', () => {
    const e = refusal({ metrics: ['bookings'], where: 'bookings > 1' });
    expect(e.code).toBe('UNKNOWN_DIMENSION');
    expect(e.message).toContain("'bookings' is a metric, not a dimension");
    expect(e.message).toContain("Did you mean 'guest.bookings' or 'listing.bookings'?");
    expect(e.message).not.toMatch(/'booking'/);
  });

  it('a misspelt metric per entity: the closest metric per entity first', () => {
    const e = refusal({ metrics: ['bookings'], where: 'listing.bookngs > 1' });
    expect(e.message).toMatch(/Did you mean 'listing\.bookings'/);
  });

  it('a misspelt bare name: the closest references by their last name', () => {
    expect(refusal({ metrics: ['bookings'], where: 'bokings > 1' }).message).toMatch(/Did you mean 'guest\.bookings' or 'listing\.bookings' or 'booking'\?$/);
    expect(refusal({ metrics: ['bookings'], where: "countr = 'KR'" }).message).toMatch(/Did you mean 'listing\.country'\?$/);
  });

  it('the example project: orders, a misspelt dimension, a misspelt entity', () => {
    const { graph } = loadProject(fileURLToPath(new URL('..', import.meta.url)));
    expect(refusal({ metrics: ['revenue'], where: 'orders > 1' }, graph).message).toContain("Did you mean 'user.orders'?");
    expect(refusal({ metrics: ['revenue'], where: "user.contry = 'KR'" }, graph).message).toMatch(/Did you mean 'user\.country'\?$/);
    expect(refusal({ metrics: ['revenue'], where: "countr = 'KR'" }, graph).message).toMatch(/Did you mean 'user\.country'\?$/);
    expect(refusal({ metrics: ['revenue'], groupBy: ['usr.country'] }, graph).message).toMatch(/Did you mean 'user\.country'/);
  });
});

/**
 * The shape of a request, shared by the library, the CLI and the API: metrics, group-bys as
 * dotted references, a filter, a time range, an order, a limit and a time zone.
 */
import { z } from 'zod';
import { TallyError } from '../errors.js';
import { isTimeZone } from '../definitions/time-zone.js';

const DATE_OR_TIMESTAMP = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?$/;

export const requestSchema = z.strictObject({
  /** The metrics; none asks for the distinct values of the group-bys. */
  metrics: z.array(z.string().min(1)).default([]),
  groupBy: z.array(z.string().min(1)).default([]),
  where: z.string().optional(),
  from: z.string().regex(DATE_OR_TIMESTAMP, "use 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS'").optional(),
  to: z.string().regex(DATE_OR_TIMESTAMP, "use 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS'").optional(),
  /** Metric names or group-by references; a leading '-' sorts descending. */
  orderBy: z.array(z.string().min(1)).default([]),
  limit: z.number().int().positive().optional(),
  timeZone: z.string().default('UTC'),
  /** Join the result to a time spine so that a time series has a row for every period. */
  fillGaps: z.boolean().default(false),
  /**
   * A saved query to run: its metrics, group-bys, order and limit stand where the request names
   * none, and its filter holds together with the request's.
   */
  savedQuery: z.string().min(1).optional(),
  /** Without metrics: the smallest and the largest value of each group-by instead of every value. */
  minMax: z.boolean().default(false),
  /** Without metrics: false lists a row per underlying row instead of distinct values. */
  distinct: z.boolean().default(true),
});

export type RequestInput = z.input<typeof requestSchema>;
export type Request = z.output<typeof requestSchema>;

export function parseRequest(input: unknown): Request {
  const parsed = requestSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? `'${issue.path.join('.')}'` : 'request';
    throw new TallyError('INVALID_REQUEST', `${where}: ${issue.message}`);
  }
  const request = parsed.data;
  if (request.metrics.length === 0 && request.groupBy.length === 0 && !request.savedQuery) {
    throw new TallyError('INVALID_REQUEST', "'metrics': name at least one metric, or group-bys to list their values");
  }
  if (!isTimeZone(request.timeZone)) {
    throw new TallyError('INVALID_REQUEST', `unknown time zone '${request.timeZone}'; use an IANA name such as 'UTC', 'Asia/Seoul' or 'America/New_York'`);
  }
  return request;
}

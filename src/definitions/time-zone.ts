/** Time zones as definitions, tally.yml and requests name them: IANA names, and UTC. */

let zones: Set<string> | undefined;

/** Whether `zone` is an IANA time zone name this runtime knows (or 'UTC'). */
export function isTimeZone(zone: string): boolean {
  zones ??= new Set(['UTC', ...Intl.supportedValuesOf('timeZone')]);
  return zones.has(zone);
}

/**
 * Rollups as a library: build them (`buildRollups`), open the store that keeps them
 * (`openRollupStore`: its build records, and the Engine that reads its tables), ask whether each
 * is current (`rollupStatus`, `definitionFingerprint`), refresh them while serving (`RollupScheduler`:
 * on schedules, and when a source's freshness moves, `probeFreshness`), and find stale ranges
 * (`checkFreshness`, `verifyFingerprints`, `SourceChecks`: verify.ts). See types.ts for the stored columns.
 */
export { buildRollups, rollupKeys, rollupTable, type BuildEvent, type BuildOptions } from './build.js';
export { expandRollupMetrics, partsOfMeasure, type RollupExpansion } from './expand.js';
export { definitionFingerprint } from './fingerprint.js';
export { rollupStatus, type RollupStatus } from './status.js';
export { type BuildingRollupStore, DEFAULT_ROLLUP_PATH, DEFAULT_ROLLUP_SCHEMA, openRollupStore, openRollupStoreForBuild, type RollupStore, type RollupStoreConfig, type StoreColumn } from './store.js';
export { DEFAULT_FRESHNESS_PROBE, hasScheduledRollups, RollupScheduler, rollupCron, type RollupSchedulerOptions } from './schedule.js';
export { changeReach, type FreshnessProbe, measureSourceFreshness, probeFreshness, rollupSourceModels } from './freshness.js';
export { buildIdentity, checkFreshness, checksPathOf, freshnessCheck, readChecks, type RollupChecks, type SourceCheck, SourceChecks, type StaleRange, type Staleness, stalenessOf, verifyFingerprints, withStaleness, writeChecks } from './verify.js';
export * from './types.js';

/**
 * The `auth:` and `limits:` sections of tally.yml. Secrets never go in that file (it is
 * committed): API keys are stored as SHA-256 hashes (`tally key create` makes a key and its
 * hash), the JWT secret is named by an environment variable, and keys can also live in a file
 * outside the repository, named directly or by an environment variable.
 *
 *   auth:
 *     anonymous: false                  # true: requests without credentials are served…
 *     anonymous_roles: [analyst]        # …with these roles (when metrics/ has an access policy)
 *     api_keys:
 *       - { name: dashboards, hash: "sha256:…", roles: [analyst], claims: { country: KR } }
 *     api_keys_file_env: TALLY_API_KEYS_FILE   # a YAML file with more `api_keys:`
 *     jwt:
 *       secret_env: TALLY_JWT_SECRET    # HS256 with this secret (at least 32 bytes)
 *       jwks_file: keys/jwks.json       # and/or public keys (RS256, ES256, EdDSA…)
 *       issuer: https://login.example.com/
 *       audience: tally
 *       roles_claim: roles              # a string or a list of strings in the token
 *   limits:
 *     max_rows: 100000                  # answers with more rows are refused (TOO_MANY_ROWS)
 *     max_spine_periods: 1000000        # periods of a generated time spine (TOO_EXPENSIVE), estimated before SQL runs
 *     query_timeout_ms: 30000
 *     max_concurrent_queries: 4         # engine connections; more wait in a fair queue…
 *     max_concurrent_queries_per_caller: 3   # …where one caller holds at most this many
 *     max_queued_queries: 64            # …and beyond that are refused (BUSY)
 *     max_depth: 10                     # GraphQL document limits
 *     max_aliases: 30
 *     max_cost: 5000
 *     max_tokens: 3000
 *     max_body_bytes: 262144
 *     max_filter_length: 10000          # characters of a `where` filter
 *     engine_memory_limit: 2GB          # DuckDB's memory_limit (default 2GB)
 *     engine_threads: 4                 # DuckDB's threads (default: every core)
 */
import { z } from 'zod';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'name an environment variable (letters, digits and _), not its value');
const roleName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'role names are lower_snake_case');
const claimValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean()]))]);

export const apiKeySchema = z.strictObject({
  /** Who holds the key; shown in logs and messages, never the key. */
  name: z.string().regex(/^[A-Za-z0-9_.@-]+$/, 'a name of letters, digits and . _ @ -'),
  /** sha256:<64 hex digits> of the key (`tally key create` prints it). */
  hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, "'sha256:' and the 64 hex digits of the key's SHA-256 (run `tally key create`)"),
  roles: z.array(roleName).default([]),
  claims: z.record(z.string(), claimValue).default({}),
});

export const apiKeysFileSchema = z.strictObject({ api_keys: z.array(apiKeySchema).default([]) });

export const authSchema = z.strictObject({
  anonymous: z.boolean().default(false),
  anonymous_roles: z.array(roleName).default([]),
  anonymous_claims: z.record(z.string(), claimValue).default({}),
  api_keys: z.array(apiKeySchema).default([]),
  api_keys_file: z.string().min(1).optional(),
  api_keys_file_env: envName.optional(),
  jwt: z
    .strictObject({
      secret_env: envName.optional(),
      jwks_file: z.string().min(1).optional(),
      issuer: z.string().min(1).optional(),
      audience: z.string().min(1).optional(),
      roles_claim: z.string().min(1).default('roles'),
    })
    .refine((j) => j.secret_env !== undefined || j.jwks_file !== undefined, { message: 'jwt needs secret_env (HS256) or jwks_file (public keys)' })
    .optional(),
});

export const limitsSchema = z.strictObject({
  max_rows: z.int().min(1).optional(),
  max_spine_periods: z.int().min(1).optional(),
  max_concurrent_queries_per_caller: z.int().min(1).max(1000).optional(),
  engine_memory_limit: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, "a size such as '2GB' or '512MB'")
    .optional(),
  engine_threads: z.int().min(1).max(256).optional(),
  query_timeout_ms: z.int().min(1).optional(),
  max_concurrent_queries: z.int().min(1).max(1000).optional(),
  max_queued_queries: z.int().min(0).optional(),
  max_depth: z.int().min(1).optional(),
  max_aliases: z.int().min(0).optional(),
  max_cost: z.int().min(1).optional(),
  max_tokens: z.int().min(1).optional(),
  max_body_bytes: z.int().min(1024).optional(),
  max_filter_length: z.int().min(1).optional(),
});

export type ApiKeyConfig = z.infer<typeof apiKeySchema>;
export type AuthConfig = z.infer<typeof authSchema>;
export type LimitsConfig = z.infer<typeof limitsSchema>;

/** Keys that would put a secret itself in tally.yml, under auth. */
export const AUTH_SECRET_KEYS = ['key', 'secret', 'token', 'password', 'api_key', 'private_key'];

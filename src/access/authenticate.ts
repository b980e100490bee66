/**
 * Who is calling: an API key (compared by its SHA-256, never stored or logged as such), a JWT
 * bearer token (verified with jose: HS256 with a secret from the environment, or public keys from
 * a JWKS file), or nobody (served only where tally.yml allows anonymous access). Credentials are
 * read from `Authorization: Bearer …` or `X-API-Key: …`; a message never repeats them.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createLocalJWKSet, decodeProtectedHeader, errors as joseErrors, type JSONWebKeySet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { parseYamlFile, zodProblem } from '../definitions/yaml-source.js';
import { DefinitionError, TallyError } from '../errors.js';
import { type ApiKeyConfig, apiKeysFileSchema, type AuthConfig } from './auth-config.js';
import type { Caller } from './control.js';

/** Public-key algorithms accepted from a JWKS; `none` and HMAC with a public key never are. */
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const MIN_SECRET_BYTES = 32;
const MAX_CREDENTIAL_LENGTH = 8192;

interface StoredKey {
  name: string;
  hash: Buffer;
  roles: string[];
  claims: Record<string, unknown>;
}

export class Authenticator {
  private constructor(
    private readonly keys: StoredKey[],
    private readonly jwt: { secret?: Uint8Array; jwks?: JWTVerifyGetKey; issuer?: string; audience?: string; rolesClaim: string } | undefined,
    private readonly anonymous: Caller | undefined,
  ) {}

  /** Reads the keys and secrets that `config` names (files, environment variables). */
  static fromConfig(config: AuthConfig, env: NodeJS.ProcessEnv = process.env): Authenticator {
    const keys: ApiKeyConfig[] = [...config.api_keys];
    const keysFile = config.api_keys_file_env ? env[config.api_keys_file_env] : undefined;
    if (config.api_keys_file_env && !keysFile) {
      throw new TallyError('INVALID_DEFINITION', `the environment variable ${config.api_keys_file_env} (auth.api_keys_file_env in tally.yml) is not set; set it to the path of a YAML file with api_keys:`);
    }
    for (const file of [config.api_keys_file, keysFile]) if (file) keys.push(...readKeysFile(file));
    let jwt: Authenticator['jwt'];
    if (config.jwt) {
      let secret: Uint8Array | undefined;
      if (config.jwt.secret_env) {
        const text = env[config.jwt.secret_env];
        if (!text) throw new TallyError('INVALID_DEFINITION', `the environment variable ${config.jwt.secret_env} (auth.jwt.secret_env in tally.yml) is not set; set it to the HS256 secret`);
        secret = new TextEncoder().encode(text);
        if (secret.length < MIN_SECRET_BYTES) throw new TallyError('INVALID_DEFINITION', `the JWT secret in ${config.jwt.secret_env} is shorter than ${MIN_SECRET_BYTES} bytes; use a longer random secret`);
      }
      let jwks: JWTVerifyGetKey | undefined;
      if (config.jwt.jwks_file) {
        if (!existsSync(config.jwt.jwks_file)) throw new TallyError('INVALID_DEFINITION', `the JWKS file '${config.jwt.jwks_file}' (auth.jwt.jwks_file in tally.yml) does not exist`);
        try {
          jwks = createLocalJWKSet(JSON.parse(readFileSync(config.jwt.jwks_file, 'utf8')) as JSONWebKeySet);
        } catch (e) {
          throw new TallyError('INVALID_DEFINITION', `the JWKS file '${config.jwt.jwks_file}' is not a JSON Web Key Set: ${(e as Error).message}`);
        }
      }
      jwt = { secret, jwks, issuer: config.jwt.issuer, audience: config.jwt.audience, rolesClaim: config.jwt.roles_claim };
    }
    const anonymous: Caller | undefined = config.anonymous ? { id: 'anonymous', via: 'anonymous', roles: config.anonymous_roles, claims: config.anonymous_claims } : undefined;
    const stored = keys.map((k) => ({ name: k.name, hash: Buffer.from(k.hash.slice('sha256:'.length), 'hex'), roles: k.roles, claims: k.claims }));
    return new Authenticator(stored, jwt, anonymous);
  }

  /** One line for the server's start-up message. */
  describe(): string {
    const ways = [
      this.keys.length ? `${this.keys.length} API key${this.keys.length === 1 ? '' : 's'}` : '',
      this.jwt?.secret ? 'HS256 bearer tokens' : '',
      this.jwt?.jwks ? 'bearer tokens signed by the JWKS keys' : '',
    ].filter(Boolean);
    const anonymous = this.anonymous
      ? `requests without credentials are served${this.anonymous.roles.length ? ` with the roles ${this.anonymous.roles.join(', ')}` : ''}`
      : 'requests without credentials are refused';
    if (ways.length === 0 && !this.anonymous) return 'Authentication: no API keys or tokens are configured (auth in tally.yml), so every request is refused.';
    return `Authentication: ${ways.length ? ways.join(', ') : 'no credentials configured'}; ${anonymous}.`;
  }

  /** The caller of a request, or UNAUTHENTICATED. Credentials that are sent must be valid. */
  async authenticate(headers: Headers): Promise<Caller> {
    const credential = credentialOf(headers);
    if (credential === undefined) {
      if (this.anonymous) return this.anonymous;
      throw new TallyError('UNAUTHENTICATED', 'authentication required: send an API key (Authorization: Bearer <key> or X-API-Key: <key>) or a bearer token');
    }
    if (credential.length > MAX_CREDENTIAL_LENGTH) throw new TallyError('UNAUTHENTICATED', 'the credentials are not valid');
    if (credential.split('.').length === 3) return this.verifyToken(credential);
    return this.verifyKey(credential);
  }

  private verifyKey(key: string): Caller {
    const hash = createHash('sha256').update(key, 'utf8').digest();
    // Every stored hash is compared, in constant time, whichever matches.
    let found: StoredKey | undefined;
    for (const k of this.keys) if (timingSafeEqual(k.hash, hash) && !found) found = k;
    if (!found) throw new TallyError('UNAUTHENTICATED', 'the API key is not valid');
    return { id: found.name, via: 'api_key', roles: found.roles, claims: found.claims };
  }

  private async verifyToken(token: string): Promise<Caller> {
    const jwt = this.jwt;
    if (!jwt) throw new TallyError('UNAUTHENTICATED', 'bearer tokens are not accepted by this server; use an API key');
    let payload: JWTPayload;
    try {
      const alg = decodeProtectedHeader(token).alg;
      const options = { issuer: jwt.issuer, audience: jwt.audience, requiredClaims: ['exp'], clockTolerance: 5 };
      if (alg === 'HS256' && jwt.secret) payload = (await jwtVerify(token, jwt.secret, { ...options, algorithms: ['HS256'] })).payload;
      else if (alg && ASYMMETRIC.includes(alg) && jwt.jwks) payload = (await jwtVerify(token, jwt.jwks, { ...options, algorithms: ASYMMETRIC })).payload;
      else throw new TallyError('UNAUTHENTICATED', `tokens signed with ${alg ? `'${alg}'` : 'no algorithm'} are not accepted`);
    } catch (e) {
      if (e instanceof TallyError) throw e;
      throw new TallyError('UNAUTHENTICATED', `the bearer token is not valid: ${tokenProblem(e)}`);
    }
    const roles = payload[jwt.rolesClaim];
    const list = typeof roles === 'string' ? [roles] : Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [];
    return { id: typeof payload.sub === 'string' ? payload.sub : 'token', via: 'jwt', roles: list, claims: payload as Record<string, unknown> };
  }
}

function credentialOf(headers: Headers): string | undefined {
  const authorization = headers.get('authorization');
  if (authorization) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) throw new TallyError('UNAUTHENTICATED', "the Authorization header must be 'Bearer <API key or token>'");
    return m[1];
  }
  const key = headers.get('x-api-key');
  return key ? key.trim() : undefined;
}

/** What is wrong with a token, without repeating it. */
function tokenProblem(e: unknown): string {
  if (e instanceof joseErrors.JWTExpired) return 'it has expired';
  if (e instanceof joseErrors.JWTClaimValidationFailed) return `claim '${e.claim}' ${e.reason === 'missing' ? 'is missing' : 'is not accepted'}`;
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return 'its signature does not verify';
  if (e instanceof joseErrors.JWKSNoMatchingKey) return 'no key of the JWKS matches it';
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return 'its algorithm is not accepted';
  return 'it cannot be read as a signed JWT';
}

function readKeysFile(file: string): ApiKeyConfig[] {
  if (!existsSync(file)) throw new TallyError('INVALID_DEFINITION', `the API keys file '${file}' does not exist`);
  const { file: parsed, data, problems } = parseYamlFile(file, readFileSync(file, 'utf8'));
  if (problems.length) throw new DefinitionError(problems);
  const result = apiKeysFileSchema.safeParse(data);
  if (!result.success) throw new DefinitionError(result.error.issues.map((issue) => zodProblem(parsed, issue)));
  return result.data.api_keys;
}

/** A new API key and the line that stores its hash. The key is shown once; only the hash is kept. */
export function createApiKey(): { key: string; hash: string } {
  const key = `tally_${randomBytes(32).toString('base64url')}`;
  return { key, hash: `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}` };
}

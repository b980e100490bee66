/**
 * Authentication over loopback: API keys (stored as SHA-256 hashes), HS256 and JWKS bearer
 * tokens, anonymous access only where configured, 401 UNAUTHENTICATED otherwise; credentials are
 * never repeated in answers or logs; tally.yml refuses secrets and reports problems at line:col.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authSchema } from '../../src/access/auth-config.js';
import { Authenticator, createApiKey } from '../../src/access/authenticate.js';
import { TallyServer } from '../../src/api/server.js';
import { DefinitionError, DuckDBEngine, parseConfig } from '../../src/index.js';
import { gql, type Harness, JWT_SECRET, startHarness } from './harness.js';

const run = promisify(execFile);
const ORDERS = '{ query(metrics: ["orders"]) { rows } }';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ events: 5_000 });
});
afterAll(async () => h?.close());

describe('API keys and tokens', () => {
  it('refuses requests without credentials with 401 UNAUTHENTICATED, introspection and catalog included', async () => {
    for (const query of [ORDERS, '{ catalog { version } }', '{ __schema { queryType { name } } }']) {
      const res = await h.gql(query);
      expect(res.status).toBe(401);
      expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(res.data).toBeUndefined();
    }
  });

  it('accepts a valid API key in Authorization or X-API-Key, and refuses a wrong one', async () => {
    expect((await h.gql(ORDERS, undefined, h.keys.admin)).errors).toBeUndefined();
    const viaHeader = await fetch(h.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': h.keys.admin }, body: JSON.stringify({ query: ORDERS }) });
    expect(viaHeader.status).toBe(200);
    for (const wrong of [`${h.keys.admin}x`, 'tally_guess', h.keys.admin.toUpperCase(), 'x'.repeat(10_000)]) {
      const res = await h.gql(ORDERS, undefined, wrong);
      expect(res.status).toBe(401);
      expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(res)).not.toContain(wrong.slice(0, 40));
    }
    const malformed = await fetch(h.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Basic dXNlcjpwYXNz' }, body: JSON.stringify({ query: ORDERS }) });
    expect(malformed.status).toBe(401);
  });

  it('accepts HS256 tokens with the right issuer and audience that have not expired; refuses the rest', async () => {
    const good = await h.token({ roles: ['admin'] });
    expect((await h.gql(ORDERS, undefined, good)).errors).toBeUndefined();
    const secret = new TextEncoder().encode(JWT_SECRET);
    const sign = (claims: Record<string, unknown>, f: (j: SignJWT) => SignJWT): Promise<string> => f(new SignJWT(claims).setProtectedHeader({ alg: 'HS256' })).sign(secret);
    const bad: [string, string, RegExp][] = [
      ['expired', await sign({ roles: ['admin'] }, (j) => j.setIssuer('tests').setAudience('tally').setExpirationTime(Math.floor(Date.now() / 1000) - 3600)), /expired/],
      ['no expiry', await sign({ roles: ['admin'] }, (j) => j.setIssuer('tests').setAudience('tally')), /claim 'exp'/],
      ['other issuer', await sign({ roles: ['admin'] }, (j) => j.setIssuer('evil').setAudience('tally').setExpirationTime('5m')), /claim 'iss'/],
      ['other audience', await sign({ roles: ['admin'] }, (j) => j.setIssuer('tests').setAudience('other').setExpirationTime('5m')), /claim 'aud'/],
      [
        'other secret',
        await new SignJWT({ roles: ['admin'] }).setProtectedHeader({ alg: 'HS256' }).setIssuer('tests').setAudience('tally').setExpirationTime('5m').sign(new TextEncoder().encode('another-secret-that-is-long-enough-too!!')),
        /signature/,
      ],
      ['unsigned (alg none)', new UnsecuredJWT({ roles: ['admin'] }).setIssuer('tests').setAudience('tally').setExpirationTime('5m').encode(), /not accepted/],
      ['tampered payload', good.replace(/\.[^.]+\./, `.${Buffer.from(JSON.stringify({ roles: ['admin'], exp: 9999999999, iss: 'tests', aud: 'tally' })).toString('base64url')}.`), /signature/],
      ['garbage', 'a.b.c', /cannot be read/],
    ];
    for (const [what, token, message] of bad) {
      const res = await h.gql(ORDERS, undefined, token);
      expect(res.status, what).toBe(401);
      expect(res.errors?.[0]?.extensions?.code, what).toBe('UNAUTHENTICATED');
      expect(res.errors?.[0]?.message, what).toMatch(message);
      expect(res.errors?.[0]?.message, what).not.toContain(token.slice(0, 30));
    }
  });

  it('accepts tokens signed by a key of a JWKS file (RS256 and ES256), and refuses HS256 tokens when only a JWKS is configured', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-jwks-'));
    const rsa = await generateKeyPair('RS256');
    const ec = await generateKeyPair('ES256');
    const jwks = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'r', alg: 'RS256' }, { ...(await exportJWK(ec.publicKey)), kid: 'e', alg: 'ES256' }] };
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwks));
    const auth = Authenticator.fromConfig(authSchema.parse({ jwt: { jwks_file: join(dir, 'jwks.json') } }));
    const engine = await DuckDBEngine.open({ path: h.db, readOnly: true });
    const server = new TallyServer({ projectDir: h.dir, engine, auth, log: () => {} });
    const url = await server.listen(0, '127.0.0.1');
    try {
      for (const [alg, key, kid] of [['RS256', rsa.privateKey, 'r'], ['ES256', ec.privateKey, 'e']] as const) {
        const token = await new SignJWT({ roles: ['admin'] }).setProtectedHeader({ alg, kid }).setExpirationTime('5m').sign(key);
        const res = await gql(url, ORDERS, undefined, token);
        expect(res.errors, alg).toBeUndefined();
      }
      const other = await generateKeyPair('RS256');
      const forged = await new SignJWT({ roles: ['admin'] }).setProtectedHeader({ alg: 'RS256', kid: 'r' }).setExpirationTime('5m').sign(other.privateKey);
      expect((await gql(url, ORDERS, undefined, forged)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const hs = await h.token({ roles: ['admin'] });
      expect((await gql(url, ORDERS, undefined, hs)).errors?.[0]?.message).toMatch(/'HS256' are not accepted/);
    } finally {
      await server.close();
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves anonymous callers only where the config allows it, with the roles it gives them', async () => {
    const auth = Authenticator.fromConfig(authSchema.parse({ anonymous: true, anonymous_roles: ['kr_analyst'], anonymous_claims: { country: 'KR' } }));
    const engine = await DuckDBEngine.open({ path: h.db, readOnly: true });
    const server = new TallyServer({ projectDir: h.dir, engine, auth, log: () => {} });
    const url = await server.listen(0, '127.0.0.1');
    try {
      const res = await gql<{ query: { rows: Record<string, unknown>[] } }>(url, '{ query(metrics: ["orders"], groupBy: ["user.country"]) { rows } }');
      expect(res.data!.query.rows.map((r) => r['user.country'])).toEqual(['KR']);
      expect((await gql(url, '{ query(metrics: ["revenue"]) { rows } }')).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      // Sent credentials must still be valid: a bad key is not treated as anonymous.
      expect((await gql(url, ORDERS, undefined, 'tally_wrong')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    } finally {
      await server.close();
      await engine.close();
    }
  });

  it('never writes credentials to the log', async () => {
    const lines: string[] = [];
    const engine = await DuckDBEngine.open({ path: h.db, readOnly: true });
    const { key, hash } = createApiKey();
    const auth = Authenticator.fromConfig(authSchema.parse({ api_keys: [{ name: 'logged', hash, roles: ['admin'] }] }));
    const server = new TallyServer({ projectDir: h.dir, engine, auth, log: (l) => lines.push(l) });
    const url = await server.listen(0, '127.0.0.1');
    try {
      await gql(url, ORDERS, undefined, key);
      await gql(url, '{ query(metrics: ["nope"]) { rows } }', undefined, key);
      await gql(url, ORDERS, undefined, `${key}-wrong`);
      expect(lines.join('\n')).not.toContain(key.slice(6, 30));
    } finally {
      await server.close();
      await engine.close();
    }
  });
});

describe('tally.yml and tally key', () => {
  it('refuses secrets written into tally.yml, at line:col, and reads keys from a file', () => {
    const bad = (text: string): string => {
      try {
        parseConfig('tally.yml', text);
      } catch (e) {
        expect(e).toBeInstanceOf(DefinitionError);
        return (e as DefinitionError).message;
      }
      throw new Error('expected a problem');
    };
    expect(bad('auth:\n  api_keys:\n    - name: x\n      key: tally_abc\n      roles: [admin]\n')).toMatch(/^tally\.yml:4:7: 'key' would put a secret/);
    expect(bad('auth:\n  jwt:\n    secret: hunter2hunter2\n')).toMatch(/^tally\.yml:3:5: 'secret' would put a secret/);
    expect(bad('auth:\n  api_keys:\n    - { name: x, hash: "md5:abc" }\n')).toMatch(/^tally\.yml:3:\d+: .*sha256/);
    expect(bad('auth:\n  anonymous: yes please\n')).toMatch(/^tally\.yml:2:\d+:/);
    expect(bad('limits:\n  max_rows: -1\n')).toMatch(/^tally\.yml:2:\d+:/);

    const dir = mkdtempSync(join(tmpdir(), 'tally-keys-'));
    try {
      const { key, hash } = createApiKey();
      writeFileSync(join(dir, 'keys.yml'), `api_keys:\n  - { name: from-file, hash: "${hash}", roles: [admin] }\n`);
      const config = parseConfig('tally.yml', 'auth:\n  api_keys_file_env: KEYS\n', dir);
      const auth = Authenticator.fromConfig(config.auth!, { KEYS: join(dir, 'keys.yml') });
      return auth.authenticate(new Headers({ authorization: `Bearer ${key}` })).then((caller) => {
        expect(caller).toMatchObject({ id: 'from-file', roles: ['admin'] });
        // A tally.yml without an auth section serves nobody.
        const closed = Authenticator.fromConfig(parseConfig('tally.yml', 'engine: { type: duckdb }\n', dir).auth!);
        expect(closed.describe()).toMatch(/every request is refused/);
        return expect(closed.authenticate(new Headers())).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('`tally key create` prints a key whose SHA-256 is the hash it prints', async () => {
    const { stdout, stderr } = await run('node', ['bin/tally.js', 'key', 'create', '--name', 'ci', '--roles', 'analyst', '--claim', 'country=KR']);
    const key = stdout.trim();
    expect(key).toMatch(/^tally_[A-Za-z0-9_-]{43}$/);
    const entry = JSON.parse(/- (\{.*\})/.exec(stderr)![1]) as { hash: string; roles: string[]; claims: Record<string, string> };
    expect(entry.hash).toBe(`sha256:${createHash('sha256').update(key).digest('hex')}`);
    expect(entry).toMatchObject({ name: 'ci', roles: ['analyst'], claims: { country: 'KR' } });
  });

  it('`tally serve` with tally.yml requires a key and says so; without tally.yml it says it is open', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-serve-'));
    cpSync(join(h.dir, 'metrics'), join(dir, 'metrics'), { recursive: true });
    const { key, hash } = createApiKey();
    const serve = async (withConfig: boolean): Promise<{ url: string; output: string; stop: () => void }> => {
      if (withConfig) writeFileSync(join(dir, 'tally.yml'), `engine: { type: duckdb, path: ${h.db} }\nauth:\n  api_keys:\n    - { name: ci, hash: "${hash}", roles: [admin] }\n`);
      else rmSync(join(dir, 'tally.yml'), { force: true });
      const child = execFile('node', ['bin/tally.js', '--project', dir, 'serve', '--port', '0', ...(withConfig ? [] : ['--db', h.db])]);
      let output = '';
      child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      for (let i = 0; i < 600 && !/Open the API/.test(output); i++) await new Promise((r) => setTimeout(r, 50));
      const url = /at (http:\/\/\S+\/graphql)/.exec(output)?.[1] ?? '';
      return { url, output, stop: () => child.kill('SIGTERM') };
    };
    try {
      const secured = await serve(true);
      try {
        expect(secured.output).toMatch(/Authentication: 1 API key; requests without credentials are refused/);
        expect((await gql(secured.url, ORDERS)).status).toBe(401);
        expect((await gql(secured.url, ORDERS, undefined, key)).errors).toBeUndefined();
      } finally {
        secured.stop();
      }
      const open = await serve(false);
      try {
        expect(open.output).toMatch(/No tally\.yml, so no authentication: anyone who can reach this address may query every metric/);
        expect((await gql(open.url, ORDERS)).status).toBe(200);
      } finally {
        open.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

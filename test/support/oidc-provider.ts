/**
 * A real OpenID Provider on loopback for the sign-in tests: panva's `oidc-provider` (OpenID
 * certified) with its development login and consent pages, one confidential test client, test
 * users with a `groups` claim (changeable while running), and a back-channel man in the middle.
 *
 * The issuer URL is a small proxy in front of the provider: it forwards every request
 * unchanged (Host included, so the provider's URLs name the issuer) and lets a test rewrite the
 * token endpoint's JSON answer (`tamperTokens`), which is how a forged or foreign ID token
 * reaches the app through its real back channel, and the front channel: the authorization
 * request (`tamperAuthorization`, e.g. its nonce) and the redirect back (`tamperCallback`, e.g.
 * its state). Browser-level interception cannot do the latter: redirects are not routable.
 *
 *   const op = await startOidcProvider();               // op.issuer is known before the app starts
 *   const app = await startTestApp({ ..., config: testConfig({ CALLREC_OIDC_ISSUER: op.issuer, ... }) });
 *   await op.register(app.url);                          // the client's redirect URIs
 *   op.users.set('pia', { groups: ['cc-privacy'] });
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export const TEST_CLIENT_ID = 'callrec-test';
export const TEST_CLIENT_SECRET = 'callrec-test-secret-0123456789abcdefghij';

export interface TestOidcUser {
  groups: string[];
  name?: string;
}

export interface TestOidcProvider {
  issuer: string;
  users: Map<string, TestOidcUser>;
  /** Rewrites the token endpoint's JSON answer (undefined: unchanged). */
  tamperTokens:
    ((body: Record<string, unknown>) => Record<string, unknown> | Promise<Record<string, unknown>>) | undefined;
  /** Rewrites the authorization request (`/auth?…`) as it reaches the provider (front channel). */
  tamperAuthorization: ((url: URL) => void) | undefined;
  /** Rewrites the provider's redirect back to the app (a Location on the app's callback). */
  tamperCallback: ((url: URL) => void) | undefined;
  /** Starts the provider with a client whose redirect URIs belong to the app at `appUrl`. */
  register(appUrl: string): Promise<void>;
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return (server.address() as AddressInfo).port;
}

export async function startOidcProvider(): Promise<TestOidcProvider> {
  let upstreamPort: number | undefined;
  let providerServer: http.Server | undefined;
  const users = new Map<string, TestOidcUser>();

  const self: TestOidcProvider = {
    issuer: '',
    users,
    tamperTokens: undefined,
    tamperAuthorization: undefined,
    tamperCallback: undefined,
    async register(appUrl) {
      const provider = new Provider(self.issuer, {
        clients: [
          {
            client_id: TEST_CLIENT_ID,
            client_secret: TEST_CLIENT_SECRET,
            redirect_uris: [`${appUrl}/v1/session/oidc/callback`],
            post_logout_redirect_uris: [`${appUrl}/login`],
            grant_types: ['authorization_code'],
            response_types: ['code'],
            token_endpoint_auth_method: 'client_secret_post',
          },
        ],
        claims: { openid: ['sub'], profile: ['name', 'preferred_username'], groups: ['groups'] },
        scopes: ['openid', 'profile', 'groups'],
        features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
        pkce: { required: () => true },
        cookies: { keys: ['oidc-test-cookie-key-0123456789'] },
        findAccount: (_ctx: unknown, sub: string) => ({
          accountId: sub,
          claims: () => {
            const user = users.get(sub);
            return { sub, preferred_username: sub, name: user?.name ?? sub, groups: user?.groups ?? [] };
          },
        }),
      });
      providerServer = http.createServer(provider.callback());
      upstreamPort = await listen(providerServer);
    },
    async close() {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      if (providerServer) {
        providerServer.closeAllConnections();
        await new Promise<void>((resolve) => providerServer!.close(() => resolve()));
      }
    },
  };

  const proxy = http.createServer((req, res) => {
    if (upstreamPort === undefined) {
      res.writeHead(503).end();
      return;
    }
    let path = req.url ?? '/';
    if (self.tamperAuthorization && path.startsWith('/auth?')) {
      const url = new URL(path, self.issuer);
      self.tamperAuthorization(url);
      path = url.pathname + url.search;
    }
    const upstream = http.request(
      { host: '127.0.0.1', port: upstreamPort, method: req.method, path, headers: req.headers },
      (answer) => {
        const location = answer.headers.location;
        if (self.tamperCallback && location?.includes('/v1/session/oidc/callback')) {
          const url = new URL(location, self.issuer);
          self.tamperCallback(url);
          answer.headers.location = url.href;
        }
        const tamper = self.tamperTokens;
        if (!tamper || req.url !== '/token' || answer.statusCode !== 200) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          void Promise.resolve(
            tamper(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>),
          ).then(
            (tampered) => {
              const body = JSON.stringify(tampered);
              const headers = { ...answer.headers, 'content-length': String(Buffer.byteLength(body)) };
              delete headers['transfer-encoding'];
              res.writeHead(200, headers).end(body);
            },
            () => res.writeHead(502).end(),
          );
        });
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  self.issuer = `http://127.0.0.1:${await listen(proxy)}`;
  return self;
}

/**
 * Signs `login` in to the app at `appUrl` through the provider without a browser: follows the
 * redirects by hand with a cookie jar per origin and submits the provider's development login
 * and consent forms. Returns the app's session headers (Cookie + Origin). For the
 * authorization matrix; the browser flow itself is test/e2e/oidc.test.ts's subject.
 */
export async function signInThroughProvider(
  appUrl: string,
  login: string,
): Promise<{ cookie: string; headers: Record<string, string> }> {
  const jars = new Map<string, Map<string, string>>();
  const jar = (url: URL) => jars.get(url.origin) ?? jars.set(url.origin, new Map()).get(url.origin)!;
  let url = new URL(`${appUrl}/v1/session/oidc/login?next=/recordings`);
  let init: { method: string; body?: string } = { method: 'GET' };
  for (let hop = 0; hop < 20; hop++) {
    const cookies = [...jar(url)].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, {
      method: init.method,
      redirect: 'manual',
      headers: {
        ...(cookies ? { cookie: cookies } : {}),
        ...(init.body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      body: init.body,
    });
    for (const setCookie of res.headers.getSetCookie()) {
      const [pair] = setCookie.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      if (/max-age=0/i.test(setCookie) || /expires=Thu, 01 Jan 1970/i.test(setCookie)) jar(url).delete(name);
      else jar(url).set(name, pair!.slice(eq + 1).trim());
    }
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.arrayBuffer();
      url = new URL(location, url);
      init = { method: 'GET' };
      if (url.origin === new URL(appUrl).origin && url.pathname === '/signin-done') {
        const session = [...jar(url)].find(([k]) => k === 'callrec_session');
        if (!session) throw new Error(`no session cookie after signing ${login} in through the provider`);
        const cookie = `${session[0]}=${session[1]}`;
        return { cookie, headers: { cookie, origin: new URL(appUrl).origin } };
      }
      if (url.origin === new URL(appUrl).origin && url.pathname === '/login') {
        throw new Error(`sign-in of ${login} through the provider refused: ${url.search}`);
      }
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (res.status !== 200 || !action) throw new Error(`unexpected answer ${res.status} at ${url.href}`);
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    const form = new URLSearchParams(
      prompt === 'login' ? { prompt, login, password: 'any password' } : { prompt: prompt ?? '' },
    );
    url = new URL(action.replaceAll('&amp;', '&'), url);
    init = { method: 'POST', body: form.toString() };
  }
  throw new Error(`too many redirects signing ${login} in through the provider`);
}

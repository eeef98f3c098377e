import { expect } from 'chai';
import type { Principal } from '../../src/auth/principal.js';
import { createTokenCache, credentialsChanged, credentialsEpoch, TOKEN_CACHE_TTL_MS } from '../../src/auth/token-cache.js';

const principal = (username: string): Principal => ({ userId: `u-${username}`, username, role: 'trainer', queues: null, via: 'token' });
const entry = (username: string) => ({ principal: principal(username), tokenId: `t-${username}`, lastUsedAt: null });

describe('token cache (bearer token → principal, in process)', () => {
  const T = 1_000_000;

  it('when a token was cached, then it is answered until the TTL has passed, and not from then on', () => {
    const cache = createTokenCache();
    cache.set('h1', entry('ann'), { now: T, epochBefore: credentialsEpoch() });
    expect(cache.get('h1', T + TOKEN_CACHE_TTL_MS - 1)?.principal.username).to.equal('ann');
    expect(cache.get('h1', T + TOKEN_CACHE_TTL_MS)).to.equal(undefined);
    expect(cache.get('h1', T + 1)).to.equal(undefined);
  });

  it('when the clock goes backwards past the fill time, then the entry is not trusted', () => {
    const cache = createTokenCache({ ttlMs: 1000 });
    cache.set('h1', entry('ann'), { now: T, epochBefore: credentialsEpoch() });
    expect(cache.get('h1', T - 1)).to.equal(undefined);
  });

  it('when credentials change in this process, then every cache forgets every token at once', () => {
    const a = createTokenCache();
    const b = createTokenCache();
    a.set('h1', entry('ann'), { now: T, epochBefore: credentialsEpoch() });
    b.set('h2', entry('bob'), { now: T, epochBefore: credentialsEpoch() });
    credentialsChanged();
    expect(a.get('h1', T + 1)).to.equal(undefined);
    expect(b.get('h2', T + 1)).to.equal(undefined);
    expect(a.size).to.equal(0);
  });

  it('when a lookup read the database before a credentials change and stores after it, then its result is not kept', () => {
    const cache = createTokenCache();
    const before = credentialsEpoch();
    credentialsChanged();
    cache.set('h1', entry('ann'), { now: T, epochBefore: before });
    expect(cache.get('h1', T + 1)).to.equal(undefined);
    expect(cache.size).to.equal(0);
  });

  it('when more tokens are cached than the bound, then the oldest are dropped', () => {
    const cache = createTokenCache({ maxEntries: 3 });
    for (const name of ['a', 'b', 'c', 'd']) cache.set(`h-${name}`, entry(name), { now: T, epochBefore: credentialsEpoch() });
    expect(cache.size).to.equal(3);
    expect(cache.get('h-a', T + 1)).to.equal(undefined);
    expect(cache.get('h-d', T + 1)?.principal.username).to.equal('d');
  });

  it('when the TTL is 0, then nothing is cached', () => {
    const cache = createTokenCache({ ttlMs: 0 });
    cache.set('h1', entry('ann'), { now: T, epochBefore: credentialsEpoch() });
    expect(cache.get('h1', T)).to.equal(undefined);
  });
});

/** Password hashing (scrypt), generated secrets and the login failure limiter. */
import { expect } from 'chai';
import { generateApiToken, parseQueueList, sha256Hex } from '../../src/auth/accounts.js';
import {
  DEFAULT_SCRYPT_PARAMS,
  dummyVerify,
  generatePassword,
  hashPassword,
  verifyPassword,
} from '../../src/auth/passwords.js';
import { createBackoffLimiter, createFailureLimiter } from '../../src/auth/rate-limit.js';
import { createManualClock } from '../../src/clock.js';
import { isAppError } from '../../src/errors.js';

const CHEAP = { N: 1024, r: 8, p: 1 };

describe('passwords', function () {
  it('when a password is hashed with the defaults, then the hash names scrypt, its parameters and salt, and verifies only that password', async () => {
    const hash = await hashPassword('correct horse battery staple');
    const { N, r, p } = DEFAULT_SCRYPT_PARAMS;
    expect(hash).to.match(new RegExp(`^scrypt\\$${N}\\$${r}\\$${p}\\$[A-Za-z0-9_-]{22}\\$[A-Za-z0-9_-]{43}$`));
    expect(N).to.be.at.least(2 ** 15);
    expect(await verifyPassword('correct horse battery staple', hash)).to.equal(true);
    expect(await verifyPassword('correct horse battery stapleX', hash)).to.equal(false);
    expect(await verifyPassword('', hash)).to.equal(false);
  });

  it('when the same password is hashed twice, then the salts and hashes differ and both verify', async () => {
    const [a, b] = [await hashPassword('same', CHEAP), await hashPassword('same', CHEAP)];
    expect(a).to.not.equal(b);
    expect(a.split('$')[4]).to.not.equal(b.split('$')[4]);
    expect(await verifyPassword('same', a)).to.equal(true);
    expect(await verifyPassword('same', b)).to.equal(true);
  });

  it('when a hash was made with other parameters, then verification uses the parameters stored in it', async () => {
    const hash = await hashPassword('pw', { N: 2048, r: 4, p: 2 });
    expect(hash.startsWith('scrypt$2048$4$2$')).to.equal(true);
    expect(await verifyPassword('pw', hash)).to.equal(true);
  });

  it('when a password is written in another Unicode normal form, then it still verifies', async () => {
    const hash = await hashPassword('caf\u00e9', CHEAP);
    expect(await verifyPassword('cafe\u0301', hash)).to.equal(true);
  });

  it('when the stored hash is malformed, foreign or asks for unbounded work, then verification is false without throwing', async () => {
    const good = await hashPassword('pw', CHEAP);
    const [, , r, p, salt, key] = good.split('$');
    const bad = [
      '',
      'plain-text-password',
      `bcrypt$1024$${r}$${p}$${salt}$${key}`,
      `scrypt$1000$${r}$${p}$${salt}$${key}`, // N not a power of two
      `scrypt$${2 ** 24}$${r}$${p}$${salt}$${key}`, // N beyond the accepted maximum
      `scrypt$1024$0$${p}$${salt}$${key}`,
      `scrypt$1024$${r}$${p}$$${key}`,
      `scrypt$1024$${r}$${p}$${salt}$`,
      `scrypt$1024$${r}$${p}$${salt}`,
      `scrypt$1024$${r}$${p}$${salt}$${key}$extra`,
    ];
    for (const stored of bad) expect(await verifyPassword('pw', stored), stored).to.equal(false);
  });

  it('when an unknown user signs in, then the dummy verification does the work and answers false', async () => {
    expect(await dummyVerify('anything')).to.equal(false);
  });

  it('when passwords and tokens are generated, then they have the promised shape and do not repeat', () => {
    const passwords = new Set(Array.from({ length: 200 }, generatePassword));
    expect(passwords.size).to.equal(200);
    for (const pw of passwords) expect(pw).to.match(/^[A-Za-z0-9_-]{20}$/);
    const tokens = new Set(Array.from({ length: 200 }, generateApiToken));
    expect(tokens.size).to.equal(200);
    for (const t of tokens) expect(t).to.match(/^crt_[A-Za-z0-9_-]{43}$/);
    expect(sha256Hex('abc')).to.equal('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('when a queue list is parsed, then names are trimmed and deduplicated; empty lists and unsafe names are refused', () => {
    expect(parseQueueList(' sales, billing ,sales')).to.deep.equal(['sales', 'billing']);
    for (const text of ['', ' , ', 'sales,<script>', 'a\nb']) {
      let error: unknown;
      try {
        parseQueueList(text);
      } catch (e) {
        error = e;
      }
      expect(isAppError(error) && error.code === 'invalid_request', JSON.stringify(text)).to.equal(true);
    }
  });
});

describe('login failure limiter', function () {
  it('when a key fails up to the limit, then it is refused until the oldest counted failure leaves the window', () => {
    const clock = createManualClock(1_000_000);
    const limiter = createFailureLimiter({ clock, maxFailures: 3, windowMs: 60_000 });
    limiter.fail('alice');
    clock.advance(10_000);
    limiter.fail('alice');
    expect(limiter.retryAfterMs('alice')).to.equal(0);
    limiter.fail('alice');
    expect(limiter.retryAfterMs('alice')).to.equal(50_000);
    expect(limiter.retryAfterMs('bob')).to.equal(0);
    clock.advance(50_000);
    expect(limiter.retryAfterMs('alice')).to.equal(0);
  });

  it('when a key succeeds (reset), then its failures are forgotten', () => {
    const clock = createManualClock(0);
    const limiter = createFailureLimiter({ clock, maxFailures: 2, windowMs: 60_000 });
    limiter.fail('k');
    limiter.fail('k');
    expect(limiter.retryAfterMs('k')).to.be.greaterThan(0);
    limiter.reset('k');
    expect(limiter.retryAfterMs('k')).to.equal(0);
  });

  it('when the latest failure is forgiven, then only that one is taken back', () => {
    const clock = createManualClock(0);
    const limiter = createFailureLimiter({ clock, maxFailures: 2, windowMs: 60_000 });
    limiter.fail('k');
    limiter.fail('k');
    limiter.forgive('k');
    expect(limiter.retryAfterMs('k')).to.equal(0);
    limiter.fail('k');
    expect(limiter.retryAfterMs('k')).to.be.greaterThan(0);
    limiter.forgive('never-failed');
    expect(limiter.retryAfterMs('never-failed')).to.equal(0);
  });

  it('when more keys fail than it may remember, then the oldest keys are dropped and memory stays bounded', () => {
    const clock = createManualClock(0);
    const limiter = createFailureLimiter({ clock, maxFailures: 1, windowMs: 60_000, maxKeys: 3 });
    for (const key of ['a', 'b', 'c', 'd']) limiter.fail(key);
    expect(limiter.retryAfterMs('a')).to.equal(0);
    expect(limiter.retryAfterMs('d')).to.be.greaterThan(0);
    expect(limiter.retryAfterMs('b')).to.be.greaterThan(0);
  });
});

describe('login backoff limiter', function () {
  const backoff = (
    clock: ReturnType<typeof createManualClock>,
    overrides: Partial<Parameters<typeof createBackoffLimiter>[0]> = {},
  ) =>
    createBackoffLimiter({
      clock,
      freeFailures: 3,
      baseDelayMs: 1_000,
      maxDelayMs: 60_000,
      forgetAfterMs: 600_000,
      ...overrides,
    });

  it('when a key fails past its free failures, then each further failure doubles the wait after it, up to the cap', () => {
    const clock = createManualClock(1_000_000);
    const limiter = backoff(clock);
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfterMs('k'), `free failure ${i}`).to.equal(0);
      limiter.fail('k');
    }
    const waits: number[] = [];
    for (let i = 0; i < 9; i++) {
      const wait = limiter.retryAfterMs('k');
      waits.push(wait);
      clock.advance(wait - 1);
      expect(limiter.retryAfterMs('k'), 'one ms before the wait ends').to.equal(1);
      clock.advance(1);
      expect(limiter.retryAfterMs('k')).to.equal(0);
      limiter.fail('k');
    }
    expect(waits).to.deep.equal([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    expect(limiter.retryAfterMs('other')).to.equal(0);
  });

  it('when a key has not failed for forgetAfterMs, then it starts over with free failures; waiting out the cap is not enough', () => {
    const clock = createManualClock(0);
    const limiter = backoff(clock);
    for (let i = 0; i < 12; i++) limiter.fail('k');
    clock.advance(60_000);
    expect(limiter.retryAfterMs('k')).to.equal(0);
    limiter.fail('k');
    expect(limiter.retryAfterMs('k'), 'still counted after the capped wait').to.equal(60_000);
    clock.advance(600_000);
    limiter.fail('k');
    expect(limiter.retryAfterMs('k'), 'forgotten, then one free failure').to.equal(0);
  });

  it('when a key succeeds (reset) or its latest failure is forgiven, then the count goes back accordingly', () => {
    const clock = createManualClock(0);
    const limiter = backoff(clock);
    for (let i = 0; i < 3; i++) limiter.fail('k');
    expect(limiter.retryAfterMs('k')).to.equal(1_000);
    limiter.forgive('k');
    expect(limiter.retryAfterMs('k')).to.equal(0);
    limiter.fail('k');
    limiter.reset('k');
    expect(limiter.retryAfterMs('k')).to.equal(0);
    limiter.forgive('never-failed');
    expect(limiter.retryAfterMs('never-failed')).to.equal(0);
  });

  it('when more keys fail than it may remember, then the least recently failed are dropped', () => {
    const clock = createManualClock(0);
    const limiter = backoff(clock, { freeFailures: 1, maxKeys: 3 });
    for (const key of ['a', 'b', 'c', 'd']) limiter.fail(key);
    expect(limiter.retryAfterMs('a')).to.equal(0);
    expect(limiter.retryAfterMs('b')).to.be.greaterThan(0);
    expect(limiter.retryAfterMs('d')).to.be.greaterThan(0);
  });
});

import { expect } from 'chai';
import { ConfigError, DAY_MS, loadConfig, parseByteRate, parseDuration } from '../../src/config.js';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('when nothing is set, then the embedded default is SQLite and fs under ./storage with 30 days retention', () => {
    const config = loadConfig({});
    expect(config.db.client).to.equal('sqlite');
    expect(config.store.kind).to.equal('fs');
    expect(config.retention.ms).to.equal(30 * DAY_MS);
    expect(config.retention.tag).to.equal('30d');
    expect(config.port).to.equal(3000);
    expect(Object.isFrozen(config)).to.equal(true);
    expect(Object.isFrozen(config.ingest.sources)).to.equal(true);
  });

  it('when durations are given in s, m, h and d, then they parse to milliseconds', () => {
    expect(parseDuration('90s')).to.equal(90_000);
    expect(parseDuration('12h')).to.equal(12 * 3_600_000);
    expect(parseDuration('30d')).to.equal(30 * DAY_MS);
    expect(parseDuration('250ms')).to.equal(250);
    expect(parseDuration('0d')).to.equal(undefined);
    expect(parseDuration('30 days')).to.equal(undefined);
  });

  it('when upload rates are given in B, KiB or MiB per second (or bare bytes), then they parse to bytes per second', () => {
    expect(parseByteRate('32KiB/s')).to.equal(32 * 1024);
    expect(parseByteRate('1MiB/s')).to.equal(1024 ** 2);
    expect(parseByteRate('65536')).to.equal(65536);
    expect(parseByteRate('512B/s')).to.equal(512);
    expect(parseByteRate('0')).to.equal(0);
    for (const bad of ['fast', '32 KiB/s', '32kb/s', '-1', '1.5KiB/s'])
      expect(parseByteRate(bad), bad).to.equal(undefined);
    const config = loadConfig({
      CALLREC_UPLOAD_MIN_RATE: '64KiB/s',
      CALLREC_UPLOAD_RATE_GRACE: '30s',
      CALLREC_UNVERIFIED_UPLOADS_PER_SOURCE: '4',
      CALLREC_UNVERIFIED_UPLOADS_PER_ADDRESS: '2',
    });
    expect(config.ingest).to.include({
      minBytesPerSecond: 65536,
      rateGraceMs: 30_000,
      unverifiedPerSource: 4,
      unverifiedPerAddress: 2,
    });
    expect(() => loadConfig({ CALLREC_UPLOAD_MIN_RATE: 'fast' })).to.throw(/^CALLREC_UPLOAD_MIN_RATE expects a rate/);
    expect(() => loadConfig({ CALLREC_UNVERIFIED_UPLOADS_PER_ADDRESS: '0' })).to.throw(
      /^CALLREC_UNVERIFIED_UPLOADS_PER_ADDRESS /,
    );
  });

  it('when CALLREC_RETENTION is bogus, then the error is one line naming the variable and what it expects', () => {
    const error = configError({ CALLREC_RETENTION: 'forever' });
    expect(error.variable).to.equal('CALLREC_RETENTION');
    expect(error.message).to.match(/^CALLREC_RETENTION expects a duration such as 90s, 12h or 30d/);
    expect(error.message).not.to.contain('\n');
  });

  it('when a retention is not whole days, then the lifecycle tag rounds up to days', () => {
    expect(loadConfig({ CALLREC_RETENTION: '90s' }).retention.tag).to.equal('1d');
    expect(loadConfig({ CALLREC_RETENTION: '36h' }).retention.tag).to.equal('2d');
  });

  it('when ingest sources are given, then they parse into a map and weak secrets are refused', () => {
    const config = loadConfig({ CALLREC_INGEST_SOURCES: 'pbx1:0123456789abcdef0123, pbx-2:fedcba9876543210fedc' });
    expect(config.ingest.sources).to.deep.equal({ pbx1: '0123456789abcdef0123', 'pbx-2': 'fedcba9876543210fedc' });
    expect(configError({ CALLREC_INGEST_SOURCES: 'pbx1:short' }).variable).to.equal('CALLREC_INGEST_SOURCES');
    expect(configError({ CALLREC_INGEST_SOURCES: 'no-secret' }).variable).to.equal('CALLREC_INGEST_SOURCES');
  });

  it('when the store is s3 without a bucket, then CALLREC_S3_BUCKET is named', () => {
    expect(configError({ CALLREC_STORE: 's3' }).variable).to.equal('CALLREC_S3_BUCKET');
    expect(configError({ CALLREC_STORE: 'gcs' }).variable).to.equal('CALLREC_STORE');
  });

  it('when the database URL is postgres, then the pg client is chosen', () => {
    const config = loadConfig({ CALLREC_DB_URL: 'postgres://u:p@127.0.0.1:5432/callrec' });
    expect(config.db).to.deep.equal({ client: 'pg', url: 'postgres://u:p@127.0.0.1:5432/callrec' });
    expect(configError({ CALLREC_DB_URL: 'mysql://x' }).variable).to.equal('CALLREC_DB_URL');
  });

  it('when the port is not a number, then CALLREC_PORT is named', () => {
    expect(configError({ CALLREC_PORT: 'eighty' }).variable).to.equal('CALLREC_PORT');
    expect(configError({ CALLREC_PORT: '70000' }).variable).to.equal('CALLREC_PORT');
  });

  it('when CALLREC_TRUSTED_PROXIES lists addresses, CIDR ranges and range names, then they are kept in order; unset, none is trusted', () => {
    expect(loadConfig({}).trustedProxies).to.deep.equal([]);
    expect(
      loadConfig({ CALLREC_TRUSTED_PROXIES: ' loopback, 10.0.0.0/8,192.168.1.7 ,fd00::/8, ::1, uniquelocal,linklocal' })
        .trustedProxies,
    ).to.deep.equal(['loopback', '10.0.0.0/8', '192.168.1.7', 'fd00::/8', '::1', 'uniquelocal', 'linklocal']);
  });

  it('when CALLREC_TRUSTED_PROXIES holds something that is no address, range or range name, then the start fails naming the variable', () => {
    for (const bad of [
      'proxy.example.com',
      '10.0.0.0/33',
      'fd00::/129',
      '10.0.0.1/8/8',
      '10.0.0.0/',
      '300.1.1.1',
      'everyone',
      '10.0.0.0/255.0.0.0',
    ]) {
      const error = configError({ CALLREC_TRUSTED_PROXIES: bad });
      expect(error.variable, bad).to.equal('CALLREC_TRUSTED_PROXIES');
      expect(error.message, bad).to.match(/^CALLREC_TRUSTED_PROXIES expects IP addresses, CIDR ranges/);
    }
  });
});

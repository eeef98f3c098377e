/**
 * When a closed privacy request may be deleted (src/privacy/register-retention.ts) and how
 * CALLREC_PRIVACY_REQUEST_RETENTION is read: calendar years on the Amsterdam calendar, the
 * cutoff on `closed_at` agreeing with `purgeAfter` around month ends, a leap day and DST.
 */
import { expect } from 'chai';
import { loadConfig, parseRetentionPeriod } from '../../src/config.js';
import type { RetentionPeriod } from '../../src/config.js';
import { purgeAfter, purgeCutoff } from '../../src/privacy/register-retention.js';

const HOUR_MS = 3_600_000;

describe('privacy register retention period', function () {
  it('when the setting is unset, then closed requests are kept two calendar years', function () {
    expect(loadConfig({ CALLREC_DATA_DIR: '/tmp/x' }).privacy.requestRetention).to.deep.equal({ years: 2 });
  });

  it('when the setting is 3y or 30d, then it reads as years or an exact duration; 0y and 2 years are refused', function () {
    expect(parseRetentionPeriod('3y')).to.deep.equal({ years: 3 });
    expect(parseRetentionPeriod('30d')).to.deep.equal({ ms: 30 * 24 * HOUR_MS });
    expect(parseRetentionPeriod('0y')).to.equal(undefined);
    expect(parseRetentionPeriod('2 years')).to.equal(undefined);
    expect(() => loadConfig({ CALLREC_DATA_DIR: '/tmp/x', CALLREC_PRIVACY_REQUEST_RETENTION: 'soon' })).to.throw(
      /CALLREC_PRIVACY_REQUEST_RETENTION expects calendar years/,
    );
  });

  it('when a request was closed on 29 February, then it may go after the end of 28 February two years on', function () {
    const closed = Date.parse('2028-02-29T15:00:00+01:00');
    expect(new Date(purgeAfter({ years: 2 }, closed)).toISOString()).to.equal('2030-02-28T22:59:59.999Z');
  });

  it('when a request was closed at 00:30 Amsterdam summer time, then its local day counts, not the UTC one', function () {
    const closed = Date.parse('2027-07-01T00:30:00+02:00'); // 30 June 22:30 UTC
    expect(new Date(purgeAfter({ years: 1 }, closed)).toISOString()).to.equal('2028-07-01T21:59:59.999Z');
  });

  it('when the clock passes purgeAfter, then and only then the closed_at cutoff takes the request', function () {
    const periods: RetentionPeriod[] = [{ years: 2 }, { years: 1 }, { ms: 30 * 24 * HOUR_MS }];
    const closings = [
      '2028-02-29T12:00:00+01:00',
      '2028-02-28T23:59:00+01:00',
      '2028-03-01T00:00:00+01:00',
      '2027-03-28T01:30:00+01:00',
      '2027-10-31T02:30:00+01:00',
      '2027-12-31T23:59:59.999+01:00',
      '2027-01-31T00:00:00+01:00',
    ].map(Date.parse);
    for (const period of periods) {
      for (const closed of closings) {
        const after = purgeAfter(period, closed);
        for (const now of [after - HOUR_MS, after, after + 1, after + 25 * HOUR_MS]) {
          const due = closed < purgeCutoff(period, now);
          expect(
            due,
            `${JSON.stringify(period)} closed ${new Date(closed).toISOString()} at ${new Date(now).toISOString()}`,
          ).to.equal(now > after);
        }
      }
    }
  });
});

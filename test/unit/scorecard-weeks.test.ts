/**
 * ISO weeks in a time zone for scorecards (src/training/weeks.ts): labels at year boundaries and the
 * zone's offset pieces over a year with two daylight-saving changes, and the whole weeks of a period (those the
 * scorecard roll-up answers). Expected labels from `date +%G-W%V`.
 */
import { expect } from 'chai';
import { isoWeekLabel, weekIndexOf, wholeWeeks, zoneOffsetAt, zoneSegments } from '../../src/training/weeks.js';

const HOUR = 3_600_000;
const weekOf = (iso: string, zone = 'UTC') => {
  const ms = Date.parse(iso);
  return isoWeekLabel(weekIndexOf(ms, zoneOffsetAt(ms, zone)));
};

describe('scorecard weeks', () => {
  const cases: Array<[string, string]> = [
    ['2026-12-31T12:00:00Z', '2026-W53'],
    ['2027-01-03T12:00:00Z', '2026-W53'],
    ['2027-01-04T00:00:00Z', '2027-W01'],
    ['2021-01-01T12:00:00Z', '2020-W53'],
    ['2024-12-30T12:00:00Z', '2025-W01'],
    ['2026-11-30T12:00:00Z', '2026-W49'],
  ];
  for (const [instant, label] of cases) {
    it(`when the instant is ${instant} (UTC), then its ISO week is ${label}`, () => {
      expect(weekOf(instant)).to.equal(label);
    });
  }

  it('when an instant is Monday 00:30 in Amsterdam but still Sunday in UTC, then the Amsterdam week is the next one', () => {
    expect(weekOf('2026-11-22T23:30:00Z', 'Europe/Amsterdam')).to.equal('2026-W48');
    expect(weekOf('2026-11-22T23:30:00Z', 'UTC')).to.equal('2026-W47');
  });

  it('when a year of Amsterdam is cut into offset pieces, then the two summer-time changes are found to the second', () => {
    const segments = zoneSegments(
      'Europe/Amsterdam',
      Date.parse('2026-01-01T00:00:00Z'),
      Date.parse('2027-01-01T00:00:00Z'),
    );
    expect(segments).to.deep.equal([
      { until: Date.parse('2026-03-29T01:00:00Z'), offsetMs: HOUR },
      { until: Date.parse('2026-10-25T01:00:00Z'), offsetMs: 2 * HOUR },
      { until: null, offsetMs: HOUR },
    ]);
    expect(zoneSegments('UTC', 0, Date.parse('2027-01-01T00:00:00Z'))).to.deep.equal([{ until: null, offsetMs: 0 }]);
  });

  it('when a period starts a few milliseconds off a whole second, then the summer-time change is still found to the millisecond', () => {
    const from = Date.parse('2026-03-20T00:00:00.123Z');
    const segments = zoneSegments('Europe/Amsterdam', from, from + 14 * 24 * HOUR);
    expect(segments[0]).to.deep.equal({ until: Date.parse('2026-03-29T01:00:00Z'), offsetMs: HOUR });
  });

  it('when a period holds whole Amsterdam weeks, then they are those from its first Monday 00:00 to its last, summer-time change inside included', () => {
    const monday = Date.parse('2026-03-22T23:00:00Z'); // Monday 2026-03-23 00:00 CET
    const nextMonday = Date.parse('2026-03-29T22:00:00Z'); // Monday 2026-03-30 00:00 CEST
    const whole = wholeWeeks('Europe/Amsterdam', monday, nextMonday);
    expect(whole).to.include({ start: monday, end: nextMonday, toWeek: whole!.fromWeek + 1 });
    expect(isoWeekLabel(whole!.fromWeek)).to.equal('2026-W13');
    const inner = wholeWeeks('Europe/Amsterdam', monday + 1, nextMonday + 8 * 24 * HOUR);
    expect(inner).to.include({ start: nextMonday, end: nextMonday + 7 * 24 * HOUR });
    expect(wholeWeeks('Europe/Amsterdam', monday + 1, nextMonday)).to.equal(null);
    expect(wholeWeeks('UTC', Date.parse('2026-11-30T00:00:00Z'), Date.parse('2026-12-06T23:59:59Z'))).to.equal(null);
  });
});

import { expect } from 'chai';
import { addCalendarMonths, daysLeft, dueAtFor, localDateOf, requestState } from '../../src/privacy/deadline.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('privacy request deadline (Europe/Amsterdam calendar)', () => {
  it('when received on 31 January of a common year, then it is due at the end of 28 February (Amsterdam)', () => {
    expect(iso(dueAtFor({ receivedAt: at('2027-01-31T10:00:00+01:00') }))).to.equal('2027-02-28T22:59:59.999Z');
  });

  it('when received on 31 January of a leap year, then it is due at the end of 29 February', () => {
    expect(iso(dueAtFor({ receivedAt: at('2028-01-31T10:00:00+01:00') }))).to.equal('2028-02-29T22:59:59.999Z');
  });

  it('when received at 23:30 or 00:30 Amsterdam time, then the Amsterdam date of receipt counts, not the UTC one', () => {
    // 31 January 23:30 in Amsterdam is 22:30Z on 31 January: due 28 February.
    expect(iso(dueAtFor({ receivedAt: at('2027-01-31T22:30:00Z') }))).to.equal('2027-02-28T22:59:59.999Z');
    // 31 January 00:30 in Amsterdam is 30 January 23:30Z: the Amsterdam date (31st) counts, not the UTC one.
    expect(iso(dueAtFor({ receivedAt: at('2027-01-30T23:30:00Z') }))).to.equal('2027-02-28T22:59:59.999Z');
    // 30 January 23:30 in Amsterdam: 30 February does not exist, so 28 February.
    expect(iso(dueAtFor({ receivedAt: at('2027-01-30T22:30:00Z') }))).to.equal('2027-02-28T22:59:59.999Z');
  });

  it('when received on a 31st before a 30-day month, then the last day of that month is the due date', () => {
    expect(iso(dueAtFor({ receivedAt: at('2027-03-31T12:00:00+02:00') }))).to.equal('2027-04-30T21:59:59.999Z');
  });

  it('when received in December, then it is due in January of the next year', () => {
    expect(iso(dueAtFor({ receivedAt: at('2026-12-15T09:00:00+01:00') }))).to.equal('2027-01-15T22:59:59.999Z');
  });

  it('when the month spans the spring DST change, then the deadline is local 23:59:59.999 in summer time', () => {
    // Received in winter time (UTC+1), due in summer time (UTC+2): end of day is 21:59:59.999Z.
    expect(iso(dueAtFor({ receivedAt: at('2027-03-10T12:00:00+01:00') }))).to.equal('2027-04-10T21:59:59.999Z');
  });

  it('when the month spans the autumn DST change, then the deadline is local 23:59:59.999 in winter time', () => {
    expect(iso(dueAtFor({ receivedAt: at('2026-10-10T12:00:00+02:00') }))).to.equal('2026-11-10T22:59:59.999Z');
  });

  it('when due on the day the clocks change, then the 23- or 25-hour day ends at local midnight', () => {
    // 28 March 2027 (spring forward) and 31 October 2027 (fall back) are DST-change days in the EU.
    expect(iso(dueAtFor({ receivedAt: at('2027-02-28T12:00:00+01:00') }))).to.equal('2027-03-28T21:59:59.999Z');
    expect(iso(dueAtFor({ receivedAt: at('2027-09-30T12:00:00+02:00') }))).to.equal('2027-10-30T21:59:59.999Z');
    // 31 August + 1 + 1 month = 31 October 2027, the 25-hour day: it ends at 23:00Z.
    expect(iso(dueAtFor({ receivedAt: at('2027-08-31T12:00:00+02:00'), extensionMonths: 1 }))).to.equal(
      '2027-10-31T22:59:59.999Z',
    );
  });

  it('when received at the instant of the DST change, then the local date of receipt is that day', () => {
    expect(localDateOf(at('2027-03-28T01:00:00Z'))).to.deep.equal({ year: 2027, month: 3, day: 28 });
    expect(iso(dueAtFor({ receivedAt: at('2027-03-28T01:00:00Z') }))).to.equal('2027-04-28T21:59:59.999Z');
  });

  it('when extended, then the months count from receipt, so 31 January + 1 + 1 is 31 March and + 1 + 2 is 30 April', () => {
    const receivedAt = at('2027-01-31T10:00:00+01:00');
    expect(iso(dueAtFor({ receivedAt, extensionMonths: 1 }))).to.equal('2027-03-31T21:59:59.999Z');
    expect(iso(dueAtFor({ receivedAt, extensionMonths: 2 }))).to.equal('2027-04-30T21:59:59.999Z');
  });

  it('when extended by more than two months in all, then it throws (Art. 12(3) allows two)', () => {
    expect(() => dueAtFor({ receivedAt: 0, extensionMonths: 3 })).to.throw(RangeError);
    expect(() => dueAtFor({ receivedAt: 0, extensionMonths: -1 })).to.throw(RangeError);
  });

  it('when another time zone is given, then its calendar counts', () => {
    expect(iso(dueAtFor({ receivedAt: at('2027-01-31T10:00:00Z'), timeZone: 'UTC' }))).to.equal(
      '2027-02-28T23:59:59.999Z',
    );
  });

  it('when months are added to a calendar date, then the day is clamped to the month and the year rolls over', () => {
    expect(addCalendarMonths({ year: 2027, month: 11, day: 30 }, 3)).to.deep.equal({ year: 2028, month: 2, day: 29 });
    expect(addCalendarMonths({ year: 2027, month: 12, day: 31 }, 1)).to.deep.equal({ year: 2028, month: 1, day: 31 });
  });
});

describe('privacy request state and days left', () => {
  const dueAt = at('2027-02-28T22:59:59.999Z');

  it('when closed, then it is closed whatever the clock says', () => {
    expect(requestState({ dueAt, closedAt: dueAt - 1, now: dueAt + 10 })).to.equal('closed');
  });

  it('when the clock passes dueAt by one millisecond, then it turns from due_soon to overdue', () => {
    expect(requestState({ dueAt, closedAt: null, now: dueAt })).to.equal('due_soon');
    expect(requestState({ dueAt, closedAt: null, now: dueAt + 1 })).to.equal('overdue');
  });

  it('when due in exactly seven days, then it is due_soon; a millisecond earlier, open', () => {
    const week = 7 * 86_400_000;
    expect(requestState({ dueAt, closedAt: null, now: dueAt - week })).to.equal('due_soon');
    expect(requestState({ dueAt, closedAt: null, now: dueAt - week - 1 })).to.equal('open');
  });

  it('when counting days left, then local calendar days count: 0 on the due day, -1 the day after', () => {
    expect(daysLeft({ dueAt, now: at('2027-02-28T08:00:00+01:00') })).to.equal(0);
    expect(daysLeft({ dueAt, now: at('2027-02-27T23:30:00+01:00') })).to.equal(1);
    expect(daysLeft({ dueAt, now: at('2027-03-01T00:10:00+01:00') })).to.equal(-1);
    expect(daysLeft({ dueAt, now: at('2027-01-31T10:00:00+01:00') })).to.equal(28);
  });
});

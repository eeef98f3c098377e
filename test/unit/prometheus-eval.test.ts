/**
 * The small Prometheus stand-in the alert tests use (test/support/prometheus.ts): it must
 * compute what Prometheus would for the subset it accepts, and refuse everything else
 * rather than guess, so that a rule edited into something it cannot check fails its test.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { alertState, evaluate, parseExposition, parsePromQL, readAlertRules } from '../support/prometheus.js';
import type { Sample, Scrape } from '../support/prometheus.js';

const T0 = Date.UTC(2026, 5, 1);
const MINUTE = 60_000;

function sample(name: string, value: number, labels: Record<string, string> = {}): Sample {
  return { name, labels, value };
}

/** A counter scraped every minute with the given values, plus a gauge. */
function scrapesOf(counter: number[], labels: Record<string, string> = {}): Scrape[] {
  return counter.map((value, i) => ({
    at: T0 + i * MINUTE,
    samples: [sample('jobs_total', value, labels), sample('queue', 10 * i)],
  }));
}

describe('prometheus stand-in', () => {
  describe('exposition', () => {
    it('when a scrape has labels with escapes and special values, then they are read as Prometheus writes them', () => {
      const { families, samples } = parseExposition(
        [
          '# HELP x_total help',
          '# TYPE x_total counter',
          'x_total{a="q\\"uote",b="back\\\\slash"} 3',
          'h_bucket{le="+Inf"} 2',
          'g NaN',
          'g2 +Inf',
          '',
        ].join('\n'),
      );
      expect([...families]).to.deep.equal(['x_total']);
      expect(samples[0]).to.deep.equal({ name: 'x_total', labels: { a: 'q"uote', b: 'back\\slash' }, value: 3 });
      expect(samples[1]!.labels.le).to.equal('+Inf');
      expect(Number.isNaN(samples[2]!.value)).to.equal(true);
      expect(samples[3]!.value).to.equal(Number.POSITIVE_INFINITY);
    });
  });

  describe('PromQL', () => {
    it('when a counter rises by 6 over 60 s, then rate is 0.1/s and increase is 6', () => {
      const scrapes = scrapesOf([0, 6]);
      expect(evaluate('rate(jobs_total[5m])', scrapes)).to.deep.equal({
        kind: 'vector',
        samples: [{ labels: {}, value: 0.1 }],
      });
      expect(evaluate('increase(jobs_total[5m])', scrapes)).to.deep.equal({
        kind: 'vector',
        samples: [{ labels: {}, value: 6 }],
      });
    });

    it('when a counter resets, then the rate counts from zero again instead of going negative', () => {
      expect(evaluate('increase(jobs_total[10m])', scrapesOf([5, 8, 2]))).to.deep.equal({
        kind: 'vector',
        samples: [{ labels: {}, value: 5 }],
      });
    });

    it('when the range holds fewer than two points, then rate gives nothing (so "> 0" does not fire)', () => {
      const scrapes = scrapesOf([0, 0, 0, 7]);
      expect(evaluate('sum(rate(jobs_total[1m])) > 0', scrapes)).to.deep.equal({ kind: 'vector', samples: [] });
      expect(evaluate('sum(rate(jobs_total[2m])) > 0', scrapes).kind).to.equal('vector');
      expect((evaluate('sum(rate(jobs_total[2m])) > 0', scrapes) as { samples: unknown[] }).samples).to.have.length(1);
    });

    it('when label matchers are given, then =, !=, =~ and !~ select as Prometheus does (anchored regexes)', () => {
      const scrapes: Scrape[] = [
        {
          at: T0,
          samples: [
            sample('c', 1, { kind: 'run' }),
            sample('c', 2, { kind: 'deletion' }),
            sample('c', 4, { kind: 'running' }),
          ],
        },
      ];
      const total = (expr: string) =>
        (evaluate(`sum(${expr})`, scrapes) as { samples: Array<{ value: number }> }).samples[0]?.value;
      expect(total('c{kind="run"}')).to.equal(1);
      expect(total('c{kind!="run"}')).to.equal(6);
      expect(total('c{kind=~"run|deletion"}')).to.equal(3);
      expect(total('c{kind!~"run.*"}')).to.equal(2);
      expect(total('c{kind="absent"}')).to.equal(undefined);
    });

    it('when comparing, then a vector is filtered and keeps its values; time() is the evaluation time in seconds', () => {
      const scrapes: Scrape[] = [{ at: T0, samples: [sample('last_ok', T0 / 1000 - 1000)] }];
      expect(evaluate('time() - max(last_ok) > 900', scrapes)).to.deep.equal({
        kind: 'vector',
        samples: [{ labels: {}, value: 1000 }],
      });
      expect(evaluate('time() - max(last_ok) > 1000', scrapes)).to.deep.equal({ kind: 'vector', samples: [] });
      expect(evaluate('max(last_ok) >= 0', scrapes, T0)).to.have.nested.property('samples[0].value', T0 / 1000 - 1000);
    });

    it('when two aggregated vectors are divided, then they match on their (empty) labels', () => {
      const scrapes: Scrape[] = [0, 1].map((i) => ({
        at: T0 + i * MINUTE,
        samples: [
          sample('req_total', 100 * i, { outcome: 'ok' }),
          sample('req_total', 10 * i, { outcome: 'overloaded' }),
        ],
      }));
      const ratio = evaluate('sum(rate(req_total{outcome="overloaded"}[10m])) / sum(rate(req_total[10m]))', scrapes);
      expect(ratio)
        .to.have.nested.property('samples[0].value')
        .closeTo(10 / 110, 1e-12);
    });

    it('when a series is five minutes old, then an instant selector no longer sees it (left-open window, as Prometheus 3)', () => {
      const scrapes: Scrape[] = [{ at: T0, samples: [sample('queue', 3)] }];
      expect(evaluate('max(queue)', scrapes, T0 + 5 * MINUTE - 1)).to.have.nested.property('samples[0].value', 3);
      expect(evaluate('max(queue)', scrapes, T0 + 5 * MINUTE)).to.deep.equal({ kind: 'vector', samples: [] });
    });

    for (const expr of [
      'sum by (kind) (jobs_total)',
      'sum(jobs_total) by (kind)',
      'sum without (kind) (jobs_total)',
      'jobs_total offset 5m',
      'jobs_total > bool 0',
      'jobs_total and queue',
      'a / on(kind) b',
      'histogram_quantile(0.9, rate(x_bucket[5m]))',
      'rate(jobs_total[5m:1m])',
      'rate(jobs_total)',
      'jobs_total ^ 2',
      'topk(3, jobs_total)',
      '{kind="run"}',
      'jobs_total[5m] > 0',
      '1 > 0',
    ]) {
      it(`when given unsupported syntax (${expr}), then it refuses instead of guessing`, () => {
        expect(() => evaluate(expr, scrapesOf([0, 1]))).to.throw(/unsupported PromQL/);
      });
    }

    it('when a rule holds for less than its `for`, then it is pending; for longer, firing; once false, inactive', () => {
      const rule = { expr: 'max(queue) > 15', forMs: 2 * MINUTE };
      const scrapes = scrapesOf([0, 0, 0, 0, 0]); // queue: 0, 10, 20, 30, 40
      expect(alertState(rule, scrapes.slice(0, 3)).state).to.equal('pending');
      expect(alertState(rule, scrapes.slice(0, 4)).state).to.equal('pending');
      expect(alertState(rule, scrapes).state).to.equal('firing');
      expect(alertState(rule, scrapes)).to.have.deep.property('values', [40]);
      const dropped = [...scrapes, { at: T0 + 5 * MINUTE, samples: [sample('queue', 1)] }];
      expect(alertState(rule, dropped)).to.deep.equal({ state: 'inactive', values: [] });
    });
  });

  describe('the rules file', () => {
    it('when deploy/prometheus-alerts.yml is read, then every alert has an expression the evaluator accepts', () => {
      const rules = readAlertRules(
        fs.readFileSync(path.resolve(import.meta.dirname, '../../deploy/prometheus-alerts.yml'), 'utf8'),
      );
      expect(rules.length).to.be.greaterThan(3);
      for (const rule of rules) expect(() => parsePromQL(rule.expr), rule.alert).not.to.throw();
    });
  });
});

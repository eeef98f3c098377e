import { expect } from 'chai';
import { formatNumber, ratioTarget, renderProgress, renderRatioChart, renderTable, targetBound } from '../../bench/report.js';
import type { BenchFigure } from '../../bench/report.js';

const figure = (overrides: Partial<BenchFigure> = {}): BenchFigure => ({
  bench: 'ingest',
  name: 'ingest (fs, c=1)',
  value: 1.2,
  unit: 's',
  baseline: { name: 'ffmpeg alone + put', value: 1 },
  ratio: 1.2,
  target: '≤ 1.15×',
  met: false,
  ...overrides,
});

describe('bench report', function () {
  it('when figures and a failure are tabulated, then each row shows value, baseline, ratio, target and verdict', function () {
    const table = renderTable([figure(), figure({ bench: 'playback', name: 'ranged read', met: true, ratio: 1.05, note: 'warm | cache' })], [{ bench: 'retention', error: 'db gone' }]);
    const rows = table.split('\n').filter((l) => l.startsWith('| '));
    expect(rows).to.have.length(4);
    expect(rows[1]).to.equal('| ingest | ingest (fs, c=1) | 1.20 s | ffmpeg alone + put | 1.00 s | 1.20× | ≤ 1.15× | **no** |');
    expect(rows[2]).to.contain('| 1.05× | ≤ 1.15× | yes |');
    expect(rows[3]).to.equal('| retention | FAILED: db gone | — | — | — | — | — | **no** |');
    expect(table).to.contain('- playback · ranged read: warm | cache');
  });

  it('when targets are written in different styles, then their bound is parsed', function () {
    expect(targetBound('≤ 1.15×')).to.deep.equal({ op: '<=', value: 1.15 });
    expect(targetBound('>= 0.9x of raw')).to.deep.equal({ op: '>=', value: 0.9 });
    expect(targetBound('as fast as possible')).to.equal(undefined);
    expect(targetBound(undefined)).to.equal(undefined);
  });

  it('when a target constrains the value rather than the ratio, then it is not read as a ratio bound', function () {
    expect(ratioTarget(figure())).to.deep.equal({ op: '<=', value: 1.15 });
    expect(ratioTarget(figure({ value: 550, ratio: 7.3, target: '≥ 400× at ≤ 24 kbit/s', met: true }))).to.equal(undefined);
    expect(ratioTarget(figure({ value: 120, ratio: 3, target: '≤ 150 MB', met: true }))).to.equal(undefined);
    expect(ratioTarget(figure({ value: 2, ratio: 0.8, target: '≥ 0.5×', met: true }))).to.deep.equal({ op: '>=', value: 0.5 });
    const svg = renderRatioChart([figure({ value: 550, ratio: 7.3, target: '≥ 400× at ≤ 24 kbit/s', met: true })]);
    expect(svg).not.to.contain('stroke-width="2"');
    expect(svg).not.to.contain('>400×<');
  });

  it('when the ratio chart is drawn, then each ratio is a bar coloured by its verdict, labels are escaped, figures without ratio are left out', function () {
    const svg = renderRatioChart([figure(), figure({ name: 'a <b> & c', met: true, ratio: 0.8 }), figure({ name: 'no ratio', ratio: undefined })]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).to.equal(true);
    expect(svg.match(/<rect x="\d+/g)).to.have.length(2);
    expect(svg).to.contain('fill="#c0392b"');
    expect(svg).to.contain('fill="#2e8b57"');
    expect(svg).to.contain('a &lt;b&gt; &amp; c');
    expect(svg).not.to.contain('no ratio');
    expect(svg.trim().endsWith('</svg>')).to.equal(true);
  });

  it('when progress is drawn, then it shows the bench position, a bar, the percentage and fits the width', function () {
    const line = renderProgress({ index: 2, total: 3, bench: 'ingest', message: 'uploading', fraction: 0.5, elapsedMs: 12_400 });
    expect(line).to.equal('[2/3 ingest] [############............]  50%  uploading  (12s)');
    expect(renderProgress({ index: 1, total: 1, bench: 'x', message: 'y'.repeat(300), elapsedMs: 0, width: 60 })).to.have.length(60);
    expect(formatNumber(1234.5)).to.equal('1235');
    expect(formatNumber(0.012345)).to.equal('0.0123');
  });
});

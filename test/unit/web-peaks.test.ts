/**
 * The player's peak helpers (src/web/peaks.js): silent stretches for "skip silence", where a
 * skip lands, the ruler's tick step; and the waveform colours' contrast against its background.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';

const WEB = path.resolve(import.meta.dirname, '..', '..', 'src', 'web');
type Stretch = { startMs: number; endMs: number };
const peaksModule = (await import(pathToFileURL(path.join(WEB, 'peaks.js')).href)) as {
  silentStretches: (peaks: number[][], durationMs: number, o?: { threshold?: number; minMs?: number }) => Stretch[];
  skipTarget: (stretches: Stretch[], ms: number) => number;
  rulerStep: (durationS: number, maxTicks?: number) => number;
};

/** `seconds` of peaks at 10 per second: `loud` seconds get 0.8, others 0.001. */
function channel(seconds: number, loud: (s: number) => boolean): number[] {
  return Array.from({ length: seconds * 10 }, (_, i) => (loud(Math.floor(i / 10)) ? 0.8 : 0.001));
}

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}
const contrast = (a: string, b: string) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
};

describe('the player’s peak helpers', () => {
  it('when both channels are quiet for 3 s, then that stretch is silent; a quiet stretch on one channel only is not', () => {
    const agent = channel(10, (s) => s < 2 || s >= 5);
    const customer = channel(10, (s) => s < 2 || (s >= 5 && s < 7) || s >= 8);
    expect(peaksModule.silentStretches([agent, customer], 10_000)).to.deep.equal([{ startMs: 2000, endMs: 5000 }]);
  });

  it('when a quiet stretch is shorter than the minimum, or the call has no peaks, then nothing is skipped', () => {
    const short = channel(10, (s) => s !== 4);
    expect(peaksModule.silentStretches([short], 10_000)).to.deep.equal([]);
    expect(peaksModule.silentStretches([], 10_000)).to.deep.equal([]);
    expect(peaksModule.silentStretches([[0, 0, 0]], 10_000)).to.deep.equal([]);
  });

  it('when playback is inside a silent stretch, then it jumps to just before its end; elsewhere it stays', () => {
    const stretches = [{ startMs: 2000, endMs: 5000 }];
    expect(peaksModule.skipTarget(stretches, 2100)).to.equal(4750);
    expect(peaksModule.skipTarget(stretches, 1000)).to.equal(1000);
    expect(peaksModule.skipTarget(stretches, 4900)).to.equal(4900);
  });

  it('when the ruler is laid out, then a 8-second call ticks every second and a 3-hour call every 30 minutes', () => {
    expect(peaksModule.rulerStep(8)).to.equal(1);
    expect(peaksModule.rulerStep(95)).to.equal(10);
    expect(peaksModule.rulerStep(3 * 3600)).to.equal(1800);
  });

  it('when the waveform colours are read from the player, then each reaches 3:1 against the waveform background', () => {
    const player = fs.readFileSync(path.join(WEB, 'player.js'), 'utf8');
    const block = player.slice(
      player.indexOf('const COLORS = {'),
      player.indexOf('};', player.indexOf('const COLORS')),
    );
    const colours = block.match(/#[0-9a-f]{6}/gi) ?? [];
    expect(colours.length).to.equal(6);
    const css = fs.readFileSync(path.join(WEB, 'app.css'), 'utf8');
    const background = /\.waveform \{[^}]*background: (#[0-9a-f]{6})/i.exec(css)![1]!;
    for (const c of colours) expect(contrast(c, background), c).to.be.at.least(3);
  });
});

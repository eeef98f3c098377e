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
  nextZoomWidth: (durationMs: number, widthMs: number | null, direction: 1 | -1) => number | null;
  zoomWindow: (durationMs: number, widthMs: number, centreMs: number) => { fromMs: number; toMs: number };
  peaksPerColumn: (peaks: number[], columns: number) => number[];
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

  it('when a 3-hour call is zoomed in step by step, then the window narrows to one hour … one minute … ten seconds and back out to the whole call', () => {
    const hours3 = 3 * 3_600_000;
    const widths: (number | null)[] = [null];
    for (let i = 0; i < 9; i++) widths.push(peaksModule.nextZoomWidth(hours3, widths.at(-1)!, 1));
    expect(widths).to.deep.equal([
      null,
      3_600_000,
      1_800_000,
      600_000,
      300_000,
      120_000,
      60_000,
      30_000,
      10_000,
      10_000,
    ]);
    let back: number | null = 10_000;
    for (let i = 0; i < 8; i++) back = peaksModule.nextZoomWidth(hours3, back, -1);
    expect(back).to.equal(null);
    // A 45-second call zooms to 30 s and 10 s only; out of 30 s is the whole call again.
    expect(peaksModule.nextZoomWidth(45_000, null, 1)).to.equal(30_000);
    expect(peaksModule.nextZoomWidth(45_000, 30_000, -1)).to.equal(null);
    expect(peaksModule.nextZoomWidth(8_000, null, 1)).to.equal(null);
  });

  it('when a window is centred near either end, then it is moved inside the call', () => {
    expect(peaksModule.zoomWindow(600_000, 60_000, 300_000)).to.deep.equal({ fromMs: 270_000, toMs: 330_000 });
    expect(peaksModule.zoomWindow(600_000, 60_000, 10_000)).to.deep.equal({ fromMs: 0, toMs: 60_000 });
    expect(peaksModule.zoomWindow(600_000, 60_000, 599_000)).to.deep.equal({ fromMs: 540_000, toMs: 600_000 });
  });

  it('when there are more peaks than pixel columns, then each column draws the largest of its peaks', () => {
    expect(peaksModule.peaksPerColumn([0.1, 0.9, 0.2, -0.4, 0.3, 0.05], 3)).to.deep.equal([0.9, 0.4, 0.3]);
    expect(peaksModule.peaksPerColumn([0.5, 0.7], 4)).to.deep.equal([0.5, 0.5, 0.7, 0.7]);
  });
});

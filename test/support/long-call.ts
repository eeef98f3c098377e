/**
 * A long call made cheaply: one minute of stereo Ogg Opus (the rendition's encoder settings) that is
 * silent but for a 440 Hz tone on the left channel from 10 s to 12 s and a 660 Hz tone on the right
 * from 40 s to 41 s, looped `minutes` times by remuxing (no re-encoding): 3 hours take well under
 * a second and about 8 MB.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './backends.js';

const run = promisify(execFile);

/** Where the tones of every minute lie (ms from the minute's start), per channel. */
export const LONG_CALL_TONES = { left: { fromMs: 10_000, toMs: 12_000 }, right: { fromMs: 40_000, toMs: 41_000 } };

/** The bytes of a `minutes`-long stereo Ogg Opus call (see the module comment). */
export async function longToneCall(options: { minutes: number }): Promise<Buffer> {
  const dir = tempDir('callrec-long-call-');
  try {
    const minute = path.join(dir, 'minute.ogg');
    const long = path.join(dir, 'long.ogg');
    const tone = (hz: number, span: { fromMs: number; toMs: number }) =>
      `if(between(mod(t\\,60)\\,${span.fromMs / 1000}\\,${span.toMs / 1000})\\,0.8*sin(2*PI*${hz}*t)\\,0)`;
    const exprs = `${tone(440, LONG_CALL_TONES.left)}|${tone(660, LONG_CALL_TONES.right)}`;
    const quiet = ['-hide_banner', '-loglevel', 'error', '-y'];
    await run('ffmpeg', [
      ...quiet,
      ...['-f', 'lavfi', '-i', `aevalsrc=exprs='${exprs}':s=8000:d=60`],
      ...['-c:a', 'libopus', '-application', 'voip', '-b:a', '80k', '-compression_level', '0'],
      ...['-frame_duration', '60', '-f', 'ogg', minute],
    ]);
    await run('ffmpeg', [...quiet, '-stream_loop', String(options.minutes - 1), '-i', minute, '-c', 'copy', long]);
    return await fs.promises.readFile(long);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

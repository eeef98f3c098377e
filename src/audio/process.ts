/**
 * Supervision of ffmpeg/ffprobe runs: every run has a hard timeout after which
 * the process is SIGKILLed, and an aborted signal SIGKILLs it too. A killed
 * run rejects with AudioTimeoutError or the abort reason; nothing keeps running.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import type { FfmpegCommand } from 'fluent-ffmpeg';
import { AudioTimeoutError, abortReason, outputFailure } from './errors.js';

export interface RunLimits {
  /** Hard limit of the run; the process is SIGKILLed when it passes. */
  timeoutMs: number;
  /** Aborting kills the process. */
  signal?: AbortSignal;
}

/** Runs a command to completion, collecting stdout (bounded) and the tail of stderr. */
export function runCollect(
  command: string,
  args: string[],
  limits: RunLimits & { maxStdoutBytes?: number },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const maxStdout = limits.maxStdoutBytes ?? 1024 * 1024;
  return new Promise((resolve, reject) => {
    if (limits.signal?.aborted) return reject(abortReason(limits.signal));
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let failure: Error | undefined;
    const kill = (error: Error) => {
      failure ??= error;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill(new AudioTimeoutError(limits.timeoutMs)), limits.timeoutMs);
    const onAbort = () => kill(abortReason(limits.signal!));
    limits.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.length > maxStdout) kill(new Error(`${command} wrote more than ${maxStdout} bytes`));
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4096);
    });
    child.on('error', (error) => kill(error));
    child.on('close', (code) => {
      clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onAbort);
      if (failure) reject(failure);
      else resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs a fluent-ffmpeg command under the limits. Resolves when ffmpeg exits
 * successfully; rejects with AudioTimeoutError, the abort reason, AudioOutputError
 * when stderr says the output could not be written (also on exit 0), or ffmpeg's
 * error (its stderr tail in `stderr`).
 */
export function runFfmpeg(command: FfmpegCommand, limits: RunLimits): Promise<void> {
  return new Promise((resolve, reject) => {
    if (limits.signal?.aborted) return reject(abortReason(limits.signal));
    let failure: Error | undefined;
    let settled = false;
    const done = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    const kill = (error: Error) => {
      failure ??= error;
      command.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill(new AudioTimeoutError(limits.timeoutMs)), limits.timeoutMs);
    const onAbort = () => kill(abortReason(limits.signal!));
    limits.signal?.addEventListener('abort', onAbort, { once: true });
    command.on('error', (error: Error, _stdout: string | null, stderr: string | null) => {
      done(failure ?? outputFailure(stderr) ?? Object.assign(error, { stderr: stderr?.slice(-2048) }));
    });
    // ffmpeg exits 0 when it could not write its output (a full disk): only stderr tells.
    command.on('end', (_stdout: string | null, stderr: string | null) => done(failure ?? outputFailure(stderr)));
    command.run();
  });
}

/**
 * Adds `sink` as the command's stdout output and runs it under the limits; resolves once
 * ffmpeg exited successfully AND its stdout has been fully delivered to the sink.
 *
 * fluent-ffmpeg ends a piped output stream when stdout ends, and if the process has not
 * reported its exit within 20 ms of the stream's close it reports "Output stream closed"
 * and kills it: on a loaded machine that fails good runs. So the sink is piped with
 * `end: false` (it never closes, fluent never races) and stdout's own end is awaited here.
 */
export async function runFfmpegToSink(
  command: FfmpegCommand,
  options: RunLimits & { sink: Writable; outputOptions: string[] },
): Promise<void> {
  const { sink, outputOptions, ...limits } = options;
  let stdoutDone: Promise<void> = Promise.resolve();
  command.output(sink, { end: false }).outputOptions(outputOptions);
  command.once('start', () => {
    const proc = (command as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
    const stdout = proc?.stdout;
    if (!stdout) return;
    stdoutDone = new Promise<void>((resolve) => {
      stdout.once('end', resolve);
      stdout.once('close', resolve);
    });
  });
  await runFfmpeg(command, limits);
  await stdoutDone;
}

/**
 * Typed failures of the audio functions. `AudioDecodeError` means the input
 * is not audio ffmpeg can read (or holds no samples); `AudioTimeoutError`
 * means a run hit its hard limit and was killed; `AudioOutputError` means the
 * output could not be written (code `ENOSPC`: a full disk); an aborted signal rejects
 * with the signal's reason (an AbortError).
 */
export class AudioDecodeError extends Error {
  override readonly name = 'AudioDecodeError';
}

/** The bytes cannot be the headerless format the upload declared (a container file, a partial frame, no GSM frames). */
export class AudioFormatMismatchError extends Error {
  override readonly name = 'AudioFormatMismatchError';
}

/** What ffmpeg prints when it cannot write its output (it still exits 0 for these). */
const OUTPUT_FAILURE = /No space left on device|Disk quota exceeded|Error writing trailer|Error closing file/i;
const NO_SPACE = /No space left on device|Disk quota exceeded/i;

/**
 * ffmpeg could not write its output: not the input's fault. ffmpeg exits 0 when a write
 * fails (a full disk leaves an empty or truncated file), so its stderr is the only sign.
 * `code` is `ENOSPC` when the disk was full, like the fs error it stands for.
 */
export class AudioOutputError extends Error {
  override readonly name = 'AudioOutputError';
  readonly code: 'ENOSPC' | undefined;
  readonly stderr: string;
  constructor(stderr: string) {
    const noSpace = NO_SPACE.test(stderr);
    super(noSpace ? 'ffmpeg could not write its output: no space left on device' : 'ffmpeg could not write its output');
    this.code = noSpace ? 'ENOSPC' : undefined;
    this.stderr = stderr.slice(-2048);
  }
}

/** The AudioOutputError a run's stderr shows, if it shows one. */
export function outputFailure(stderr: string | null | undefined): AudioOutputError | undefined {
  return stderr && OUTPUT_FAILURE.test(stderr) ? new AudioOutputError(stderr) : undefined;
}

export class AudioTimeoutError extends Error {
  override readonly name = 'AudioTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`ffmpeg run killed after ${timeoutMs} ms`);
  }
}

export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted', 'AbortError');
}

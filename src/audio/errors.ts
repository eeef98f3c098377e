/**
 * Typed failures of the audio functions. `AudioDecodeError` means the input
 * is not audio ffmpeg can read (or holds no samples); `AudioTimeoutError`
 * means a run hit its hard limit and was killed; an aborted signal rejects
 * with the signal's reason (an AbortError).
 */
export class AudioDecodeError extends Error {
  override readonly name = 'AudioDecodeError';
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

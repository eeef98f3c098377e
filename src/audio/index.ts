/** The audio toolbox: ffprobe/ffmpeg behind small functions, each under a hard timeout. */
export { AudioDecodeError, AudioFormatMismatchError, AudioOutputError, AudioTimeoutError } from './errors.js';
export { identifyAudio, plausibleDurationMs, probeAudio } from './probe.js';
export { parseWavHeader, readWavHeader } from './wav-header.js';
export { wavPeakReader, wavPeakTap } from './wav-peaks.js';
export type { AudioProbe } from './probe.js';
export type { RunLimits } from './process.js';
export { PLAYBACK_RENDITIONS, encoderOptions, transcodeForPlayback } from './transcode.js';
export type { PlaybackFormat, TranscodeResult } from './transcode.js';
export { MAX_PEAKS, WAVEFORM_VERSION, computePeaks, createPeakReducer } from './waveform.js';
export type { Waveform } from './waveform.js';
export {
  RAW_FORMAT_NAMES,
  isRawFormatName,
  looksLikeContainer,
  probeRawAudio,
  rawOriginalType,
  sameRawFormat,
} from './raw-formats.js';
export type { RawFormatName } from './raw-formats.js';

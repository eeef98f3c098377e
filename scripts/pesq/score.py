"""PESQ of a degraded WAV against its reference, per channel (ITU-T P.862 narrowband, P.862.2 wideband).

    python score.py REFERENCE.wav DEGRADED.wav nb|wb    ->  [4.31, 4.28]   (JSON, one score per channel)

Both files: 16-bit PCM WAV, the same rate (8000 for nb, 16000 for wb) and channel count; the
longer one is cut to the shorter (a codec's padding). Used by test/unit/rendition-quality.test.ts.
"""
import json
import sys
import wave

import numpy as np
from pesq import pesq


def read(path):
    with wave.open(path) as w:
        if w.getsampwidth() != 2:
            raise SystemExit(f"{path}: expects 16-bit PCM")
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32)
        return w.getframerate(), frames.reshape(-1, w.getnchannels())


def main():
    reference, degraded, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    rate, ref = read(reference)
    rate2, deg = read(degraded)
    if rate != rate2 or ref.shape[1] != deg.shape[1]:
        raise SystemExit("reference and degraded differ in rate or channels")
    n = min(len(ref), len(deg))
    print(json.dumps([round(float(pesq(rate, ref[:n, c], deg[:n, c], mode)), 3) for c in range(ref.shape[1])]))


main()

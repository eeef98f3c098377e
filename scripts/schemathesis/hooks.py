"""schemathesis hooks for callrec (loaded with SCHEMATHESIS_HOOKS=hooks, PYTHONPATH=this folder).

What they do for every generated request (credentials go through a schemathesis auth
provider, so that its `ignored_auth` check can strip them and expect a 401):

* Credentials. Operations with `x-callrec-roles` get a credential chosen round-robin:
  three times out of four a role the operation allows, otherwise a role it refuses
  (403 expected); one allowed call in five uses that role's session cookie (with a
  same-origin `Origin`) instead of its bearer token. Tokens and cookies come from
  CALLREC_ST_CREDENTIALS = {"trainer": {"token": ..., "cookie": ...}, ...}.
* The signed upload hook (`x-callrec-signed-hook`). The multipart body is encoded
  here (text fields first, the `audio` part last, as telephony sends it), signed, and
  sent as the raw body by `before_call`:
  X-Callrec-Signature = v1=HMAC-SHA256(secret, "<timestamp>.<sha256 hex of body>").
* Positive (schema-valid) cases meet the rules no schema can state, so that the
  `positive_data_acceptance` check judges only what the document does say:
  - an upload carries a real recording (CALLREC_ST_AUDIO) instead of the generated
    bytes (decodable audio), and its generated `startedAt` keeps its time and zone but
    moves to three days ago (not in the future, retention not elapsed: clock rules), and
    an `endedAt` becomes an hour ago (after that start, not in the future); `pauses` (JSON
    text) becomes one span within the audio, and `audioFormat` is dropped (the audio is a WAV);
  - a note gets its generated `offsetMs` folded into the duration of that audio
    (CALLREC_ST_AUDIO_DURATION_MS), which every recording of the run has (a rule of
    the stored recording; on an unknown id the answer is 404 anyway);
  - a redaction gets its generated `startMs` and `endMs` folded into that duration, the
    end after the start (both rules of the stored recording and of each other).
  Negative cases are sent as generated.
* The custom format `phone` (the document's name for "valid for its region, E.164 or
  national in CALLREC_PHONE_REGION"): valid Dutch and foreign numbers in the ways people
  write them. None is the seeded recordings' number (+31301234567, nor is any example of
  the document), so that a subject erasure does not take away the recordings the other
  operations are given.
* Recording ids (`before_call`). Half of the `{id}` path parameters are replaced by ids of recordings
  the test created (CALLREC_ST_RECORDING_IDS; for the erasure of one recording, which is final,
  CALLREC_ST_ERASABLE_IDS), so that detail, audio, waveform, notes, hold and erasure reach their
  handlers instead of stopping at 404.

Secrets never appear in schemathesis output: it sanitizes Authorization, Cookie and
the signature header in its reports (--output-sanitize true).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import threading
import time
import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import schemathesis
from hypothesis import strategies as st

_CREDENTIALS: dict[str, dict[str, str]] = json.loads(os.environ.get("CALLREC_ST_CREDENTIALS", "{}"))
_SOURCE = os.environ.get("CALLREC_ST_SOURCE", "")
_SECRET = os.environ.get("CALLREC_ST_SECRET", "")
_ORIGIN = os.environ.get("CALLREC_ST_ORIGIN", "")
_AUDIO_PATH = os.environ.get("CALLREC_ST_AUDIO", "")
_AUDIO = open(_AUDIO_PATH, "rb").read() if _AUDIO_PATH else b""
_IDS = [i for i in os.environ.get("CALLREC_ST_RECORDING_IDS", "").split(",") if i]
# Erasing one recording is final: it gets recordings of its own, so the others keep theirs.
_ERASABLE_IDS = [i for i in os.environ.get("CALLREC_ST_ERASABLE_IDS", "").split(",") if i]
# Every recording of the run has this audio: the seeded ones and those positive uploads make.
_AUDIO_DURATION_MS = int(os.environ.get("CALLREC_ST_AUDIO_DURATION_MS", "0"))
_ALL_ROLES = sorted(_CREDENTIALS)

# Valid in libphonenumber with region NL (the test's CALLREC_PHONE_REGION), in the characters
# the `phone` pattern allows; never +31301234567, the number of the seeded recordings.
_PHONES = [
    "+31207654321",
    "+31 20 765 4321",
    "020 765 4321",
    "(020) 765-4321",
    "+31 (0)20 765 4321",
    "0031207654321",
    "+31612345678",
    "06-12345678",
    "06 1234 5678",
    "010-1234567",
    "+442071838750",
    "+44 20 7183 8750",
    "+1 (415) 555-2671",
    "+33142685300",
    "+49 30 1234567",
    "+32 2 123 45 67",
]
schemathesis.openapi.format("phone", st.sampled_from(_PHONES))

_lock = threading.Lock()
_counter = itertools.count()
# Its own counter: the credential counter advances a fixed number of times per case, which
# would give every case of one operation the same parity (and the same choice).
_id_counter = itertools.count()


def _next() -> int:
    with _lock:
        return next(_counter)


def _raw(case: Any) -> dict[str, Any]:
    raw = case.operation.definition.raw
    return raw if isinstance(raw, dict) else {}


def _text(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if value is None:
        return b""
    return json.dumps(value, default=str).encode("utf-8")


_STARTED_AT = re.compile(r"^(?P<lead>\W*?)\d{4}-\d{2}-\d{2}(?P<rest>T.*)$", re.DOTALL)


def _three_days_ago(started_at: Any) -> Any:
    """The generated date-time with its date moved to three days ago (UTC); its time, zone and
    surrounding whitespace kept. Whatever the zone (at most ±23:59), that instant lies in the past
    and well inside the retention period."""
    if not isinstance(started_at, str):
        return started_at
    match = _STARTED_AT.match(started_at)
    if not match:
        return started_at
    day = (datetime.now(timezone.utc) - timedelta(days=3)).strftime("%Y-%m-%d")
    return f"{match.group('lead')}{day}{match.group('rest')}"


def _encode_multipart(body: Any, boundary: str, positive: bool) -> bytes:
    """The upload body: text fields in the generated order, then the audio part last."""
    if type(body).__name__ == "NotSet" or body is None:
        body = {}
    if not isinstance(body, dict):
        # Negative mode may generate a non-object body: send it as the only (text) part.
        body = {"payload": body}
    fields = {k: v for k, v in body.items() if k != "audio" and type(v).__name__ != "NotSet"}
    audio = body.get("audio")
    if type(audio).__name__ == "NotSet":
        audio = None
    if positive and _AUDIO:
        audio = _AUDIO
        if "startedAt" in fields:
            fields["startedAt"] = _three_days_ago(fields["startedAt"])
        if "endedAt" in fields and isinstance(fields["endedAt"], str):
            # After any moved startedAt (at most a day ago), before the server clock.
            fields["endedAt"] = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        if "pauses" in fields:
            # A JSON text (spans within the audio): the document can say "a string", not "JSON of spans".
            fields["pauses"] = '[{"startMs":0,"endMs":100}]'
        # The real recording is a WAV: a generated headerless format would not match its bytes.
        fields.pop("audioFormat", None)
    out = bytearray()
    for name, value in fields.items():
        values = value if isinstance(value, list) else [value]
        # A field name is escaped as browsers do (WHATWG multipart/form-data): `"`, CR and LF.
        quoted = str(name).replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
        for item in values:
            out += f"--{boundary}\r\nContent-Disposition: form-data; name=\"{quoted}\"\r\n\r\n".encode("utf-8", "surrogatepass")
            out += _text(item) + b"\r\n"
    if audio is not None:
        out += f"--{boundary}\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"call.wav\"\r\nContent-Type: application/octet-stream\r\n\r\n".encode()
        out += _text(audio) + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def _is_positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    mode = getattr(getattr(meta, "generation", None), "mode", None)
    return str(getattr(mode, "value", mode)).lower() == "positive"


# Encoded upload bodies by their signature: the auth provider signs, `before_call` sends
# exactly those bytes. A probe whose credentials were stripped or replaced finds no entry
# and goes out as schemathesis serializes it, unsigned (401 expected).
_BODIES: dict[str, bytes] = {}


def _sign_upload(case: Any) -> None:
    """Encodes and signs the upload body; `case.body` itself is left as generated."""
    boundary = f"callrec-st-{uuid.uuid4().hex}"
    body = _encode_multipart(case.body, boundary, positive=_is_positive(case))
    timestamp = str(int(time.time()))
    digest = hashlib.sha256(body).hexdigest()
    signature = "v1=" + hmac.new(_SECRET.encode(), f"{timestamp}.{digest}".encode(), hashlib.sha256).hexdigest()
    with _lock:
        if len(_BODIES) > 2000:
            _BODIES.clear()
        _BODIES[signature] = body
    case.headers = dict(case.headers or {})
    case.headers.update(
        {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "X-Callrec-Source": _SOURCE,
            "X-Callrec-Timestamp": timestamp,
            "X-Callrec-Signature": signature,
        }
    )


def _authorize(case: Any, roles: list[str], n: int) -> None:
    allowed = [r for r in _ALL_ROLES if r in roles] or _ALL_ROLES
    refused = [r for r in _ALL_ROLES if r not in roles]
    role = refused[(n // 4) % len(refused)] if n % 4 == 3 and refused else allowed[n % len(allowed)]
    credential = _CREDENTIALS.get(role, {})
    case.headers = dict(case.headers or {})
    if n % 5 == 0 and credential.get("cookie"):
        case.headers["Cookie"] = credential["cookie"]
        if _ORIGIN:
            case.headers["Origin"] = _ORIGIN
    elif credential.get("token"):
        case.headers["Authorization"] = f"Bearer {credential['token']}"


@schemathesis.auth(refresh_interval=None, retry_on=[])
class CallrecAuth:
    """Credentials as schemathesis 'explicit auth', so that its ignored_auth check can
    strip them and expect 401: role credentials, or the upload signature."""

    def get(self, case: Any, context: Any) -> int:
        return _next()

    def set(self, case: Any, data: int, context: Any) -> None:
        raw = _raw(case)
        if raw.get("x-callrec-signed-hook"):
            _sign_upload(case)
            return
        roles = raw.get("x-callrec-roles")
        if isinstance(roles, list):
            _authorize(case, roles, data)
        elif raw.get("security"):
            # Any signed-in user (GET /v1/session): rotate over every role.
            _authorize(case, _ALL_ROLES, data)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    signature = (case.headers or {}).get("X-Callrec-Signature")
    if isinstance(signature, str) and signature in _BODIES:
        kwargs["data"] = _BODIES[signature]
        return
    with _lock:
        n = next(_id_counter)
    pool = _ERASABLE_IDS if _raw(case).get("operationId") == "eraseRecording" else _IDS
    if pool and isinstance(case.path_parameters, dict) and "id" in case.path_parameters and n % 2 == 0:
        case.path_parameters = {**case.path_parameters, "id": pool[(n // 2) % len(pool)]}
    body = case.body
    if (
        _AUDIO_DURATION_MS > 0
        and _raw(case).get("operationId") == "addNote"
        and _is_positive(case)
        and isinstance(body, dict)
        and isinstance(body.get("offsetMs"), (int, float))
        and not isinstance(body.get("offsetMs"), bool)
        and float(body["offsetMs"]).is_integer()
    ):
        # JSON integers may be generated as 5.0: the same number to the server.
        case.body = {**body, "offsetMs": int(body["offsetMs"]) % (_AUDIO_DURATION_MS + 1)}
    if (
        _AUDIO_DURATION_MS > 1
        and _raw(case).get("operationId") == "redactRecording"
        and _is_positive(case)
        and isinstance(body, dict)
        and all(
            isinstance(body.get(k), (int, float)) and not isinstance(body.get(k), bool) and float(body[k]).is_integer()
            for k in ("startMs", "endMs")
        )
    ):
        start = int(body["startMs"]) % _AUDIO_DURATION_MS
        end = start + 1 + int(body["endMs"]) % (_AUDIO_DURATION_MS - start)
        case.body = {**body, "startMs": start, "endMs": end}

"""Putting payloads on the wire: where to, the HTTP client and the retry policy (SPEC 7).

The only module that imports httpx, and only inside the functions that talk to the network.
What goes in a body is ``payloads.py``'s.

Answers: 2xx accepted (an OTLP ``partialSuccess`` is reported, not retried); 408, 429, 502,
503, 504 and connection errors retried with exponential backoff and jitter, honouring
``Retry-After`` (seconds or an HTTP date) up to ``Retry.cap``, while the deadline allows; a
redirect is followed only to the same origin. Any other 4xx (400, 405, 413, 422, ...) refuses
the batch (the collector said no to these records: ``rejected/``); 401, 403, 404, any other 5xx
and anything else fails without a retry (the records are fine, the endpoint or the credentials
are likely wrong, or the collector is broken: they stay pending).
"""

from __future__ import annotations

import email.utils
import gzip
import ipaddress
import json
import random
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

from telemetry_gate._version import __version__
from telemetry_gate.errors import ConfigError

if TYPE_CHECKING:
    import httpx

    Client = httpx.Client  # for the annotations of other modules, which may not import httpx

_T = TypeVar("_T")
RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})
NOT_THE_RECORDS = frozenset({401, 403, 404})  # a 4xx that says nothing about the records themselves
ANSWER_BYTES = 1024  # of a refusal, kept in rejected/
REQUEST_TIMEOUT = 30.0
MAX_REDIRECTS = 3
USER_AGENT = f"telemetry-gate/{__version__}"


# -- where to -------------------------------------------------------------------------------

def url_for(endpoint: str, fmt: str) -> str:
    """Where a batch goes: for ``otlp``, ``/v1/logs`` appended to the endpoint's path (its query
    string and fragment stay where they were); for ``json``, the endpoint as given."""
    if fmt != "otlp":
        return endpoint
    parts = urlsplit(endpoint)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/v1/logs"))


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def without_userinfo(url: str) -> str:
    """``url`` without ``user:password@``: what the audit log and messages show of an endpoint."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.rpartition("@")[2] if "@" in url else url
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def check_url(url: str, source: str) -> None:
    """Refuse, before any connection, a URL that is not https (except to a loopback host)."""
    url = without_userinfo(url)  # for the messages: a refused URL's credentials are not printed
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise ConfigError(f"{url!r} from {source} is not a valid URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"{url!r} from {source} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigError(f"refusing {url} from {source}: records leave the machine only over https",
                          "plain http is allowed only to a loopback host (localhost, 127.0.0.1, [::1])")


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    default = {"http": 80, "https": 443}
    return (pa.scheme, pa.hostname, pa.port or default.get(pa.scheme)) == (
        pb.scheme, pb.hostname, pb.port or default.get(pb.scheme))


# -- the wire --------------------------------------------------------------------------------

class Retry(NamedTuple):
    """Exponential backoff with jitter: the n-th wait is drawn in [d/2, d], d = min(cap, base * 2**n);
    a ``Retry-After`` is honoured up to ``cap`` and never makes a wait shorter than that backoff
    (``Retry-After: 0`` is no tight loop). Nothing waits past the deadline."""

    base: float = 0.5
    cap: float = 30.0


DEFAULT_RETRY = Retry()


class Deadline:
    """The end of the whole run's time (``send --timeout``)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.end = clock() + seconds

    def remaining(self) -> float:
        return self.end - self.clock()


class Answer(NamedTuple):
    outcome: str  # "accepted", "refused" (the collector said no: rejected/), "failed" (try later)
    status: int | None
    detail: str  # the first bytes of the answer, or what went wrong
    attempts: int
    partial: str | None = None  # an OTLP partialSuccess, as text


def outcome_of(status: int) -> str:
    """What a status that is neither 2xx nor retried means for a batch: ``refused`` (any other
    4xx: the records go to ``rejected/``) or ``failed`` (they stay pending)."""
    if 400 <= status < 500 and status not in NOT_THE_RECORDS:
        return "refused"
    return "failed"


def why_failed(status: int | None) -> str:
    """One line on a status that leaves records pending without a retry."""
    if status in NOT_THE_RECORDS:
        return f"HTTP {status}: likely a wrong endpoint or credentials"
    if status is not None and status >= 500:
        return f"HTTP {status}: the server failed; try again later"
    return f"HTTP {status}: not an answer telemetry understands"


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def client(direct: bool = False) -> httpx.Client:
    """One keep-alive client: certificates verified, redirects never followed by httpx (see
    ``_exchange``). Proxies and ``SSL_CERT_FILE`` come from the environment (``trust_env``),
    except for a ``direct`` client, meant for loopback endpoints: it never goes through a
    proxy (records posted in plain http to this machine must not cross a proxy in clear) and
    still honours ``SSL_CERT_FILE``/``SSL_CERT_DIR`` for https."""
    import httpx

    return httpx.Client(
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        trust_env=not direct,
        verify=httpx.create_ssl_context(trust_env=True) if direct else True,
        timeout=httpx.Timeout(REQUEST_TIMEOUT, connect=10.0),
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
    )


class Clients:
    """The clients of one run, made when first needed: one for loopback endpoints (never a
    proxy) and one for the others; ``given`` (a test's client) serves every URL."""

    def __init__(self, given: httpx.Client | None = None) -> None:
        self.given = given
        self.made: dict[bool, httpx.Client] = {}

    def for_url(self, url: str) -> httpx.Client:
        if self.given is not None:
            return self.given
        direct = is_loopback(urlsplit(url).hostname or "")
        if direct not in self.made:
            self.made[direct] = client(direct)
        return self.made[direct]

    def close(self) -> None:
        for made in self.made.values():
            made.close()
        self.made.clear()


def _exchange(http: httpx.Client, method: str, url: str, content: bytes | None,
              headers: dict[str, str], timeout: float, keep: int) -> tuple[int, bytes, str | None]:
    """One request, following redirects only within the origin; returns (status, the first
    ``keep`` bytes of the answer, Retry-After)."""
    import httpx

    for _ in range(MAX_REDIRECTS + 1):
        request = http.build_request(method, url, content=content, headers=headers,
                                     timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)))
        response = http.send(request, stream=True)
        try:
            head = b""
            for chunk in response.iter_bytes():
                head += chunk
                if len(head) >= keep:
                    break
            status = response.status_code
            location = response.headers.get("location")
            wait = response.headers.get("retry-after")
        finally:
            response.close()
        if status in (301, 302, 303, 307, 308) and location:
            target = urljoin(url, location)
            if not _same_origin(url, target):
                raise _Redirected(status, target)
            if method == "POST" and status not in (307, 308):
                raise _Redirected(status, target)
            url = target
            continue
        return status, head[:keep], wait
    raise _Redirected(0, url)


class _Overdue(Exception):
    """The deadline passed while a request was still in flight."""


def _within(seconds: float, function: Callable[..., _T], *args: Any) -> _T:
    """``function(*args)`` on a worker thread, waited for at most ``seconds``: httpx's timeouts
    bound each read, not a whole answer, so a server that trickles a byte every few seconds
    would hold a request for ever. Past the deadline the request is abandoned (its thread is a
    daemon, ended by the connection's close or the process's exit) and ``_Overdue`` raised."""
    import threading

    outcome: list[Any] = []
    done = threading.Event()

    def work() -> None:
        try:
            outcome.append((True, function(*args)))
        except BaseException as exc:  # handed to the caller's thread below
            outcome.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=work, name="telemetry-request", daemon=True).start()
    if not done.wait(max(seconds, 0.0)):
        raise _Overdue()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def _tls_failure(exc: BaseException) -> str | None:
    """What went wrong in TLS, when that is the cause of ``exc`` (certificate, protocol); ``None``
    for anything else, including an EOF in the handshake (a dropped connection: retried)."""
    import ssl

    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLError) and not isinstance(cause, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
            return getattr(cause, "verify_message", None) or getattr(cause, "reason", None) or str(cause)
        cause = cause.__cause__ or cause.__context__
    return None


class _Redirected(Exception):
    def __init__(self, status: int, target: str) -> None:
        super().__init__(f"{status} redirect to {target} not followed")
        self.status = status


def exchange(http: httpx.Client, method: str, url: str, *, content: bytes | None = None,
             headers: Mapping[str, str] | None = None, deadline: Deadline, retry: Retry = DEFAULT_RETRY,
             keep: int = ANSWER_BYTES, sleep: Callable[[float], None] = time.sleep,
             rand: Callable[[], float] = random.random) -> tuple[Answer, bytes]:
    """One request with the retry policy; returns the answer and the first ``keep`` bytes."""
    import httpx

    attempts = 0
    status: int | None = None
    detail = ""
    while True:
        remaining = deadline.remaining()
        if remaining <= 0:
            return Answer("failed", status, detail or "deadline reached", attempts), b""
        attempts += 1
        wait: float | None = None
        try:
            status, head, after = _within(remaining, _exchange, http, method, url, content,
                                          dict(headers or {}), min(remaining, REQUEST_TIMEOUT), keep)
        except _Overdue:  # the last answer before it (a 503...) still says why nothing went
            return Answer("failed", status, "the deadline was reached (--timeout) while waiting for an answer"
                          + (f"; before it: {detail}" if detail else ""), attempts), b""
        except _Redirected as exc:
            return Answer("failed", exc.status or None, str(exc), attempts), b""
        except (httpx.TransportError, OSError) as exc:
            tls = _tls_failure(exc)
            if tls is not None:  # a certificate or a protocol mismatch does not heal in a minute
                return Answer("failed", None, f"TLS failed: {tls}", attempts), b""
            if isinstance(exc, (httpx.UnsupportedProtocol, httpx.ProxyError)):
                return Answer("failed", None, f"{type(exc).__name__}: {exc}", attempts), b""
            status, detail = None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        else:
            text = head.decode("utf-8", "replace")
            if 200 <= status < 300:
                return Answer("accepted", status, text, attempts), head
            if status not in RETRY_STATUSES:
                outcome = outcome_of(status)
                return Answer(outcome, status, text if outcome == "refused" else why_failed(status),
                              attempts), head
            detail = f"HTTP {status}"
            wait = retry_after(after)
        backoff = min(retry.cap, retry.base * 2 ** (attempts - 1)) * (0.5 + rand() / 2)
        # Retry-After (up to the cap) when it asks for longer than the backoff: "0" is no tight loop
        delay = max(min(wait, retry.cap), backoff) if wait is not None else backoff
        if delay >= deadline.remaining():
            return Answer("failed", status, f"{detail}; gave up after {attempts} attempts "
                          "(the deadline does not allow another)", attempts), b""
        sleep(delay)


def send(batch_body: bytes, url: str, *, client: httpx.Client, deadline: Deadline,
         retry: Retry = DEFAULT_RETRY, sleep: Callable[[float], None] = time.sleep,
         compressed: bytes | None = None) -> Answer:
    """POST one batch, gzip-compressed, over ``client`` (inject an ``httpx.MockTransport``
    client in tests); a 2xx with an OTLP ``partialSuccess`` is accepted and reported.
    ``compressed``: the body already gzipped (``gzip.compress(batch_body, 5, mtime=0)``, done
    ahead on another thread by ``send``)."""
    if compressed is None:
        compressed = gzip.compress(batch_body, compresslevel=5, mtime=0)
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    answer, head = exchange(client, "POST", url, content=compressed, headers=headers,
                            deadline=deadline, retry=retry, sleep=sleep, keep=65536)
    if answer.outcome == "accepted":
        return answer._replace(detail=answer.detail[:ANSWER_BYTES], partial=_partial(head))
    return answer._replace(detail=answer.detail[:ANSWER_BYTES])


def _partial(head: bytes) -> str | None:
    try:
        data = json.loads(head)
        partial = data.get("partialSuccess") or data.get("partial_success")
    except (ValueError, AttributeError):
        return None
    if not isinstance(partial, dict):
        return None
    count = partial.get("rejectedLogRecords") or partial.get("rejected_log_records")
    message = partial.get("errorMessage") or partial.get("error_message") or ""
    if not count and not message:
        return None
    return f"the collector dropped {count or 0} log records: {message}".rstrip(": ")


def fetch(url: str, *, client: httpx.Client, deadline: Deadline, retry: Retry = DEFAULT_RETRY,
          limit: int = 1 << 20) -> tuple[Answer, bytes]:
    """GET ``url`` (``update``): the answer and at most ``limit`` + 1 bytes of the body."""
    return exchange(client, "GET", url, deadline=deadline, retry=retry, keep=limit + 1)

"""A local push service: the receiving side of Web Push, over real HTTP, for tests and bench.

It does what a vendor's push service does with a message, as far as the sender can tell:
RFC 8030 (POST to the subscription's endpoint, ``TTL`` required, ``Urgency`` and ``Topic``
checked, 201 with a ``Location``, a message with the same Topic replaces the one still
held for the device), RFC 8292 (the ``vapid t=<JWT>, k=<key>`` Authorization: ES256
signature checked with ``k``, ``aud`` equal to this service's origin, ``exp`` in the next
24 hours, ``sub`` a mailto: or https: URL, ``k`` the applicationServerKey the device
subscribed with) and RFC 8291 (the ``aes128gcm`` body decrypted with the device keys this
module generates, at most 4096 bytes). Anything wrong is refused with the status a real
service uses, and the test sees why.

Tests may script answers per device (429 with Retry-After, 503, 404, 410) and read every
accepted message with its decrypted payload.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

URGENCIES = ("very-low", "low", "normal", "high")
TOPIC_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
MAX_BODY = 4096


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Device:
    """A user agent's side of one subscription: its keys, made here by the test."""

    token: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    server_key: str | None  # the applicationServerKey it subscribed with

    def subscription(self) -> dict[str, Any]:
        """Return the JSON a browser's PushSubscription.toJSON() gives."""
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}


@dataclass
class Message:
    """One message the service accepted."""

    number: int
    token: str
    payload: bytes
    ttl: int
    urgency: str
    topic: str | None
    received_at: float
    jwt_claims: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.payload)


class PushService:
    """The service, served by a thread on 127.0.0.1 (``start``/``stop``)."""

    def __init__(self, port: int = 0) -> None:
        self.devices: dict[str, Device] = {}
        self.accepted: list[Message] = []
        self.held: dict[str, dict[str, Message]] = {}  # token -> topic/number -> message
        self.refused: list[tuple[int, str]] = []
        self.scripted: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self.lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._keys: dict[str, ec.EllipticCurvePublicKey] = {}
        self._verified: dict[tuple[str, str], dict[str, Any]] = {}
        self.server = _Server(("127.0.0.1", port), _Handler)
        self.server.daemon_threads = True
        self.server.service = self  # type: ignore[attr-defined]
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------- control (test side)
    def start(self) -> PushService:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def new_device(self, server_key: str | None) -> Device:
        """Generate a device's keys and endpoint, as a browser's subscribe() would."""
        token = secrets.token_urlsafe(18)
        device = Device(token, f"{self.origin}/push/{token}",
                        ec.generate_private_key(ec.SECP256R1()), os.urandom(16), server_key)
        with self.lock:
            self.devices[token] = device
        return device

    def forget(self, device: Device) -> None:
        """The device unsubscribed: its endpoint answers 410 from now on."""
        with self.lock:
            self.devices.pop(device.token, None)
            self.scripted[device.token] = [(410, {})] * 1000

    def script(self, device: Device, *answers: tuple[int, dict[str, str]]) -> None:
        """Answer the next messages to ``device`` with these statuses (then accept again)."""
        with self.lock:
            self.scripted.setdefault(device.token, []).extend(answers)

    def messages(self, device: Device | None = None) -> list[Message]:
        with self.lock:
            return [m for m in self.accepted if device is None or m.token == device.token]

    def held_for(self, device: Device) -> list[Message]:
        """What the device gets when it connects: one message per Topic (RFC 8030 5.4)."""
        with self.lock:
            return sorted(self.held.get(device.token, {}).values(), key=lambda m: m.number)

    # -------------------------------------------------------------- receiving (RFC 8030)
    def receive(self, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], str]:
        if not path.startswith("/push/"):
            return 404, {}, "unknown endpoint"
        token = path[len("/push/"):]
        with self.lock:
            script = self.scripted.get(token)
            if script:
                status, extra = script.pop(0)
                return status, extra, "scripted"
            device = self.devices.get(token)
        if device is None:
            return 404, {}, "unknown endpoint"
        ttl = headers.get("TTL")
        if ttl is None or not ttl.isdigit():
            return 400, {}, "TTL header required"
        urgency = headers.get("Urgency", "normal")
        if urgency not in URGENCIES:
            return 400, {}, "bad Urgency"
        topic = headers.get("Topic")
        if topic is not None and (len(topic) > 32 or not set(topic) <= TOPIC_CHARS):
            return 400, {}, "bad Topic"
        status, claims, why = self.check_vapid(headers.get("Authorization", ""), device)
        if status:
            return status, {}, why
        if headers.get("Content-Encoding") != "aes128gcm":
            return 415, {}, "aes128gcm required"
        if len(body) > MAX_BODY:
            return 413, {}, "payload too large"
        try:
            payload = http_ece.decrypt(body, private_key=device.private_key,
                                       auth_secret=device.auth, version="aes128gcm")
        except Exception as exc:  # any decryption failure is the sender's bug
            return 400, {}, f"cannot decrypt: {type(exc).__name__}"
        message = Message(next(self._numbers), token, payload, int(ttl), urgency, topic,
                          time.time(), claims)
        with self.lock:
            self.accepted.append(message)
            self.held.setdefault(token, {})[topic or f"#{message.number}"] = message
        return 201, {"Location": f"/m/{message.number}"}, ""

    def check_vapid(self, header: str, device: Device) -> tuple[int, dict[str, Any], str]:
        """Verify the VAPID JWT (RFC 8292); return (0, claims, "") when valid."""
        scheme, _, params = header.partition(" ")
        if scheme.lower() != "vapid":
            return 401, {}, "vapid scheme required"
        parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        token, key = parts.get("t", ""), parts.get("k", "")
        verified = self._verified.get((token, key))
        if verified is None:
            status, verified, why = self._verify_signature(token, key)
            if status:
                return status, {}, why
            with self.lock:
                self._verified[(token, key)] = verified
        claims = verified
        now = time.time()
        if claims.get("aud") != self.origin:
            return 401, {}, f"aud {claims.get('aud')!r} is not {self.origin}"
        exp = claims.get("exp")
        if not isinstance(exp, int) or not now < exp <= now + 24 * 3600:
            return 401, {}, "exp outside the next 24 hours"
        sub = str(claims.get("sub", ""))
        if not sub.startswith(("mailto:", "https:")):
            return 401, {}, "sub must be mailto: or https:"
        if device.server_key is not None and key != device.server_key:
            return 403, {}, "not the key the device subscribed with"
        return 0, claims, ""

    def _verify_signature(self, token: str, key: str) -> tuple[int, dict[str, Any], str]:
        """Check the JWT's ES256 signature with ``key`` (a given token is checked once)."""
        try:
            head_b64, claims_b64, sig_b64 = token.split(".")
            head = json.loads(unb64url(head_b64))
            claims = json.loads(unb64url(claims_b64))
            signature = unb64url(sig_b64)
            public = self._keys.get(key)
            if public is None:
                public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),
                                                                      unb64url(key))
                self._keys[key] = public
        except (ValueError, TypeError):
            return 401, {}, "malformed JWT or key"
        if head.get("alg") != "ES256" or len(signature) != 64:
            return 401, {}, "ES256 required"
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                   int.from_bytes(signature[32:], "big"))
        try:
            public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return 401, {}, "bad signature"
        return 0, claims, ""


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # many senders connect at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Say nothing of senders that went away (a killed worker): that is their right."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: senders reuse connections

    def do_POST(self) -> None:
        service: PushService = self.server.service  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(body) < length:  # the sender died mid-request: nothing was sent
            self.close_connection = True
            return
        if self.path.startswith("/_admin/"):
            self._admin(service, body)
            return
        status, extra, why = service.receive(self.path, self.headers, body)
        if status >= 400:
            with service.lock:
                service.refused.append((status, why))
        self._answer(status, extra, why.encode())

    def _answer(self, status: int, extra: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _admin(self, service: PushService, body: bytes) -> None:
        """Control over HTTP, for a service run in another process (bench)."""
        request = json.loads(body or b"{}")
        if self.path == "/_admin/devices":
            made = [service.new_device(request.get("server_key"))
                    for _ in range(int(request.get("count", 1)))]
            answer: Any = [d.subscription() for d in made]
        elif self.path == "/_admin/report":
            with service.lock:
                answer = {
                    "accepted": [[m.token, m.json().get("id"), m.topic, m.received_at,
                                  m.ttl, m.urgency] for m in service.accepted],
                    "held": sum(len(v) for v in service.held.values()),
                    "held_ids": sorted(m.json().get("id") for v in service.held.values()
                                       for m in v.values()),
                    "refused": service.refused[-20:], "refused_count": len(service.refused),
                }
        elif self.path == "/_admin/reset":
            with service.lock:
                service.accepted.clear()
                service.held.clear()
                service.refused.clear()
            answer = {"ok": True}
        else:
            self._answer(404, {}, b"")
            return
        self._answer(200, {"Content-Type": "application/json"}, json.dumps(answer).encode())

    def log_message(self, format: str, *args: Any) -> None:
        return


def serve_forever(port: int, ready: Any) -> None:
    """Run a service in this process (bench: ``multiprocessing`` target)."""
    service = PushService(port)
    ready.send(service.origin)
    service.server.serve_forever()

#!/usr/bin/env python3
"""A scripted pycrdt client for the hub's tests, with the same line protocol as yjs_client.js.

args:   --url BASE (repeatable; on every close the client moves to the next one, keeping its
        Doc), --room ROOM, [--token JWT] (query parameter `token`), [--name LABEL]
stdin:  insert, type, delete, text, wait_text, wait_length, awareness, quit (JSON lines)
stdout: status, synced, permission_denied, closed, typed, text, timeout, awareness, error

Document sync is pycrdt's own `Provider` (pycrdt-websocket's client side since 0.16); it
only speaks the sync protocol and drops every other message type. `Socket` below is the
smallest `Channel` over the `websockets` library, and it is where awareness (type 1), auth
(type 2) and awareness queries (type 3) are handled, before each frame is handed on.

Text positions on this protocol are in UTF-16 code units, as in Yjs; pycrdt counts UTF-8
bytes, so they are converted here.
"""

from __future__ import annotations

import argparse
import json
import sys
from urllib.parse import quote

import anyio
from anyio.abc import TaskGroup
from pycrdt import Awareness, Decoder, Doc, Provider, Text, create_awareness_message
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

MESSAGE_AWARENESS = 1
MESSAGE_AUTH = 2
MESSAGE_QUERY_AWARENESS = 3
AUTH_PERMISSION_DENIED = 0
DEFAULT_TIMEOUT_MS = 10000
MAX_BACKOFF_S = 2.5  # y-websocket's default maxBackoffTime


def emit(event: dict) -> None:
    sys.stdout.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def log(message: str) -> None:
    print(f"pycrdt_client: {message}", file=sys.stderr, flush=True)


def utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def utf8_offset(s: str, units: int) -> int:
    """The UTF-8 byte offset of UTF-16 position `units` in `s` (clamped; never mid-character)."""
    seen = 0
    for i, ch in enumerate(s):
        if seen >= units:
            return len(s[:i].encode())
        seen += 2 if ord(ch) > 0xFFFF else 1
    return len(s.encode())


def socket_url(base: str, room: str, token: str | None) -> str:
    # As y-websocket builds it: room appended as is, params encoded like encodeURIComponent.
    url = base.rstrip("/") + "/" + room
    if token is not None:
        url += "?token=" + quote(token, safe="-_.!~*'()")
    return url


class Socket:
    """A pycrdt `Channel` over one websockets connection."""

    def __init__(self, ws: ClientConnection, client: Client) -> None:
        self._ws = ws
        self._client = client
        self.closed = anyio.Event()
        self.close_code = 1006
        self.close_reason = ""

    @property
    def path(self) -> str:
        return self._ws.request.path if self._ws.request else ""

    def __aiter__(self) -> Socket:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self.recv()
        except ConnectionClosed as exc:
            if exc.rcvd is not None:
                self.close_code, self.close_reason = exc.rcvd.code, exc.rcvd.reason
            self.closed.set()
            raise StopAsyncIteration

    async def recv(self) -> bytes:
        while True:
            message = await self._ws.recv()
            if isinstance(message, str):
                log(f"ignoring a text frame: {message[:80]!r}")
                continue
            self._client.inspect(message)
            return message

    async def send(self, message: bytes) -> None:
        # Updates made while the socket is closing are not lost: the next connection's
        # sync exchange carries them.
        try:
            await self._ws.send(message)
        except ConnectionClosed:
            pass

    async def close(self) -> None:
        await self._ws.close()


class Client:
    def __init__(self, args: argparse.Namespace) -> None:
        self.urls = [socket_url(base, args.room, args.token) for base in args.url]
        self.doc = Doc()
        self.text = self.doc.get("content", type=Text)
        self.awareness = Awareness(self.doc)
        self.awareness.set_local_state({"user": {"name": args.name}} if args.name else {})
        self.awareness.observe(self._on_awareness)
        self.socket: Socket | None = None
        self.quitting = False
        self.leaving = anyio.Event()
        self.session_over = anyio.Event()
        self.session_over.set()
        self.changed = anyio.Event()
        self._text_subscription = self.text.observe(lambda _event: self.changed.set())
        self.tg: TaskGroup | None = None

    # --- incoming frames other than sync -------------------------------------------------

    def inspect(self, message: bytes) -> None:
        decoder = Decoder(message)
        kind = decoder.read_var_uint()
        if kind == MESSAGE_AWARENESS:
            update = decoder.read_message()
            if update:
                self.awareness.apply_awareness_update(update, "remote")
        elif kind == MESSAGE_AUTH:
            if decoder.read_var_uint() == AUTH_PERMISSION_DENIED:
                emit({"event": "permission_denied", "reason": decoder.read_var_string()})
        elif kind == MESSAGE_QUERY_AWARENESS:
            self._send_awareness(list(self.awareness.states))

    # --- awareness out -------------------------------------------------------------------

    def _on_awareness(self, topic: str, change: tuple[dict, object]) -> None:
        changes, origin = change
        if topic == "update" and origin == "local":
            self._send_awareness(changes["added"] + changes["updated"] + changes["removed"])

    def _send_awareness(self, client_ids: list[int]) -> None:
        if self.socket is not None and self.tg is not None:
            update = self.awareness.encode_awareness_update(client_ids)
            self.tg.start_soon(self.socket.send, create_awareness_message(update))

    def _drop_remote_awareness(self) -> None:
        others = [c for c in self.awareness.states if c != self.awareness.client_id]
        self.awareness.remove_awareness_states(others, "connection closed")

    # --- connection loop -----------------------------------------------------------------

    async def connect_forever(self) -> None:
        index, failures = 0, 0
        while not self.quitting:
            url = self.urls[index]
            index = (index + 1) % len(self.urls)
            try:
                ws = await connect(url, proxy=None, max_size=None, open_timeout=5)
            except Exception as exc:
                failures += 1
                log(f"cannot connect to {url}: {exc!r}")
                closed = {"event": "closed", "code": 1006, "reason": "", "error": describe(exc)}
                emit(closed)
                await anyio.sleep(min(0.1 * 2**failures, MAX_BACKOFF_S))
                continue
            failures = 0
            if self.quitting:
                await ws.close()
                return
            await self._session(url, ws)
            await anyio.sleep(0.1)

    async def _session(self, url: str, ws: ClientConnection) -> None:
        socket = Socket(ws, self)
        self.session_over = anyio.Event()
        try:
            emit({"event": "status", "status": "connected", "url": url})
            async with anyio.create_task_group() as tg:
                async with Provider(self.doc, socket) as provider:
                    self.socket = socket
                    self._send_awareness([self.awareness.client_id])

                    async def report_synced() -> None:
                        await provider.synced.wait()
                        emit({"event": "synced"})

                    tg.start_soon(report_synced)
                    await first_of(socket.closed, self.leaving)
                    self.socket = None
                # Leaving the provider's block sent the updates it still held.
                tg.cancel_scope.cancel()
            if self.quitting:
                await self._leave(socket)
                return
            self._drop_remote_awareness()
            emit({"event": "closed", "code": socket.close_code, "reason": socket.close_reason})
            emit({"event": "status", "status": "disconnected", "url": url})
        finally:
            self.session_over.set()

    async def _leave(self, socket: Socket) -> None:
        """Tells the room this client is gone, as y-websocket does, then closes with 1000."""
        self.awareness.set_local_state(None)
        if not socket.closed.is_set():
            update = self.awareness.encode_awareness_update([self.awareness.client_id])
            await socket.send(create_awareness_message(update))
            with anyio.move_on_after(2):
                await socket.close()

    async def quit(self) -> None:
        self.quitting = True
        self.leaving.set()
        with anyio.move_on_after(3):
            await self.session_over.wait()

    # --- commands ------------------------------------------------------------------------

    async def run(self, cmd: dict) -> None:
        name = cmd.get("cmd")
        current = str(self.text)
        if name == "insert":
            self.text.insert(utf8_offset(current, int(cmd.get("index", 0))), str(cmd["text"]))
        elif name == "type":
            interval = int(cmd.get("interval_ms", 0)) / 1000
            chars = list(str(cmd["text"]))
            for i, ch in enumerate(chars):
                if i > 0 and interval > 0:
                    await anyio.sleep(interval)
                self.text.insert(len(self.text), ch)
            emit({"event": "typed", "count": len(chars)})
        elif name == "delete":
            index = max(0, int(cmd.get("index", 0)))
            start = utf8_offset(current, index)
            stop = utf8_offset(current, index + max(0, int(cmd.get("length", 0))))
            if stop > start:
                del self.text[start:stop]
        elif name == "text":
            emit({"event": "text", "text": current})
        elif name in ("wait_text", "wait_length"):
            if name == "wait_length":
                at_least = int(cmd["at_least"])
                done = lambda t: utf16_len(t) >= at_least  # noqa: E731
            elif isinstance(cmd.get("equals"), str):
                done = lambda t: t == cmd["equals"]  # noqa: E731
            elif isinstance(cmd.get("contains"), str):
                done = lambda t: cmd["contains"] in t  # noqa: E731
            else:
                raise ValueError('wait_text needs "equals" or "contains"')
            ok = False
            with anyio.move_on_after(int(cmd.get("timeout_ms", DEFAULT_TIMEOUT_MS)) / 1000):
                while not done(str(self.text)):
                    self.changed = anyio.Event()
                    await self.changed.wait()
                ok = True
            emit({"event": "text" if ok else "timeout", "text": str(self.text)})
        elif name == "awareness":
            names = [
                state["user"]["name"]
                for state in self.awareness.states.values()
                if isinstance(state, dict)
                and isinstance(state.get("user"), dict)
                and isinstance(state["user"].get("name"), str)
            ]
            emit({"event": "awareness", "names": sorted(names)})
        elif name == "quit":
            await self.quit()
        else:
            raise ValueError(f"unknown command {name!r}")

    async def main(self) -> None:
        async with anyio.create_task_group() as tg:
            self.tg = tg
            tg.start_soon(self.connect_forever)
            await tg.start(self.awareness.start)  # renews our state, expires silent peers
            stdin = anyio.wrap_file(sys.stdin)
            async for line in stdin:
                if not line.strip():
                    continue
                try:
                    await self.run(json.loads(line))
                except Exception as exc:
                    log(f"command failed: {exc!r}")
                    emit({"event": "error", "message": str(exc)})
                if self.quitting:
                    break
            if not self.quitting:
                await self.quit()
            tg.cancel_scope.cancel()


async def first_of(*events: anyio.Event) -> None:
    async with anyio.create_task_group() as tg:

        async def wait(event: anyio.Event) -> None:
            await event.wait()
            tg.cancel_scope.cancel()

        for event in events:
            tg.start_soon(wait, event)


def describe(exc: Exception) -> str:
    if isinstance(exc, InvalidStatus):
        return f"Unexpected server response: {exc.response.status_code}"
    return str(exc) or type(exc).__name__


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", action="append", required=True, help="ws base URL (repeatable)")
    parser.add_argument("--room", required=True)
    parser.add_argument("--token")
    parser.add_argument("--name")
    return parser.parse_args()


if __name__ == "__main__":
    anyio.run(Client(parse_args()).main)

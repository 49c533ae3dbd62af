# SPDX-License-Identifier: MIT
"""botpulse_notify: tell the local botpulse-agent what your bot is doing, from Python.

One file, standard library only (Python 3.7+): copy it next to your bot. Each call sends one
request over the agent's Unix SOCK_SEQPACKET socket and waits (up to 2 s) for the agent's
reply, "ok" or "error: <reason>". The protocol is in the botpulse README ("Signals from the
bot"); this is the Python twin of botpulse_notify.h.

    from botpulse_notify import Notifier

    bp = Notifier("grid-1")            # socket: $BOTPULSE_NOTIFY_SOCKET, else the default
    bp.tick()                          # every strategy evaluation, trade or not
    bp.market(last_candle_ms)          # time of the newest market data (Unix ms)
    bp.exposure(positions=2, orders=5)
    bp.metric(unprotected_positions=0, drawdown_pct=3.25)
    bp.api(ok=True, latency_ms=230)    # after each exchange API call
    bp.trade(id="T-1842", symbol="BTC-USDT", side="buy")
    bp.maintenance("10m", reason="deploying v2")   # bp.maintenance(0) ends it
    bp.event("rebalanced 0.5 BTC to cold wallet")

Every call returns a Reply: a str ("ok" or "error: ...") with .ok. None of them raises: a
missing agent, a timeout or a value the protocol cannot carry comes back as an error reply,
so monitoring never stops the bot. Log the failures, or ignore them.

A bot started by the agent itself (a restart line) finds the socket in
$BOTPULSE_NOTIFY_SOCKET; when the agent's bot section names a notify_user, only that user
(and root) may speak for the bot.
"""

import math
import os
import socket
import time

__all__ = ["DEFAULT_SOCKET", "Notifier", "Reply", "notify"]

DEFAULT_SOCKET = "/var/lib/botpulse-agent/notify.sock"
MAX_REQUEST = 1024  # bytes; the agent refuses longer requests
_TIMEOUT_S = 2.0


class Reply(str):
    """The agent's answer: "ok", or "error: <reason>" (ours when it could not be asked)."""

    @property
    def ok(self):
        return self == "ok"


def _socket_path(path):
    return path or os.environ.get("BOTPULSE_NOTIFY_SOCKET") or DEFAULT_SOCKET


def notify(line, path=None, timeout=_TIMEOUT_S):
    """Sends one request line ("tick bot=grid-1") and returns the agent's Reply."""
    try:
        data = line.encode("ascii")
    except UnicodeEncodeError:
        return Reply("error: the request must be ASCII")
    if len(data) > MAX_REQUEST:
        return Reply("error: request too large (max %d bytes)" % MAX_REQUEST)
    if any(b < 0x20 or b == 0x7F for b in data):
        return Reply("error: the request holds a control character")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            s.settimeout(timeout)
            s.connect(_socket_path(path))
            s.send(data)
            reply = s.recv(512)
    except OSError as e:  # no agent, a timeout: never stop the bot for it
        return Reply("error: cannot reach the agent at %s: %s" % (_socket_path(path), e))
    if not reply:
        return Reply("error: the agent closed the connection without a reply")
    return Reply(reply.decode("ascii", "replace"))


def _word(key, value):
    """key=value for a value that must be one word of printable ASCII."""
    text = str(value)
    if not text or any(c.isspace() or not (" " < c < "\x7f") for c in text):
        raise ValueError("%s: %r is not one word of printable ASCII" % (key, value))
    return "%s=%s" % (key, text)


def _whole(key, value, what="a whole number"):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError("%s: %r is not %s" % (key, value, what))
    return "%s=%d" % (key, int(value))


def _ms(key, value):
    return _whole(key, value, "a number of milliseconds")


def _number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("metric %s: %r is not a finite number" % (name, value))
    return "%s=%s" % (name, repr(float(value)) if isinstance(value, float) else str(value))


def _duration(value):
    if isinstance(value, str):
        return _word("for", value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError("for: %r is not a duration" % (value,))
    return "for=%dms" % int(round(value * 1000))  # seconds, as time.sleep takes them


class Notifier:
    """Requests for one bot. socket_path: the agent's notify socket (default:
    $BOTPULSE_NOTIFY_SOCKET, else /var/lib/botpulse-agent/notify.sock)."""

    def __init__(self, bot, socket_path=None, timeout=_TIMEOUT_S):
        self.bot = bot
        self.socket_path = socket_path
        self.timeout = timeout

    def _send(self, verb, *parts, rest=None):
        """verb bot=BOT parts... [rest]; rest (reason=/text=) takes the rest of the line."""
        try:
            words = [verb, _word("bot", self.bot)]
            words += [p() if callable(p) else p for p in parts if p is not None]
        except ValueError as e:
            return Reply("error: %s" % e)
        if rest is not None:
            words.append(rest)
        return notify(" ".join(words), self.socket_path, self.timeout)

    def send(self, line):
        """Any request line, as the agent takes it."""
        return notify(line, self.socket_path, self.timeout)

    def tick(self, ts_ms=None):
        """The strategy loop evaluated (trade or not); ts_ms defaults to now."""
        return self._send("tick", None if ts_ms is None else (lambda: _ms("ts", ts_ms)))

    def market(self, ts_ms):
        """Time (Unix ms) of the newest market data the bot has."""
        return self._send("market", lambda: _ms("ts", ts_ms))

    def exposure(self, positions, orders):
        """Open positions and resting orders."""
        return self._send(
            "exposure", lambda: _whole("positions", positions), lambda: _whole("orders", orders)
        )

    def metric(self, **values):
        """Custom metrics, NAME=number (NAME of [a-z0-9_]{1,32}, at most 16 per bot)."""
        if not values:
            return Reply("error: no metric given")
        return self._send("metric", *[(lambda n=n, v=v: _number(n, v)) for n, v in values.items()])

    def api(self, ok, latency_ms=None):
        """One exchange API call's outcome (and how long it took)."""
        return self._send(
            "api",
            "result=%s" % ("ok" if ok else "error"),
            None if latency_ms is None else (lambda: _ms("latency_ms", latency_ms)),
        )

    def trade(self, id=None, symbol=None, side=None, ts_ms=None):
        """A trade; ts_ms defaults to now. side: "buy" or "sell"."""
        return self._send(
            "trade",
            None if id is None else (lambda: _word("id", id)),
            None if symbol is None else (lambda: _word("symbol", symbol)),
            None if side is None else (lambda: _word("side", side)),
            None if ts_ms is None else (lambda: _ms("ts", ts_ms)),
        )

    def maintenance(self, duration, reason=None):
        """Declares maintenance for duration ("10m", "2h", or seconds); 0 ends it."""
        rest = None if not reason else "reason=%s" % reason
        return self._send("maintenance", lambda: _duration(duration), rest=rest)

    def event(self, text):
        """A free-form event, delivered at QoS 1 (up to 256 bytes)."""
        return self._send("event", rest="text=%s" % text)

    @staticmethod
    def now_ms():
        """Unix ms now, for tick/market/trade."""
        return int(time.time() * 1000)

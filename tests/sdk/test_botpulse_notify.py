# SPDX-License-Identifier: MIT
"""The Python notify helper (deploy/sdk/botpulse_notify.py) against the real agent: a private
mosquitto on a free loopback port, botpulse-agent with two bots, every verb sent from Python
and answered "ok", what the agent then publishes (the trade, the signals and metrics in the
heartbeat), its refusals coming back as error replies (unknown bot, a value the protocol
cannot carry, a sender the bot's notify_user does not allow), and no exception when no agent
listens. Run by ctest (label integration) with BOTPULSE_AGENT_BIN and BOTPULSE_SDK_DIR set."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.environ.get("BOTPULSE_SDK_DIR", ""))
import botpulse_notify  # noqa: E402
from botpulse_notify import Notifier  # noqa: E402

AGENT = os.environ.get("BOTPULSE_AGENT_BIN", "")
ROOT = "botpulse/v1"
NOBODY = 65534


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class AgentFromPython(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="botpulse-sdk-py-")
        os.chmod(cls.dir, 0o755)
        cls.procs = []
        cls.port = free_port()
        conf = os.path.join(cls.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\n" % cls.port)
            if os.getuid() == 0:
                f.write("user root\n")
        mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"  # /usr/sbin: not on every PATH
        cls.start("mosquitto", [mosquitto, "-c", conf])
        wait_for("mosquitto", lambda: cls.accepts(cls.port))
        cls.socket = os.path.join(cls.dir, "agent", "notify.sock")
        cls.other = NOBODY if os.getuid() == 0 else os.getuid() + 1
        with open(os.path.join(cls.dir, "bot.pid"), "w") as f:
            f.write("%d\n" % os.getpid())
        ini = os.path.join(cls.dir, "agent.ini")
        with open(ini, "w") as f:
            f.write(
                "[agent]\nid = py-agent\nhost = py-host\nheartbeat = 500ms\nstats = 10s\n"
                "state_dir = %s/agent\nnotify_socket = %s\nlog_level = debug\n"
                "[mqtt]\nurl = tcp://127.0.0.1:%d\n"
                "[bot py-bot]\npid_file = %s/bot.pid\n"
                "[bot locked]\npid_file = %s/bot.pid\nnotify_user = %d\n"
                % (cls.dir, cls.socket, cls.port, cls.dir, cls.dir, cls.other + 1)
            )
        cls.agent = cls.start("agent", [AGENT, "-c", ini])
        wait_for("the agent's socket", lambda: os.path.exists(cls.socket))

    @classmethod
    def tearDownClass(cls):
        codes = {}
        for name, p in reversed(cls.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
            try:
                codes[name] = p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                codes[name] = "killed"
        failed = codes.get("agent") != 0
        if failed or os.environ.get("BPT_KEEP"):
            with open(os.path.join(cls.dir, "agent.log")) as f:
                sys.stderr.write(f.read()[-6000:])
        shutil.rmtree(cls.dir, ignore_errors=True)
        if failed:
            raise AssertionError("the agent did not stop cleanly: %r" % codes.get("agent"))

    @classmethod
    def start(cls, name, argv):
        log = open(os.path.join(cls.dir, name + ".log"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        cls.procs.append((name, p))
        return p

    @staticmethod
    def accepts(port):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def subscribe(self, topic, count=1, timeout=15):
        """Starts mosquitto_sub for count messages on topic; returns a function that waits for
        them and returns the payloads."""
        p = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.port), "-t", topic,
             "-C", str(count), "-W", str(timeout)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        time.sleep(0.3)  # subscribed before the message goes out

        def collect():
            out, _ = p.communicate(timeout=timeout + 5)
            return [json.loads(line) for line in out.splitlines() if line.strip()]

        return collect

    def test_every_verb_is_taken(self):
        bp = Notifier("py-bot", socket_path=self.socket)
        now = Notifier.now_ms()
        trades = self.subscribe(ROOT + "/agents/py-agent/bots/py-bot/trades")
        reply = bp.trade(id="T-py-1", symbol="BTC-USDT", side="buy")
        self.assertEqual(reply, "ok")
        self.assertTrue(reply.ok)
        got = trades()
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0]["trade"]["id"], "T-py-1")
        self.assertEqual(got[0]["trade"]["side"], "buy")
        for name, r in [
            ("tick", bp.tick()),
            ("market", bp.market(now - 500)),
            ("exposure", bp.exposure(positions=2, orders=5)),
            ("metric", bp.metric(unprotected_positions=0, drawdown_pct=3.25)),
            ("api", bp.api(ok=False, latency_ms=230)),
            ("maintenance", bp.maintenance("10m", reason="deploying v2")),
            ("event", bp.event("rebalanced 0.5 BTC to cold wallet")),
        ]:
            self.assertEqual(r, "ok", name)
        # The agent carries them in the bot's next heartbeat.
        beats = self.subscribe(ROOT + "/agents/py-agent/bots/py-bot/heartbeat")
        hb = beats()[0]
        self.assertEqual(hb["metrics"], {"unprotected_positions": 0, "drawdown_pct": 3.25})
        self.assertEqual(hb["signals"]["positions"], 2)
        self.assertEqual(hb["signals"]["api_errors"], 1)
        self.assertEqual(hb["signals"]["maintenance_reason"], "deploying v2")
        self.assertGreaterEqual(hb["signals"]["tick_ts"], now)
        self.assertEqual(bp.maintenance(0), "ok")

    def test_refusals_are_replies(self):
        bp = Notifier("py-bot", socket_path=self.socket)
        self.assertEqual(Notifier("ghost", socket_path=self.socket).tick(), "error: unknown bot 'ghost'")
        r = bp.trade(id="T 1 bot=locked")  # would smuggle a key: refused before sending
        self.assertFalse(r.ok)
        self.assertIn("not one word", r)
        r = bp.metric(bad=float("nan"))
        self.assertIn("not a finite number", r)
        r = bp.metric(**{"Upper": 1})  # the agent's own reason
        self.assertTrue(r.startswith("error: metric name 'Upper'"), r)
        r = bp.event("line\nbreak")
        self.assertIn("control character", r)

    def test_no_agent_no_exception(self):
        r = Notifier("py-bot", socket_path=os.path.join(self.dir, "nothing.sock")).tick()
        self.assertFalse(r.ok)
        self.assertTrue(r.startswith("error: cannot reach the agent"), r)

    def tick_as_other(self):
        """tick for [bot locked] from a uid it does not allow; the agent's reply."""
        if os.getuid() != 0:
            return Notifier("locked", socket_path=self.socket).tick()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child speaks as nobody
            try:
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                os.write(w, Notifier("locked", socket_path=self.socket).tick().encode())
            finally:
                os._exit(0)
        os.close(w)
        os.waitpid(pid, 0)
        reply = os.read(r, 512).decode()
        os.close(r)
        return reply

    def test_notify_user_is_enforced(self):
        """[bot locked] takes requests from one uid only: another uid gets the agent's error,
        counted, and logged once a minute at most."""
        if os.getuid() == 0:
            os.chmod(os.path.dirname(self.socket), 0o755)
            os.chmod(self.socket, 0o666)  # anyone may connect: the uid check is what is left
            self.assertEqual(Notifier("locked", socket_path=self.socket).tick(), "ok")  # root
        sender = NOBODY if os.getuid() == 0 else os.getuid()
        for _ in range(3):
            reply = self.tick_as_other()
            self.assertTrue(reply.startswith("error: uid %d (pid " % sender), reply)
            self.assertIn("may not speak for bot locked", reply)
        self.assertEqual(Notifier("py-bot", socket_path=self.socket).tick(), "ok")
        with open(os.path.join(self.dir, "agent.log")) as f:
            logged = [l for l in f if "notify refused: uid %d" % sender in l]
        self.assertEqual(len(logged), 1, logged)  # the other two were counted, not logged
        self.assertIn("(1 refused since start", logged[0])

if __name__ == "__main__":
    if not AGENT or not os.path.exists(AGENT):
        sys.exit("set BOTPULSE_AGENT_BIN to the built botpulse-agent")
    unittest.main(verbosity=2)

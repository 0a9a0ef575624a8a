#!/usr/bin/env python3
"""Webhook deliveries per second: notify_webhook beside a bare libcurl multi client.

Run from the build directory (after `make check TESTS=`, which builds the plugin):
  python3 ../../bench/webhooks.py

For each case (1 endpoint; 100 endpoints, one of them dead), a site script
queues alerts at start; the figure is deliveries confirmed sent per second,
from the daemon's start to the last one (a read-only poll of its database
every 50 ms). The baseline, in the same run, posts the same number of
bodies to the same receiver with the curl tool's --parallel mode (libcurl
multi), with as many transfers in flight as the plugin allows (4 per live
endpoint, at most 100). The receiver is Python's threaded http.server with
TLS (plugins/notify_webhook/tests/receiver.py): it bounds both figures alike.
Then the latency an API write gains when it causes a notification: N
structures created one after the other over the socket (POST /v1/structures,
as the admin), p50 and p99, on a daemon without scripts beside the same
daemon with a script that queues a notification on each structure.created
(in its handler's transaction) and notify_webhook delivering it to one
endpoint; and the time from the write's answer to the webhook's arrival.
Prints figures; asserts nothing.
"""

import base64
import http.client
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.getcwd()
sys.path.insert(0, os.path.join(TOP, "plugins", "notify_webhook", "tests"))
from receiver import Receiver, make_ca  # noqa: E402

SECRET = "whsec_" + base64.b64encode(b"K" * 32).decode()
BODY = ('{"date":"2026-03-02","id":"msg_tremplin_alert_1","kind":"pass_ending",'
        '"text":"Un PASS IAE arrive à échéance : la suite du parcours est à préparer."}')


def lua(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"%s"' % v.replace("\\", "\\\\").replace('"', '\\"')
    if isinstance(v, dict):
        return "{ " + ", ".join("%s = %s" % (k, lua(x)) for k, x in v.items()) + " }"
    raise TypeError(v)


def run_daemon(work, receiver, ca, live, dead, alerts):
    keys = os.path.join(work, "keys")
    with open(keys, "w") as f:
        f.write(SECRET + "\n")
    os.chmod(keys, 0o600)
    endpoints = {}
    for i in range(live):
        endpoints["e%d" % i] = {"url": receiver.url("/ok/%d" % i), "keys_file": keys}
    if dead:
        endpoints["dead"] = {"url": "https://localhost:1/", "keys_file": keys}
    os.makedirs(os.path.join(work, "lua", "rules"), exist_ok=True)
    with open(os.path.join(work, "lua", "rules", "n.lua"), "w") as f:
        f.write("for i = 1, %d do notify { kind = 'pass_ending', recipient_role = 'coordinator',"
                " dedup_key = 'b' .. i .. ':coordinator', message = 'Un message.' } end\n"
                % alerts)
    plugins = os.path.join(work, "plugins")
    os.makedirs(plugins, exist_ok=True)
    os.symlink(os.path.join(BUILD, "plugins/notify_webhook/.libs/notify_webhook.so"),
               os.path.join(plugins, "notify_webhook.so"))
    db = os.path.join(work, "t.db")
    conf = os.path.join(work, "t.conf")
    with open(conf, "w") as f:
        f.write("socket = %s\ndatabase = %s\nplugin_dir = %s\nscript_dir = %s\nca_file = %s\n"
                % (lua(os.path.join(work, "s.sock")), lua(db), lua(plugins),
                   lua(os.path.join(work, "lua")), lua(ca)))
        f.write('staff = { { name = "Ops", unix_user = "root", role = "admin" },'
                ' { name = "Coord", unix_user = "daemon", role = "coordinator" } }\n')
        f.write("scripts = { n = { role = \"coordinator\","
                " limits = { instructions = 100000000, time_ms = 5000,"
                " notifications_per_hour = 100000, outbox_pending = 100000 } } }\n")
        f.write("plugins = { notify_webhook = %s }\n"
                % lua({"endpoints": endpoints, "allow_private": True, "timeout_ms": 5000}))
    expected = alerts * live
    t0 = time.monotonic()
    proc = subprocess.Popen([os.path.join(BUILD, "tremplind"), "-d", "-f", conf],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "log"), "w"))
    sent = 0
    try:
        while time.monotonic() - t0 < 600:
            time.sleep(0.05)
            try:
                con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=1)
                sent = con.execute("SELECT count(*) FROM notify_webhook_deliveries"
                                   " WHERE state = 'sent'").fetchone()[0]
                con.close()
            except sqlite3.Error:
                continue
            if sent >= expected:
                break
        return sent, time.monotonic() - t0
    finally:
        proc.terminate()
        proc.wait()


def run_curl(work, receiver, ca, live, count):
    cfg = os.path.join(work, "curl.cfg")
    with open(os.path.join(work, "body.json"), "w") as f:
        f.write(BODY)
    with open(cfg, "w") as f:
        for i in range(count):
            f.write('url = "%s"\nrequest = "POST"\ndata-binary = "@%s"\n'
                    'header = "Content-Type: application/json"\n'
                    'header = "webhook-id: msg_tremplin_alert_%d"\noutput = "/dev/null"\ncacert = "%s"\n'
                    % (receiver.url("/ok/%d" % (i % live)), os.path.join(work, "body.json"), i,
                       ca))
            if i + 1 < count:
                f.write("next\n")
    t0 = time.monotonic()
    subprocess.run(["curl", "-s", "--parallel", "--parallel-max", str(min(100, 4 * live)),
                    "-K", cfg], check=True)
    return count, time.monotonic() - t0


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def siret(i):
    """A 14-digit SIRET that passes the Luhn check, made from i."""
    head = "%013d" % (10 ** 12 + i)
    for last in range(10):
        digits = [int(x) for x in head + str(last)]
        total = 0
        for k, dgt in enumerate(reversed(digits)):
            if k % 2:
                dgt *= 2
                dgt -= 9 if dgt > 9 else 0
            total += dgt
        if total % 10 == 0:
            return head + str(last)
    raise AssertionError(i)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def write_latency(work, receiver, ca, notify, n):
    """n structures created; per write, ms from request to answer (and to arrival)."""
    keys = os.path.join(work, "keys")
    with open(keys, "w") as f:
        f.write(SECRET + "\n")
    os.chmod(keys, 0o600)
    lua_dir = os.path.join(work, "lua")
    os.makedirs(os.path.join(lua_dir, "rules"), exist_ok=True)
    with open(os.path.join(lua_dir, "rules", "w.lua"), "w") as f:
        f.write("on('structure.created', function(e) notify { kind = 'pass_ending',"
                " recipient_role = 'coordinator', dedup_key = 's' .. e.id .. ':coordinator',"
                " message = 'Un message.' } end)\n")
    plugins = os.path.join(work, "plugins")
    os.makedirs(plugins, exist_ok=True)
    if not os.path.exists(os.path.join(plugins, "notify_webhook.so")):
        os.symlink(os.path.join(BUILD, "plugins/notify_webhook/.libs/notify_webhook.so"),
                   os.path.join(plugins, "notify_webhook.so"))
    db = os.path.join(work, "w%d.db" % notify)
    sock = os.path.join(work, "w%d.sock" % notify)
    conf = os.path.join(work, "w%d.conf" % notify)
    with open(conf, "w") as f:
        f.write("socket = %s\ndatabase = %s\nplugin_dir = %s\nscript_dir = %s\nca_file = %s\n"
                % (lua(sock), lua(db), lua(plugins), lua(lua_dir), lua(ca)))
        f.write('staff = { { name = "Ops", unix_user = "root", role = "admin" },'
                ' { name = "Coord", unix_user = "daemon", role = "coordinator" } }\n')
        if notify:
            f.write('scripts = { w = { role = "coordinator" } }\n')
            f.write("plugins = { notify_webhook = %s }\n"
                    % lua({"endpoints": {"e": {"url": receiver.url("/lat"), "keys_file": keys}},
                           "allow_private": True}))
    proc = subprocess.Popen([os.path.join(BUILD, "tremplind"), "-d", "-f", conf],
                            stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(work, "wlog%d" % notify), "w"))
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(sock):
            if time.monotonic() > deadline or proc.poll() is not None:
                sys.exit("tremplind did not start: see %s" % os.path.join(work, "wlog%d" % notify))
            time.sleep(0.05)
        c = UnixHTTP(sock)
        lat, arrival = [], []
        for i in range(n):
            body = json.dumps({"name": "Atelier %d" % i, "kind": "ACI",
                               "siret": siret(i)}).encode()
            before = len(receiver.got("/lat")) if notify else 0
            t = time.monotonic()
            c.request("POST", "/v1/structures", body, {"Content-Type": "application/json"})
            a = c.getresponse()
            a.read()
            lat.append((time.monotonic() - t) * 1000)
            if a.status != 201:
                sys.exit("POST /v1/structures: %d" % a.status)
            if notify:
                while len(receiver.got("/lat")) <= before:
                    time.sleep(0.0005)
                arrival.append((time.monotonic() - t) * 1000)
        return lat, arrival
    finally:
        proc.terminate()
        proc.wait()


def main():
    n = int(os.environ.get("WRITES", 300))
    with tempfile.TemporaryDirectory() as work:
        ca = make_ca(work)
        r = Receiver(work)
        try:
            bare, _ = write_latency(work, r, ca, False, n)
            lat, arrival = write_latency(work, r, ca, True, n)
        finally:
            r.close()
        print("API write (POST /v1/structures), %d writes:" % n)
        print("  no script, no channel          p50 %7.3f ms  p99 %7.3f ms"
              % (pct(bare, 50), pct(bare, 99)))
        print("  a notification per write       p50 %7.3f ms  p99 %7.3f ms"
              % (pct(lat, 50), pct(lat, 99)))
        print("  write to webhook received      p50 %7.1f ms  p99 %7.1f ms"
              % (pct(arrival, 50), pct(arrival, 99)))
    for live, dead, alerts in ((1, False, 1000), (99, True, 50)):
        with tempfile.TemporaryDirectory() as work:
            ca = make_ca(work)
            r = Receiver(work)
            try:
                n, s = run_daemon(work, r, ca, live, dead, alerts)
                print("notify_webhook  %3d endpoints%s: %6d deliveries in %6.2f s: %7.1f/s"
                      % (live + dead, " (1 dead)" if dead else "", n, s, n / s))
                n, s = run_curl(work, r, ca, live, alerts * live)
                print("curl --parallel %3d endpoints        : %6d posts      in %6.2f s: %7.1f/s"
                      % (live, n, s, n / s))
            finally:
                r.close()


if __name__ == "__main__":
    main()

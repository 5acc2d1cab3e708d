#!/usr/bin/env python3
"""A QMP session through the qemu.qmp library (what scripts and tools use), against the
QMP unix socket given as the only argument.

Prints one line per step ("ok: ...") and "session complete" at the end; exits 0 on success,
1 on a failed check, and 77 when qemu.qmp cannot be imported (the caller reports a skip).
"""

import asyncio
import os
import sys
import tempfile

try:
    from qemu.qmp import ExecuteError, QMPClient
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"qemu.qmp is not importable: {e}")
    sys.exit(77)

TIMEOUT = 20


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}")
        sys.exit(1)
    print(f"ok: {what}")


async def session(path):
    qmp = QMPClient("qmp-session-test")
    # connect() reads the greeting and negotiates (with enable:["oob"] when offered), sending
    # every message without a newline.
    await asyncio.wait_for(qmp.connect(path), TIMEOUT)
    greeting = qmp.greeting
    check(greeting is not None, "greeting received")
    triple = greeting.QMP.version["qemu"]
    check(
        (triple["major"], triple["minor"], triple["micro"]) == (10, 0, 2),
        f"greeting version {triple}",
    )
    check(list(greeting.QMP.capabilities) == ["oob"], "greeting offers oob")

    status = await asyncio.wait_for(qmp.execute("query-status"), TIMEOUT)
    check(status == {"status": "running", "running": True}, f"query-status {status}")

    info = await asyncio.wait_for(qmp.execute("query-version"), TIMEOUT)
    check(info["qemu"]["major"] == 10, "query-version")

    with qmp.listener("STOP") as listener:
        ret = await asyncio.wait_for(qmp.execute("stop"), TIMEOUT)
        check(ret == {}, "stop returns {}")
        event = await asyncio.wait_for(listener.get(), TIMEOUT)
        check(event["event"] == "STOP" and "data" not in event, "STOP event without data")
        check(
            set(event["timestamp"]) == {"seconds", "microseconds"},
            "event timestamp",
        )

    status = await asyncio.wait_for(qmp.execute("query-status"), TIMEOUT)
    check(status == {"status": "paused", "running": False}, f"query-status {status}")

    try:
        await asyncio.wait_for(qmp.execute("no-such-command"), TIMEOUT)
        check(False, "unknown command raises ExecuteError")
    except ExecuteError as e:
        check(
            e.error.error.class_ == "CommandNotFound"
            and e.error.error.desc == "The command no-such-command has not been found",
            "unknown command raises ExecuteError CommandNotFound",
        )

    try:
        await asyncio.wait_for(qmp.execute("migrate-pause", oob=True), TIMEOUT)
        check(False, "exec-oob migrate-pause fails")
    except ExecuteError as e:
        check(
            e.error.error.desc
            == "migrate-pause is currently only supported during postcopy-active or postcopy-recover state",
            "exec-oob migrate-pause answered out of band",
        )

    # File descriptor passing as qemu.qmp does it: the fd rides on a single space, then the
    # command that takes it follows in a separate write.
    with tempfile.TemporaryFile() as f:
        qmp.send_fd_scm(f.fileno())
        ret = await asyncio.wait_for(
            qmp.execute("getfd", {"fdname": "pyfd"}), TIMEOUT
        )
        check(ret == {}, "getfd with send_fd_scm")
        ret = await asyncio.wait_for(
            qmp.execute("closefd", {"fdname": "pyfd"}), TIMEOUT
        )
        check(ret == {}, "closefd")

    with qmp.listener("RESUME") as listener:
        await asyncio.wait_for(qmp.execute("cont"), TIMEOUT)
        event = await asyncio.wait_for(listener.get(), TIMEOUT)
        check(event["event"] == "RESUME", "RESUME event")

    with qmp.listener("SHUTDOWN") as listener:
        ret = await asyncio.wait_for(qmp.execute("quit"), TIMEOUT)
        check(ret == {}, "quit returns {}")
        event = await asyncio.wait_for(listener.get(), TIMEOUT)
        check(
            event["data"] == {"guest": False, "reason": "host-qmp-quit"},
            f"SHUTDOWN event {event['data']}",
        )
    try:
        await asyncio.wait_for(qmp.disconnect(), TIMEOUT)
    except Exception as e:  # the server closed first: that is what quit does
        print(f"note: disconnect after quit: {type(e).__name__}: {e}")
    print("session complete")


def main():
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} QMP_SOCKET_PATH")
        sys.exit(2)
    path = sys.argv[1]
    if not os.path.exists(path):
        print(f"no socket at {path}")
        sys.exit(1)
    asyncio.run(session(path))


if __name__ == "__main__":
    main()

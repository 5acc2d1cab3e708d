#!/usr/bin/env python3
"""Checks the test guest's virtio-balloon driver against QEMU's device.

Boots the guest ELF under qemu-system-x86_64 (KVM) with -device
virtio-balloon-pci, drives the serial console (stdio) and a QMP socket, and prints
a transcript: QMP traffic as "-> request" / "<- reply" / "<- event" lines, serial
exchanges as "serial> command" / "serial< reply", plus QEMU's RSS. Then it times
inflating and deflating 256 MiB a few times (query-balloon polled every 2 ms; those
polls are not in the transcript).

    guest/scripts/qemu-balloon-check.py <guest.elf> [machine] [extra -device options]

Example: qemu-balloon-check.py target/release/build/vmm-*/out/guest.elf pc
         qemu-balloon-check.py guest.elf q35 ,deflate-on-oom=on,free-page-reporting=on
(the OOM and free page reporting steps run when those options are given)
"""
import json
import os
import select
import socket
import subprocess
import sys
import time

MIB = 1 << 20


class Vm:
    def __init__(self, elf, machine="pc", device_options=""):
        self.sock_path = f"/tmp/qemu-balloon-check-{os.getpid()}.sock"
        if os.path.exists(self.sock_path):
            os.unlink(self.sock_path)
        args = [
            "qemu-system-x86_64", "-machine", f"{machine},accel=kvm", "-cpu", "qemu64",
            "-m", "512", "-smp", "2", "-display", "none", "-serial", "stdio",
            "-monitor", "none", "-kernel", elf,
            "-qmp", f"unix:{self.sock_path},server=on,wait=off",
            "-device", "virtio-balloon-pci,id=balloon0" + device_options,
        ]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, bufsize=0)
        self.serial = b""
        self.qmp_buf = b""
        self.sock = None
        self.quiet = False

    def log(self, text):
        if not self.quiet:
            print(text, flush=True)

    # Serial console.
    def wait_serial(self, needle, start=0, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            i = self.serial.find(needle.encode(), start)
            if i >= 0:
                end = self.serial.find(b"\n", i)
                if end >= 0:
                    return self.serial[i:end].decode().strip()
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.05)
            if ready:
                self.serial += os.read(self.proc.stdout.fileno(), 65536)
        raise TimeoutError(f"no {needle!r} on the serial console")

    def command(self, line, reply_prefix):
        start = len(self.serial)
        self.log(f"serial> {line}")
        self.proc.stdin.write(line.encode() + b"\r")
        reply = self.wait_serial(reply_prefix, start)
        self.log(f"serial< {reply}")
        return reply

    # QMP.
    def connect(self):
        for _ in range(200):
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(self.sock_path)
                break
            except OSError:
                time.sleep(0.05)
        self.log(f"<- {json.dumps(self.read_message())}")
        return self.execute("qmp_capabilities")

    def read_message(self, timeout=None):
        deadline = None if timeout is None else time.time() + timeout
        while b"\n" not in self.qmp_buf:
            left = None if deadline is None else max(0.0, deadline - time.time())
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                return None
            self.qmp_buf += self.sock.recv(65536)
        line, self.qmp_buf = self.qmp_buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, command, **arguments):
        request = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self.log(f"-> {json.dumps(request)}")
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        while True:
            message = self.read_message()
            self.log(f"<- {json.dumps(message)}")
            if "event" not in message:
                return message

    def events_until(self, predicate, timeout):
        """Logs events until one satisfies `predicate` (or the timeout)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            message = self.read_message(max(0.0, deadline - time.time()))
            if message is None:
                break
            self.log(f"<- {json.dumps(message)}")
            if "event" in message and predicate(message):
                return message
        return None

    def actual(self):
        quiet, self.quiet = self.quiet, True
        value = self.execute("query-balloon")["return"]["actual"]
        self.quiet = quiet
        return value

    def rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def close(self):
        self.proc.kill()
        self.proc.wait()


def balloon_change_to(value):
    return lambda m: m["event"] == "BALLOON_CHANGE" and m["data"]["actual"] == value


def main():
    elf = sys.argv[1]
    machine = sys.argv[2] if len(sys.argv) > 2 else "pc"
    options = sys.argv[3] if len(sys.argv) > 3 else ""
    vm = Vm(elf, machine, options)
    try:
        vm.wait_serial("ready")
        for line in vm.serial.decode().splitlines():
            if line.startswith(("ram:", "virtio-balloon:")):
                print(f"serial< {line.strip()}")
        vm.connect()
        vm.execute("query-balloon")
        vm.command("balloon", "balloon:")
        print(f"# QEMU RSS {vm.rss_mib():.1f} MiB")
        vm.command("fill", "fill:")
        vm.command("check", "check:")
        before = vm.rss_mib()
        print(f"# QEMU RSS {before:.1f} MiB after fill")
        vm.execute("balloon", value=256 * MIB)
        vm.events_until(balloon_change_to(256 * MIB), 30)
        vm.execute("query-balloon")
        vm.command("balloon", "balloon:")
        after = vm.rss_mib()
        print(f"# QEMU RSS {after:.1f} MiB after inflating: -{before - after:.1f} MiB"
              f" ({100 * (before - after) / 256:.1f}% of 256 MiB)")
        vm.command("check", "check:")
        vm.execute("balloon", value=512 * MIB)
        vm.events_until(balloon_change_to(512 * MIB), 30)
        vm.execute("query-balloon")
        vm.command("check", "check:")
        vm.command("fill", "fill:")
        vm.command("check", "check:")
        print(f"# QEMU RSS {vm.rss_mib():.1f} MiB after deflating and filling again")
        vm.execute("qom-get", path="balloon0", property="guest-stats")
        vm.execute("qom-set", path="balloon0", property="guest-stats-polling-interval", value=1)
        time.sleep(1.5)
        vm.execute("qom-get", path="balloon0", property="guest-stats")
        vm.command("stats", "stats:")
        time.sleep(1.5)
        vm.execute("qom-get", path="balloon0", property="guest-stats")

        if "deflate-on-oom=on" in options:
            vm.execute("balloon", value=256 * MIB)
            vm.events_until(balloon_change_to(256 * MIB), 30)
            vm.command("oom 300", "oom:")
            vm.command("balloon", "balloon:")
            vm.events_until(lambda m: False, 1.5)
            vm.execute("query-balloon")
            vm.execute("balloon", value=512 * MIB)
            vm.events_until(balloon_change_to(512 * MIB), 30)
        if "free-page-reporting=on" in options:
            vm.command("fill", "fill:")
            before = vm.rss_mib()
            print(f"# QEMU RSS {before:.1f} MiB")
            vm.command("report", "report:")
            print(f"# QEMU RSS {vm.rss_mib():.1f} MiB after the report:"
                  f" -{before - vm.rss_mib():.1f} MiB")
            vm.command("check", "check:")

        print("# timings (query-balloon polled every 2 ms)")
        vm.quiet = True
        for _ in range(5):
            for target, what in ((256 * MIB, "inflate"), (512 * MIB, "deflate")):
                vm.execute("balloon", value=target)
                start = time.time()
                while vm.actual() != target:
                    time.sleep(0.002)
                took = time.time() - start
                print(f"# {what} 256 MiB: {took * 1000:.0f} ms ({256 / took:.0f} MiB/s)")
    finally:
        vm.close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Records transcripts.rs from a real QEMU: each chunk is sent alone and QEMU's answer read
until it goes quiet. Run from anywhere: python3 record_transcripts.py (takes about 2 minutes)."""
import socket, subprocess, time, os, sys, tempfile
HERE=os.path.dirname(os.path.abspath(__file__))
SOCK=os.path.join(tempfile.mkdtemp(prefix="readline-rec-"), "m.sock")
CONNECT=b"<connect>"; RECONNECT=b"<reconnect>"
def rd(s, quiet=0.15, first=0.6):
    out=b""; s.settimeout(first)
    while True:
        try:
            d=s.recv(65536)
            if not d: break
            out+=d; s.settimeout(quiet)
        except socket.timeout: break
    return out
def record(chunks):
    if os.path.exists(SOCK): os.unlink(SOCK)
    p=subprocess.Popen(["qemu-system-x86_64","-machine","none","-nodefaults","-display","none","-monitor",f"unix:{SOCK},server=on,wait=off"],stdin=subprocess.DEVNULL)
    for _ in range(500):
        if os.path.exists(SOCK): break
        time.sleep(0.01)
    def conn():
        for _ in range(300):
            try:
                s=socket.socket(socket.AF_UNIX); s.connect(SOCK); return s
            except (ConnectionRefusedError, FileNotFoundError):
                time.sleep(0.01)
        raise RuntimeError("no qemu")
    s=conn(); steps=[(CONNECT, rd(s,0.2,2.0))]
    for k in chunks:
        if k==RECONNECT:
            s.close(); time.sleep(0.3); s=conn(); steps.append((RECONNECT, rd(s,0.2,2.0))); continue
        s.sendall(k)
        # no-output keys: short wait
        steps.append((k, rd(s,0.15,0.3)))
    s.close(); p.kill(); p.wait()
    return steps
def lit(b):
    r='b"'
    for c in b:
        if c==0x22: r+='\\"'
        elif c==0x5c: r+='\\\\'
        elif c==13: r+='\\r'
        elif c==10: r+='\\n'
        elif c==9: r+='\\t'
        elif 0x20<=c<0x7f: r+=chr(c)
        else: r+='\\x%02x'%c
    return r+'"'
SESSIONS={}
def S(name, chunks, doc): SESSIONS[name]=(chunks, doc)

S("editing", [b'a',b'b',b'c',b'\x1b[D',b'\x1b[D',b'X',b'\x1b[C',b'\r'], "Typing, left, insert in the middle, right, Enter.")
keys = [bytes([c]) for c in range(0,32) if c not in (10,13,27,9)] + [b'\x7f', b'\x9b', b'\x9bD', b'\x1b[A',b'\x1b[B',b'\x1b[C',b'\x1b[D',b'\x1b[E',b'\x1b[F',b'\x1b[H',b'\x1b[1~',b'\x1b[2~',b'\x1b[3~',b'\x1b[4~',b'\x1b[5~',b'\x1b[6~',b'\x1bOH',b'\x1bOF',b'\x1bOA',b'\x1bOD',b'\x1bb',b'\x1bf',b'\x1b\x7f',b'\x1b[1;5D', b'\x1b[Z', b'\x1b[13~', b'\x1b[12D', b'\x1b\x1b[D', b'\x1b[\x1b[D']
ch=[b'j1\r', b'j2\r']
for k in keys: ch += [b'ab cd ef\x1b[D\x1b[D', k, b'Z', b'\x05\x15']
S("keys", ch, "Every control byte and the usual escape sequences on `ab cd ef` with the cursor before `ef`, then `Z` to show where the cursor went; history holds `j1`, `j2`.")
S("esc_param", [b'abc', b'\x1b\r', b'\x1b[3D', b'\x9b~', b'\x1b[1D', b'\x9b~', b'\x1b[12', b'\x9bC', b'\x9b~'], "ESC swallows the next byte, even CR; CSI digits survive into an 8-bit CSI.")
S("empty_line_keys", [b'\x7f', b'\x08', b'\x17', b'\x15', b'\x04', b'\x1b[3~', b'\x1b[D', b'\x1b[C', b'\x01', b'\x05', b'\x0c'], "Editing keys on an empty line.")
S("ctrl_w", [b'  ab   cd  ', b'\x17', b'\x17', b'\x17', b'\x17', b'ab\tcd', b'\x1b[D\x1b[D\x1b[D', b'\x17', b'\x17'], "Ctrl-W over runs of spaces; Tab with no candidates.")
S("utf8_bytes", [b'\xc3\xa9', b'\x7f', b'x\xe2\x82\xacy', b'\x1b[D\x1b[D', b'\r'], "QEMU edits bytes, not characters.")
S("ctrl_l", [b'abc', b'\x1b[D', b'\x0c', b'd'], "Ctrl-L clears the screen and redraws.")
S("complete_one", [b'info bal', b'\t', b'\r'], "One candidate: inserted with a space.")
S("complete_in", [b'in', b'\t'], "One candidate for a command name.")
S("complete_info", [b'info ', b'\t'], "Many candidates: listed in columns, prompt and line redrawn.")
S("complete_empty", [b'\t'], "Tab on an empty line lists every command.")
S("complete_prefix", [b'info bl', b'\t', b'\t'], "Several candidates sharing a prefix: the prefix is inserted.")
S("complete_mid", [b'info bal', b'\x1b[D\x1b[D', b'\t'], "Completion of the text before the cursor.")
S("complete_mid2", [b'info ba', b'\x1b[D', b'\t'], "Completion with the cursor inside the word.")
S("complete_sto", [b'sto', b'\t'], "Two candidates, one a prefix of the other.")
S("complete_help", [b'help in', b'\t', b'\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D', b'\t'], "`help` completes command names; Tab on the first word.")
S("complete_nbd", [b'nb', b'\t', b't', b'\x7f', b'\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D', b'\t'], "Prefix of several, then completion in the middle of the line.")
S("history_move", [b'j1\r', b'j2\r', b'j3\r', b'\x1b[A', b'\x1b[A', b'\r', b'info history\r'], "A recalled line moves to the end of the history.")
S("history_walk", [b'j1\r', b'j2\r', b'\x1b[A', b'\x1b[A', b'\x1b[A', b'\x1b[B', b'\x1b[B', b'\x1b[B', b'\x1b[A', b'x', b'\r', b'info history\r'], "Up past the oldest, down past the newest (empty line), an edited recall is a new entry.")
S("history_cursor", [b'j1\r', b'j2\r', b'\x1b[A', b'\x15', b'\r', b'\x1b[A', b'\x1b[B', b'\r', b'\x1b[A',b'\r', b'info history\r'], "An empty line keeps the recall position.")
S("history_ctrl", [b'j1\r', b'j2\r', b'\x10', b'\x10', b'\x0e', b'\x0e', b'\x1b[F', b'\x1b[E', b'\x1b[A', b'abc', b'\x1b[A', b'\x1b[B', b'\x1b[B'], "Ctrl-P/N and CSI F/E walk the history; typing after a recall.")
S("pipelined", [b'ab\r\ncd\n\r', b'\x1b[A\x1b[A\x1b[A'], "CR, LF and CR LF each end a line; lines in one read.")
S("pipelined_history", [b'j1\rinfo history\rj2\r'], "`info history` sees only the lines before it, even when later lines came in the same read.")
S("history_full", [b'j%d\r'%i for i in range(66)] + [b'info history\r', b'\x1b[A', b'\r', b'\x1b[A'], "64 entries; re-entering the newest entry of a full history keeps the recall position.")
S("reconnect", [b'j1\r', b'ab\x1b[', RECONNECT, b'A', b'\x1b[A', b'\x1b[A', b'x'], "A new client gets the greeting and an empty line; history and nothing else survives.")

out=['''//! Transcripts recorded from QEMU 10.0.2 by a client writing one chunk at a time and reading
//! until QEMU went quiet (`qemu-system-x86_64 -machine none -nodefaults -display none -monitor
//! unix:…,server=on,wait=off`). Each step is (bytes sent, bytes QEMU sent back); `<connect>`
//! and `<reconnect>` stand for a client connecting.
// Generated by record_transcripts.py in this directory; do not edit by hand.

pub(crate) const CONNECT: &[u8] = b"<connect>";
pub(crate) const RECONNECT: &[u8] = b"<reconnect>";

pub(crate) struct Transcript {
    pub name: &'static str,
    pub steps: &'static [(&'static [u8], &'static [u8])],
}

pub(crate) const TRANSCRIPTS: &[Transcript] = &[''']
for name,(chunks,doc) in SESSIONS.items():
    steps=record(chunks)
    out.append('    // %s' % doc)
    out.append('    Transcript {\n        name: "%s",\n        steps: &[' % name)
    for k,o in steps:
        out.append('            (%s, %s),' % (lit(k), lit(o)))
    out.append('        ],\n    },')
    print(name, len(steps), file=sys.stderr)
out.append('];\n')
open(os.path.join(HERE,'transcripts.rs'),'w').write('\n'.join(out))

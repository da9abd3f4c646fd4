#!/usr/bin/env python3
"""Time from exec of `ktui --demo` to its first frame showing the crash table, in a 120x40 pty.
Usage: python3 benches/demo_first_frame.py target/release/ktui"""
import os, pty, time, sys, select, statistics, fcntl, termios, struct
def once(binary):
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 120, 0, 0))
        os.environ['TERM']='xterm-256color'
        os.execv(binary, [binary, '--demo'])
    t0=time.monotonic(); buf=b''
    while True:
        r,_,_=select.select([fd],[],[],5)
        if not r: raise SystemExit('timeout')
        buf+=os.read(fd, 65536)
        if b'checkout' in buf and b'Crashed pods' in buf:
            t=time.monotonic()-t0; break
    os.write(fd,b'q')
    for _ in range(40):
        try: os.read(fd, 65536)
        except OSError: break
        done,_=os.waitpid(pid, os.WNOHANG)
        if done: break
        time.sleep(0.05)
    else:
        print('did not exit on q', file=sys.stderr); os.kill(pid, 9); os.waitpid(pid,0)
    os.close(fd)
    return t*1000
xs=[once(sys.argv[1]) for _ in range(20)]
print(f"ktui --demo first frame over a pty: median {statistics.median(xs):.1f} ms, max {max(xs):.1f} ms (n={len(xs)})")

"""Run a command, and start it again whenever it dies, until told to stop.

    python scripts/keep_running.py COMMAND [ARGS...]

`make stack` runs its Celery processes under this: honcho stops the whole stack when one
process exits, and a worker can die on its own (killed by the OOM killer or an operator,
or crashed by a broker connection lost at the wrong moment). SIGTERM and SIGINT are passed
to the command and end the loop. Exit status 78 (EX_CONFIG: e.g. the model is broken) is
not retried: that needs a person, so it is passed on and the stack stops.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time

CONFIG_ERROR = 78


def main(command: list[str]) -> int:
    child: subprocess.Popen | None = None
    stopping = False

    def forward(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    delay = 1.0
    while True:
        started = time.monotonic()
        child = subprocess.Popen(command)
        code = child.wait()
        if stopping or code == CONFIG_ERROR:
            return code
        # Back off when it keeps dying at once; start again promptly after a long run.
        delay = 1.0 if time.monotonic() - started > 60 else min(delay * 2, 30.0)
        print(f"keep_running: {command[0]} exited with status {code}; starting it again in "
              f"{delay:.0f} s", file=sys.stderr, flush=True)
        time.sleep(delay)
        if stopping:
            return code


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))

"""A local SMTP catcher for the demo: accepts every message on 127.0.0.1:1025, keeps it as an .eml file in
$GISSERVER_DATA_DIR/mail and prints one line for it, so that a newcomer sees the notifications arrive.

    .venv/bin/python scripts/mail_catcher.py [--port 1025]
"""

from __future__ import annotations

import argparse
import email
import os
import signal
import threading
from email import policy
from pathlib import Path

from aiosmtpd.controller import Controller


class Keeper:
    def __init__(self, folder: Path):
        self.folder = folder
        self.count = len(list(folder.glob("*.eml")))
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.count += 1
            path = self.folder / f"{self.count:06d}.eml"
        path.write_bytes(envelope.content)
        print(f"mail {self.count}: to {', '.join(envelope.rcpt_tos)}: {message['Subject']}  ({path})", flush=True)
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=1025)
    args = parser.parse_args()
    folder = Path(os.environ.get("GISSERVER_DATA_DIR", "var")) / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(Keeper(folder), hostname="127.0.0.1", port=args.port)
    controller.start()
    print(f"mail catcher on 127.0.0.1:{args.port}, keeping messages in {folder}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()

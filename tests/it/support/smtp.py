"""A loopback SMTP server for the delivery tests (PyPI aiosmtpd).

Usage: python3 smtp.py PORT DIR. Each received message is written to DIR as NAME.eml (raw) and
NAME.json (envelope recipients, subject, Message-ID, decoded text and HTML parts). Prints
"ready" once listening; runs until killed.

A slow relay: when DIR/delay holds a number of seconds, each message waits that long after its
DATA arrived (a NAME.started marker is written first) before it is accepted; a client that hung
up meanwhile gets nothing accepted, as with a real relay that never reached its reply.
"""
import asyncio
import email
import itertools
import json
import os
import sys
from email import policy

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, folder):
        self.folder = folder
        self.counter = itertools.count()

    async def handle_DATA(self, server, session, envelope):
        name = "%d-%06d" % (os.getpid(), next(self.counter))
        delay = 0.0
        try:
            with open(os.path.join(self.folder, "delay")) as f:
                delay = float(f.read().strip() or "0")
        except (OSError, ValueError):
            delay = 0.0
        if delay > 0:
            open(os.path.join(self.folder, name + ".started"), "w").close()
            await asyncio.sleep(delay)
            transport = getattr(server, "transport", None)
            if transport is None or transport.is_closing():
                return "451 client gone"
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(msg.get("Subject", "")),
            "from": str(msg.get("From", "")),
            "reply_to": str(msg.get("Reply-To", "")),
            "message_id": str(msg.get("Message-ID", "")),
            "text": text.get_content() if text is not None else "",
            "html": html.get_content() if html is not None else "",
        }
        with open(os.path.join(self.folder, name + ".eml"), "wb") as f:
            f.write(envelope.content)
        tmp = os.path.join(self.folder, name + ".json.tmp")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.folder, name + ".json"))
        return "250 Message accepted"


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    os.makedirs(folder, exist_ok=True)
    controller = Controller(Handler(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.new_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()

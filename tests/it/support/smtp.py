"""A loopback SMTP server for the delivery tests (PyPI aiosmtpd).

Usage: python3 smtp.py PORT DIR. Each received message is written to DIR as NAME.eml (raw) and
NAME.json (envelope recipients, subject, Message-ID, decoded text and HTML parts). Prints
"ready" once listening; runs until killed.
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
        name = "%d-%06d" % (os.getpid(), next(self.counter))
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

#!/usr/bin/env python3
"""The mail side of the email benchmark (issue 17), run by Benchmarks/bench-email.sh.

  email-bench.py fill MAILDIR COUNT
      Writes COUNT messages into MAILDIR/new directly (what Dovecot's LDA would have
      written, LF line ends, S= and W= in the name) and gives them to the mail user, so
      10,000 mails take seconds rather than minutes of SMTP. Deterministic (seeded).

  email-bench.py ceiling --port IMAPS_PORT --ca CA_FILE --user ADDRESS --password P [--expect N]
      The ceiling: Python's imaplib reading the same mailbox the way the Swift client does
      (UID FETCH of 50 UIDs at a time, the same items), timed from connect to the last
      byte; prints CEILING_FETCHED=, CEILING_SECONDS=, CEILING_RATE=.

  email-bench.py deliver --port SMTP_PORT --to ADDRESS --rate 50 --duration 20 --out FILE
      Sends RATE mails a second for DURATION seconds over plain SMTP to the MX port, one
      connection, and writes "<message-id without brackets>\t<unix time the DATA was
      answered 250>" per mail to FILE.

Mail shapes, in rotation by a seeded generator: plain UTF-8; Gmail's
multipart/alternative in quoted-printable; Outlook's HTML; KOI8-R; Windows-1251; 20 %
of them wrapped in multipart/mixed with a base64 attachment of 20-60 KB.
"""
import argparse
import base64
import grp
import imaplib
import os
import pwd
import quopri
import random
import smtplib
import socket
import ssl
import sys
import time
from email.utils import formatdate

MAIL_USER, MAIL_GROUP = "nobody", "nogroup"  # Deploy/mail-servers.sh: all mail is owned by nobody

TEXTS = [
    "Здравствуйте! Где мой заказ №{n}? Оплатила ещё в понедельник, трек-номера нет.",
    "Сәлеметсіз бе! Тапсырыс {n} қашан жеткізіледі? Рахмет.",
    "Hello, I ordered item {n} last week and it has not shipped yet. Could you check?",
    "Добрый день. Можно ли поменять размер в заказе {n} на M? Спасибо!",
    "Подскажите, пожалуйста, есть ли доставка в Алматы для заказа {n}?",
]
RUSSIAN = [TEXTS[0], TEXTS[3], TEXTS[4]]
SUBJECTS = ["Заказ {n}", "Вопрос по доставке {n}", "Order {n}", "Возврат {n}", "Тапсырыс {n}"]


def encoded_word(text, charset):
    """An RFC 2047 B-encoded header value in `charset`."""
    return "=?%s?B?%s?=" % (charset, base64.b64encode(text.encode(charset)).decode())


def qp(text, charset="utf-8"):
    return quopri.encodestring(text.encode(charset)).decode("ascii")


def b64_lines(data):
    encoded = base64.b64encode(data).decode("ascii")
    return "\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))


def body_part(shape, n, rng):
    """(headers, body as bytes) of the readable part of one mail of `shape`."""
    # The single-byte Cyrillic charsets have no Kazakh letters: their mails are in Russian.
    text = rng.choice(TEXTS if shape < 3 else RUSSIAN).format(n=n)
    if shape == 0:  # plain UTF-8, 8bit (Apple Mail, Thunderbird)
        return (["Content-Type: text/plain; charset=utf-8; format=flowed", "Content-Transfer-Encoding: 8bit"],
                (text + "\n\n-- \nОтправлено с iPhone\n").encode("utf-8"))
    if shape == 1:  # Gmail: multipart/alternative, both parts quoted-printable
        boundary = "000000000000%016x" % rng.getrandbits(64)
        html = '<div dir="ltr">%s<br><br><div class="gmail_signature">С уважением</div></div>' % text
        body = "\n".join([
            "--" + boundary, 'Content-Type: text/plain; charset="UTF-8"', "Content-Transfer-Encoding: quoted-printable", "",
            qp(text + "\n\nС уважением"), "",
            "--" + boundary, 'Content-Type: text/html; charset="UTF-8"', "Content-Transfer-Encoding: quoted-printable", "",
            qp(html), "", "--" + boundary + "--", ""])
        return (['Content-Type: multipart/alternative; boundary="%s"' % boundary], body.encode("ascii"))
    if shape == 2:  # Outlook: HTML only, Word's markup, quoted-printable
        html = ('<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><meta http-equiv="Content-Type" '
                'content="text/html; charset=utf-8"><style><!-- p.MsoNormal {margin:0cm;font-size:11.0pt;'
                'font-family:"Calibri",sans-serif;} --></style></head><body lang="RU" link="#0563C1">'
                '<div class="WordSection1"><p class="MsoNormal">%s<o:p></o:p></p><p class="MsoNormal">'
                '<o:p>&nbsp;</o:p></p></div></body></html>' % text)
        return (['Content-Type: text/html; charset="utf-8"', "Content-Transfer-Encoding: quoted-printable"],
                qp(html).encode("ascii"))
    if shape == 3:  # KOI8-R, 8bit (old Russian clients, The Bat!)
        return (["Content-Type: text/plain; charset=koi8-r", "Content-Transfer-Encoding: 8bit"],
                (text.replace("№", "N") + "\n").encode("koi8-r", "replace"))
    # Windows-1251, quoted-printable (Outlook Express, 1C's mailers)
    return (["Content-Type: text/plain; charset=windows-1251", "Content-Transfer-Encoding: quoted-printable"],
            qp(text + "\n", "cp1251").encode("ascii"))


def make_mail(index, prefix, to, rng, date=None):
    """One mail as LF-ended bytes: (message-id without brackets, bytes)."""
    shape = rng.randrange(5)
    n = 10000 + index
    customer = rng.randrange(500)
    message_id = "%s-%06d.%08x@bench.example.kz" % (prefix, index, rng.getrandbits(32))
    subject = rng.choice(SUBJECTS).format(n=n)
    charset = {3: "KOI8-R", 4: "windows-1251"}.get(shape, "UTF-8")
    headers = [
        "Return-Path: <customer%d@example.kz>" % customer,
        "From: %s <customer%d@example.kz>" % (encoded_word("Покупатель %d" % customer, charset), customer),
        "To: <%s>" % to,
        "Subject: " + encoded_word(subject, charset),
        "Date: " + (date or formatdate(localtime=False)),
        "Message-ID: <%s>" % message_id,
        "MIME-Version: 1.0",
    ]
    if shape == 2:
        headers += ["Thread-Topic: " + encoded_word(subject, charset), "X-MS-Has-Attach: ", "Content-Language: ru-RU"]
    part_headers, part_body = body_part(shape, n, rng)
    if rng.random() < 0.2:
        boundary = "----=_Part_%d_%d" % (index, rng.getrandbits(32))
        size = rng.randint(20 * 1024, 60 * 1024)
        attachment = rng.randbytes(size)
        headers.append('Content-Type: multipart/mixed; boundary="%s"' % boundary)
        body = b"\n".join([
            b"--" + boundary.encode(), "\n".join(part_headers).encode(), b"", part_body, b"",
            b"--" + boundary.encode(), b'Content-Type: application/pdf; name="invoice-%d.pdf"' % n,
            b'Content-Disposition: attachment; filename="invoice-%d.pdf"' % n, b"Content-Transfer-Encoding: base64", b"",
            b64_lines(attachment).encode(), b"--" + boundary.encode() + b"--", b""])
    else:
        headers += part_headers
        body = part_body
    return message_id, "\n".join(headers).encode("utf-8") + b"\n\n" + body


def fill(args):
    maildir, count = args.maildir, args.count
    uid, gid = pwd.getpwnam(MAIL_USER).pw_uid, grp.getgrnam(MAIL_GROUP).gr_gid
    for sub in ("", "cur", "new", "tmp"):
        os.makedirs(os.path.join(maildir, sub), mode=0o700, exist_ok=True)
    # Every directory from the domain down to the Maildir is the mail user's, as Dovecot makes them.
    path = os.path.abspath(maildir)
    for directory in [os.path.dirname(os.path.dirname(path)), os.path.dirname(path), path] + \
            [os.path.join(path, s) for s in ("cur", "new", "tmp")]:
        os.chown(directory, uid, gid)
        os.chmod(directory, 0o700)
    rng = random.Random(17)
    base = int(time.time()) - count
    host = socket.gethostname()
    for index in range(count):
        _, data = make_mail(index, "fill", args.to, rng, date=formatdate(base + index, localtime=False))
        # Dovecot's own names: time, a unique part, host, then the file's size and its CRLF size.
        name = "%d.M%06dP%d.%s,S=%d,W=%d" % (base + index, index, os.getpid(), host, len(data), len(data) + data.count(b"\n"))
        temporary = os.path.join(maildir, "tmp", name)
        with open(temporary, "wb") as file:
            file.write(data)
        os.chown(temporary, uid, gid)
        os.chmod(temporary, 0o600)
        os.utime(temporary, (base + index, base + index))  # INTERNALDATE, in order
        os.rename(temporary, os.path.join(maildir, "new", name))
    print("FILLED=%d" % count)


def ceiling(args):
    context = ssl.create_default_context(cafile=args.ca)
    started = time.monotonic()
    imap = imaplib.IMAP4_SSL("localhost", args.port, ssl_context=context)
    imap.login(args.user, args.password)
    status, _ = imap.select("INBOX", readonly=True)  # EXAMINE
    assert status == "OK"
    status, data = imap.uid("SEARCH", None, "ALL")
    uids = data[0].split()
    fetched = 0
    body_bytes = 0
    for start in range(0, len(uids), 50):
        batch = b",".join(uids[start:start + 50]).decode()
        status, data = imap.uid("FETCH", batch, "(UID RFC822.SIZE INTERNALDATE BODY.PEEK[]<0.1048576>)")
        assert status == "OK", data
        for item in data:
            if isinstance(item, tuple):  # (response line with the literal's size, the literal)
                fetched += 1
                body_bytes += len(item[1])
    seconds = time.monotonic() - started
    imap.logout()
    if args.expect and fetched != args.expect:
        print("ceiling: fetched %d, expected %d" % (fetched, args.expect), file=sys.stderr)
        sys.exit(1)
    print("CEILING_FETCHED=%d\nCEILING_BYTES=%d\nCEILING_SECONDS=%.3f\nCEILING_RATE=%.1f" % (fetched, body_bytes, seconds, fetched / seconds))


def deliver(args):
    rng = random.Random(1717)
    total = int(args.rate * args.duration)
    smtp = smtplib.SMTP("127.0.0.1", args.port, local_hostname="bench.example.kz")
    accepted = []
    started = time.monotonic()
    for index in range(total):
        # A fixed schedule: mail i goes at i/rate, however long the one before took.
        due = started + index / args.rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        message_id, data = make_mail(index, "live", args.to, rng)
        smtp.sendmail("customer@example.kz", [args.to], data.replace(b"\n", b"\r\n"))
        accepted.append((message_id, time.time()))  # sendmail returns on DATA's 250
    lateness = time.monotonic() - (started + (total - 1) / args.rate)
    smtp.quit()
    with open(args.out, "w") as file:
        for message_id, at in accepted:
            file.write("%s\t%.6f\n" % (message_id, at))
    print("DELIVERED=%d\nBEHIND_SCHEDULE_AT_END=%.3f" % (len(accepted), lateness))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("fill")
    p.add_argument("maildir")
    p.add_argument("count", type=int)
    p.add_argument("--to", default="shop@switchboard.test")
    p.set_defaults(run=fill)
    p = commands.add_parser("ceiling")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--expect", type=int, default=0)
    p.set_defaults(run=ceiling)
    p = commands.add_parser("deliver")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--to", required=True)
    p.add_argument("--rate", type=float, default=50)
    p.add_argument("--duration", type=float, default=20)
    p.add_argument("--out", required=True)
    p.set_defaults(run=deliver)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()

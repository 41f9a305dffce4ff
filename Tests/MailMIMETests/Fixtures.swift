/// Real-shaped messages, written as the servers deliver them (CRLF line ends, as IMAP
/// returns them; `crlf` converts the literals).
enum Fixture {
    static func crlf(_ s: String) -> [UInt8] {
        Array(s.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n").utf8)
    }

    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = s.makeIterator()
        while let a = it.next(), let b = it.next() {
            out.append(UInt8(String([a, b]), radix: 16) ?? 0)
        }
        return out
    }

    static let gmailAlternative = crlf("""
        Delivered-To: support@example.com
        Received: from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41])
                by mx.example.com with SMTPS id abc
                for <support@example.com>; Mon, 07 Dec 2026 10:00:00 -0800 (PST)
        MIME-Version: 1.0
        From: "Doe, Jane" <jane.doe@gmail.com>
        Date: Mon, 7 Dec 2026 19:00:00 +0100
        Message-ID: <CAF=abc123+XyZ@mail.gmail.com>
        Subject: =?UTF-8?B?0J7RgtGH0ZHRgiDQt9CwINC60LLQsNGA0YLQsNC7IOKAlCDQuNGC0L7Qs9C4?=
        To: Support <support@example.com>, bob@example.org (Bob Smith)
        Content-Type: multipart/alternative; boundary="000000000000a1b2c3"

        --000000000000a1b2c3
        Content-Type: text/plain; charset="UTF-8"
        Content-Transfer-Encoding: quoted-printable

        =D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82! This line is long enough to be wrapped=
         by the encoder, and a=3Db stays.

        --000000000000a1b2c3
        Content-Type: text/html; charset="UTF-8"
        Content-Transfer-Encoding: quoted-printable

        <div dir=3D"ltr">=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82!</div>

        --000000000000a1b2c3--
        """)

    static let outlookHTML = crlf("""
        From: =?windows-1251?B?yOLg7SDP5fLw7uI=?= <ivan.petrov@contoso.com>
        To: "support@example.com" <support@example.com>
        Subject: RE: Order 1234
        Thread-Topic: Order 1234
        Message-ID: <DB9PR01MB1234ABCD@DB9PR01MB1234.eurprd01.prod.outlook.com>
        In-Reply-To: <first@example.com>
        References: <root@example.com>
         <first@example.com>
        Content-Type: text/html; charset="us-ascii"
        Content-Transfer-Encoding: quoted-printable
        MIME-Version: 1.0

        <html><head><meta http-equiv=3D"Content-Type" content=3D"text/html">
        <style><!-- p.MsoNormal {margin:0cm;} --></style><title>ignored</title></head>
        <body><script>alert("x")</script><p class=3D"MsoNormal">Hello &amp; welcome,<br>
        the price is &lt;10&gt; &quot;EUR&quot;&nbsp;today &#8364; &#x41;.</p>
        <p>Second paragraph</p><!-- a comment --></body></html>
        """)

    static let koi8 = crlf("""
        From: =?koi8-r?Q?=F0=C5=D4=D2?= <petr@mail.ru>
        To: support@example.com
        Subject: test
        Content-Type: text/plain; charset=koi8-r
        Content-Transfer-Encoding: 8bit


        """) + hex("f0d2c9d7c5d42c20cdc9d22120b3d6c9cb20d3dfc5cc20ddc92e") + Array("\r\n".utf8)

    static let cp1251 = crlf("""
        From: someone@yandex.ru
        Subject: test
        Content-Type: text/plain; charset=windows-1251
        Content-Transfer-Encoding: 8bit


        """) + hex("cff0e8e2e5f22c20ece8f02120a8e6e8ea20f1fae5eb20f9e82e")

    static let attachment2231 = crlf("""
        From: a@example.com
        Subject: =?UTF-8?B?0KHTmdC70LXQvCwg05nQu9C10LwhINKa0LDQu9Cw0LnRgdGL0Lc/?=
        Content-Type: multipart/mixed; boundary=outer

        preamble is ignored
        --outer
        Content-Type: multipart/alternative; boundary="inner"

        --inner
        Content-Type: text/plain; charset=utf-8

        See attached.
        --inner
        Content-Type: text/html; charset=utf-8

        <p>See <b>attached</b>.</p>
        --inner--
        --outer
        Content-Type: application/pdf; name="=?UTF-8?B?0J7RgtGH0ZHRgi5wZGY=?="
        Content-Disposition: attachment;
         filename*=UTF-8''%D0%9E%D1%82%D1%87%D1%91%D1%82%20%E2%84%962.pdf
        Content-Transfer-Encoding: base64

        JVBERi0xLjQg
        ZmFrZQ==
        --outer
        Content-Type: image/png; name="=?UTF-8?B?0J7RgtGH0ZHRgi5wbmc=?="
        Content-Disposition: inline
        Content-ID: <img1@local>
        Content-Transfer-Encoding: base64

        iVBORw0KGgo=
        --outer--
        epilogue
        """)

    static let autoReply = crlf("""
        From: Jane <jane@example.com>
        To: support@example.com
        Subject: Automatic reply: Order 1234
        Auto-Submitted: auto-replied
        X-Autoreply: yes

        I am out of office until Monday.
        """)

    static let bounce = crlf("""
        From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
        To: support@example.com
        Subject: Delivery Status Notification (Failure)
        Content-Type: multipart/report; boundary="b1"; report-type=delivery-status

        --b1
        Content-Type: text/plain; charset="UTF-8"

        Address not found: nobody@example.net
        --b1
        Content-Type: message/delivery-status

        Reporting-MTA: dns; googlemail.com
        Final-Recipient: rfc822; nobody@example.net
        Action: failed
        Status: 5.1.1
        --b1--
        """)

    static let replyWithHistory = crlf("""
        From: Bob <bob@example.org>
        To: support@example.com
        Subject: Re: Order 1234
        In-Reply-To: <a@example.com>
        References: <root@example.com> <a@example.com>
        Content-Type: text/plain; charset=utf-8

        Thanks, that works.
        Can you also send the invoice?

        --\u{20}
        Bob Smith | ACME
        +1 555 0100

        On Mon, 7 Dec 2026 at 10:00, Support <support@example.com>
        wrote:
        > Here is your order.
        > Regards
        """)
}

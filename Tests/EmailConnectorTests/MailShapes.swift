import Foundation

/// Mail as customers' clients send it (CRLF line ends), each with a Message-ID so a test
/// can find it; `to` is filled in per test.
enum MailShapes {
    static func crlf(_ s: String) -> [UInt8] {
        Array(s.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n").utf8)
    }

    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = s.makeIterator()
        while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16) ?? 0) }
        return out
    }

    static func gmail(to: String, id: String) -> [UInt8] {
        crlf("""
            MIME-Version: 1.0
            From: "Doe, Jane" <jane.doe@gmail.example>
            Date: Mon, 7 Dec 2026 19:00:00 +0100
            Message-ID: <\(id)>
            Subject: =?UTF-8?B?0J7RgtGH0ZHRgiDQt9CwINC60LLQsNGA0YLQsNC7?=
            To: Support <\(to)>
            Content-Type: multipart/alternative; boundary="000000000000a1b2c3"

            --000000000000a1b2c3
            Content-Type: text/plain; charset="UTF-8"
            Content-Transfer-Encoding: quoted-printable

            =D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82! Where is my order?

            --000000000000a1b2c3
            Content-Type: text/html; charset="UTF-8"
            Content-Transfer-Encoding: quoted-printable

            <div dir=3D"ltr">=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82! Where is my order?</div>

            --000000000000a1b2c3--
            """)
    }

    static func outlook(to: String, id: String, inReplyTo: String, references: [String]) -> [UInt8] {
        crlf("""
            From: =?windows-1251?B?yOLg7SDP5fLw7uI=?= <ivan.petrov@contoso.example>
            To: "\(to)" <\(to)>
            Subject: RE: Order 1234
            Thread-Topic: Order 1234
            Message-ID: <\(id)>
            In-Reply-To: <\(inReplyTo)>
            References: \(references.map { "<\($0)>" }.joined(separator: "\n "))
            Content-Type: text/html; charset="us-ascii"
            Content-Transfer-Encoding: quoted-printable
            MIME-Version: 1.0

            <html><head><style><!-- p.MsoNormal {margin:0cm;} --></style></head>
            <body><p class=3D"MsoNormal">Hello &amp; thanks,<br>
            is it &lt;10&gt; days?</p></body></html>
            """)
    }

    static func koi8(to: String, id: String) -> [UInt8] {
        crlf("""
            From: =?koi8-r?Q?=F0=C5=D4=D2?= <petr@mail.example>
            To: \(to)
            Subject: test
            Message-ID: <\(id)>
            Content-Type: text/plain; charset=koi8-r
            Content-Transfer-Encoding: 8bit


            """) + hex("f0d2c9d7c5d42c20cdc9d22120b3d6c9cb20d3dfc5cc20ddc92e") + Array("\r\n".utf8)
    }

    static func cp1251(to: String, id: String) -> [UInt8] {
        crlf("""
            From: someone@yandex.example
            To: \(to)
            Subject: test 1251
            Message-ID: <\(id)>
            Content-Type: text/plain; charset=windows-1251
            Content-Transfer-Encoding: 8bit


            """) + hex("cff0e8e2e5f22c20ece8f02120a8e6e8ea20f1fae5eb20f9e82e") + Array("\r\n".utf8)
    }

    static func autoReply(to: String, id: String) -> [UInt8] {
        crlf("""
            From: Jane <jane@example.com>
            To: \(to)
            Subject: Automatic reply: Order 1234
            Message-ID: <\(id)>
            Auto-Submitted: auto-replied
            X-Autoreply: yes

            I am out of office until Monday.
            """)
    }

    static func bounce(to: String, id: String) -> [UInt8] {
        crlf("""
            From: Mail Delivery Subsystem <mailer-daemon@googlemail.example>
            To: \(to)
            Subject: Delivery Status Notification (Failure)
            Message-ID: <\(id)>
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
    }

    static func withAttachment(to: String, id: String) -> [UInt8] {
        crlf("""
            From: a@example.com
            To: \(to)
            Message-ID: <\(id)>
            Subject: =?UTF-8?B?0KHTmdC70LXQvCwg05nQu9C10LwhINKa0LDQu9Cw0LnRgdGL0Lc/?=
            Content-Type: multipart/mixed; boundary=outer

            --outer
            Content-Type: text/plain; charset=utf-8

            See attached.
            --outer
            Content-Type: application/pdf; name="invoice.pdf"
            Content-Disposition: attachment; filename="invoice.pdf"
            Content-Transfer-Encoding: base64

            JVBERi0xLjQg
            ZmFrZQ==
            --outer--
            """)
    }

    static func replyWithHistory(to: String, id: String, inReplyTo: String, root: String) -> [UInt8] {
        crlf("""
            From: Bob <bob@example.org>
            To: \(to)
            Subject: Re: Order 1234
            Message-ID: <\(id)>
            In-Reply-To: <\(inReplyTo)>
            References: <\(root)> <\(inReplyTo)>
            Content-Type: text/plain; charset=utf-8

            Thanks, that works.
            Can you also send the invoice?

            --\u{20}
            Bob Smith | ACME

            On Mon, 7 Dec 2026 at 10:00, Support <support@example.com>
            wrote:
            > Here is your order.
            """)
    }

    static func plain(to: String, id: String, from: String = "customer@example.com", subject: String = "Hello", text: String = "Hi there") -> [UInt8] {
        crlf("""
            From: \(from)
            To: \(to)
            Subject: \(subject)
            Message-ID: <\(id)>
            Content-Type: text/plain; charset=utf-8

            \(text)
            """)
    }
}

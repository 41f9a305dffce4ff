import SwitchboardCore
import SwitchboardProviders
import Testing

@Suite("Local FAQ provider")
struct LocalFAQProviderTests {
    let faq = [
        FAQEntry(question: "Сколько стоит доставка?", answer: "Доставка стоит 1000 тенге."),
        FAQEntry(question: "What are your opening hours?", answer: "We are open 9 to 18, Monday to Friday."),
        FAQEntry(question: "Жеткізу қанша тұрады?", answer: "Жеткізу 1000 теңге."),
        FAQEntry(question: "Do you deliver on weekends?", answer: "Yes, on Saturdays."),
    ]

    func answer(_ text: String, faq: [FAQEntry]? = nil) async throws -> ModelResponse {
        try await LocalFAQProvider(faq: faq ?? self.faq).complete(request(model: "faq", (.user, text)))
    }

    @Test("answers a Russian question asked in other words and endings")
    func russian() async throws {
        let response = try await answer("Подскажите, сколько стоит ДОСТАВКУ в Алматы?")
        #expect(response.text == "Доставка стоит 1000 тенге.")
        #expect(response.finishReason == .stop)
        #expect(response.usage == .zero)
    }

    @Test("answers an English question, exact or near-exact")
    func english() async throws {
        #expect(try await answer("What are your opening hours?").text == "We are open 9 to 18, Monday to Friday.")
        #expect(try await answer("what are your opening hours").text == "We are open 9 to 18, Monday to Friday.")
        #expect(try await answer("Hi! Do you deliver on the weekend?").text == "Yes, on Saturdays.")
    }

    @Test("answers a Kazakh question")
    func kazakh() async throws {
        #expect(try await answer("Жеткізу қанша тұрады").text == "Жеткізу 1000 теңге.")
    }

    @Test("answers the last user message, not an earlier one")
    func lastUserMessage() async throws {
        let response = try await LocalFAQProvider(faq: faq).complete(
            request((.user, "What are your opening hours?"), (.assistant, "9 to 18"), (.user, "Сколько стоит доставка?")))
        #expect(response.text == "Доставка стоит 1000 тенге.")
    }

    @Test("hands off when nothing matches")
    func noMatch() async throws {
        let response = try await answer("Can I pay with bitcoin?")
        #expect(response.text == "")
        #expect(response.finishReason == .handoff)
    }

    @Test("hands off with an empty FAQ or no user message")
    func emptyFAQ() async throws {
        #expect(try await answer("What are your opening hours?", faq: []).finishReason == .handoff)
        let noUser = try await LocalFAQProvider(faq: faq).complete(request((.assistant, "Hello")))
        #expect(noUser.finishReason == .handoff)
    }

    @Test("gives ties to the entry listed first")
    func ties() async throws {
        let twins = [FAQEntry(question: "opening hours", answer: "first"), FAQEntry(question: "opening hours", answer: "second")]
        #expect(try await answer("opening hours?", faq: twins).text == "first")
    }

    @Test("needs half the question's words")
    func threshold() {
        let matcher = FAQMatcher([FAQEntry(question: "refund policy, damaged goods", answer: "a")])
        #expect(matcher.bestEntry(for: "refund policy please") != nil)  // 2 of 4 words
        #expect(matcher.bestEntry(for: "refund please") == nil)  // 1 of 4
        #expect(matcher.bestEntry(for: "") == nil)
        #expect(matcher.bestEntry(for: "?!") == nil)
    }
}

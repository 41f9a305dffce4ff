import Testing

@testable import SwitchboardProviders

@Suite("Alternating turns")
struct ModelRequestTurnsTests {
    @Test("drops leading assistant messages and merges runs of one role")
    func merging() {
        let turns = request(
            (.assistant, "Hello!"), (.assistant, "Ask me"), (.user, "a"), (.user, "b"), (.assistant, "c"), (.user, "d")
        ).alternatingTurns
        #expect(
            turns == [
                ModelMessage(role: .user, text: "a\n\nb"), ModelMessage(role: .assistant, text: "c"),
                ModelMessage(role: .user, text: "d"),
            ])
    }

    @Test("is empty without a user message")
    func empty() {
        #expect(request((.assistant, "Hello!")).alternatingTurns.isEmpty)
        #expect(request().alternatingTurns.isEmpty)
    }

    @Test("an empty system prompt is none")
    func systemPrompt() {
        #expect(request(system: "", (.user, "a")).usableSystemPrompt == nil)
        #expect(request(system: "Be kind", (.user, "a")).usableSystemPrompt == "Be kind")
    }
}

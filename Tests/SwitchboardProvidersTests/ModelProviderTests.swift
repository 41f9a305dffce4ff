import SwitchboardProviders
import Testing

@Suite struct ModelProviderTests {
    @Test func kindsHaveTheirDefaults() {
        #expect(ProviderKindCheck.ok)
    }
}

import SwitchboardCore
import Testing

@Suite("Privacy context: which consents hold and which provider regions a contact's data may reach")
struct PrivacyContextTests {
    @Test("a purpose never recorded is allowed; a withdrawal is not")
    func consents() {
        let context = PrivacyContext(consents: [.aiProcessing: false, .marketing: true])
        #expect(!context.allows(.aiProcessing))
        #expect(context.allows(.marketing))
        #expect(context.allows(.voice))
    }

    @Test("allowed regions bound every contact; without cross-border consent only the home region is left")
    func regions() {
        let open = PrivacyContext()
        #expect(open.mayReach(region: "us"))
        let bounded = PrivacyContext(policy: PrivacyPolicy(allowedRegions: ["kz", "eu"], homeRegion: "kz"))
        #expect(bounded.mayReach(region: "eu"))
        #expect(!bounded.mayReach(region: "us"))
        let local = PrivacyContext(consents: [.crossBorder: false], policy: PrivacyPolicy(allowedRegions: ["kz", "eu"], homeRegion: "kz"))
        #expect(local.mayReach(region: "kz"))
        #expect(!local.mayReach(region: "eu"))
        let nowhere = PrivacyContext(consents: [.crossBorder: false], policy: PrivacyPolicy(allowedRegions: ["eu"], homeRegion: "kz"))
        #expect(!nowhere.mayReach(region: "kz"), "the home region outside the allowed ones is not allowed either")
    }
}

import SwitchboardPostgres
import Testing

@Suite("DATABASE_URL")
struct DatabaseConfigurationTests {
    @Test("a full URL is read part by part, the password decoded")
    func parsesFullURL() throws {
        let configuration = try DatabaseConfiguration(url: "postgres://owner:p%40ss@db.internal:6432/crm?sslmode=require")
        #expect(configuration.host == "db.internal")
        #expect(configuration.port == 6432)
        #expect(configuration.username == "owner")
        #expect(configuration.password == "p@ss")
        #expect(configuration.database == "crm")
        #expect(configuration.tls == .require)
    }

    @Test("the printable form never shows the password")
    func descriptionHidesPassword() throws {
        let configuration = try DatabaseConfiguration(url: "postgresql://owner:secret-pw@localhost/crm")
        #expect(!configuration.description.contains("secret-pw"))
        #expect(configuration.port == 5432)
        #expect(configuration.tls == .prefer)
    }

    @Test("malformed URLs and unknown sslmodes are refused with the variable named", arguments: [
        "mysql://x@y/z", "not a url", "postgres:///nohost", "postgres://u@h/d?sslmode=maybe",
    ])
    func refusesMalformed(url: String) {
        let error = #expect(throws: DatabaseError.self) { try DatabaseConfiguration(url: url) }
        #expect(error?.code == .configuration)
    }
}

import SwitchboardPostgres
import Testing

@Suite("SQL scripts split into statements")
struct SQLScriptTests {
    @Test("semicolons inside strings, identifiers, dollar quotes and comments do not split")
    func respectsQuoting() {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE "odd;name" (note text DEFAULT 'a;b' CHECK (note <> 'it''s;'));
            /* block; /* nested; */ still comment; */
            DO $$ BEGIN PERFORM 1; END $$;
            CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
            SELECT $1::int
            """
        let statements = SQLScript.statements(script)
        #expect(statements.count == 4)
        #expect(statements[0].hasSuffix("CHECK (note <> 'it''s;'))"))
        #expect(statements[1].hasSuffix("DO $$ BEGIN PERFORM 1; END $$"))
        #expect(statements[2].contains("$body$ SELECT 1; $body$"))
        #expect(statements[3] == "SELECT $1::int")
    }

    @Test("a script of comments and blank lines has no statements")
    func commentsOnly() {
        #expect(SQLScript.statements("-- nothing\n\n  -- here;\n").isEmpty)
    }
}

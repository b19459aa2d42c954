import Control
import Testing

/// keepalived's tokenizer (lib/parser.c `read_line`, `decomment`, `alloc_strvec_r`), seen
/// through a VRRP block, which lvsd keeps word for word with locations.
@Suite struct KeepalivedLexerTests {
    /// The statements inside the first vrrp_instance of `text`.
    func body(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> [KeepalivedStatement] {
        keepalived(text, sourceLocation: sourceLocation).vrrp.instances.first?.block ?? []
    }

    @Test func hashAndBangCommentsRunToTheEndOfTheLineWherever() {
        let statements = body("""
            # a comment line
            ! another, keepalived style
            vrrp_instance VI_1 {   # after a brace
                state MASTER   #
                priority 100! no space needed
                advert_int 1 ! trailing
            }
            """)
        #expect(outline(statements) == "state MASTER; priority 100; advert_int 1")
    }

    @Test func escapedHashAndBangAreLiteral() {
        let statements = body("""
            vrrp_instance VI_1 {
                auth_pass ab\\#cd\\!ef
            }
            """)
        #expect(statements.first?.arguments.map(\.text) == ["ab#cd!ef"])
    }

    @Test func wordsCarryTheirLineAndColumn() {
        let statements = body("vrrp_instance VI_1 {\n\tstate  MASTER\n  priority 100\n}")
        #expect(statements.map(\.keyword.location) == [
            ConfigLocation(file: keepalivedFile, line: 2, column: 2),
            ConfigLocation(file: keepalivedFile, line: 3, column: 3),
        ])
        #expect(statements[0].arguments[0].location == ConfigLocation(file: keepalivedFile, line: 2, column: 9))
        #expect(statements[1].arguments[0].location.column == 12)
    }

    @Test func doubleQuotesKeepSpacesAndCommentCharacters() {
        let statements = body("""
            vrrp_instance VI_1 {
                notify_master "/usr/local/bin/notify master # now!"  # real comment
            }
            """)
        let word = statements.first?.arguments.first
        #expect(word?.text == "/usr/local/bin/notify master # now!")
        #expect(word?.quoted == true)
        #expect(word?.location.column == 19)
        #expect(statements.first?.arguments.count == 1)
    }

    @Test func quotedPartsJoinTheTextAroundThem() {
        // keepalived.conf(5), "Quoted strings": 'abcd" efg h jkl "mnop' is one string.
        let statements = body("""
            vrrp_instance VI_1 {
                notify abcd" efg h jkl "mnop
                notify abcd "efg h jkl" mnop
            }
            """)
        #expect(statements[0].arguments.map(\.text) == ["abcd efg h jkl mnop"])
        #expect(statements[1].arguments.map(\.text) == ["abcd", "efg h jkl", "mnop"])
        #expect(statements[1].arguments.map(\.quoted) == [false, true, false])
    }

    @Test func singleQuotesAtTheStartOfAWordQuoteButApostrophesInsideDoNot() {
        let statements = body("""
            vrrp_instance VI_1 {
                notify '/bin/echo a b' don't
            }
            """)
        #expect(statements[0].arguments.map(\.text) == ["/bin/echo a b", "don't"])
    }

    @Test func bracesSplitALineAndStandAlone() {
        let config = keepalived("vrrp_instance VI_1 { state MASTER } vrrp_script chk{script \"true\"}")
        #expect(outline(config.vrrp.instances) == "vrrp_instance VI_1 { state MASTER }")
        #expect(outline(config.vrrp.scripts) == "vrrp_script chk { script true }")
    }

    @Test func anOpeningBraceMayComeOnTheNextLine() {
        let config = keepalived("vrrp_instance VI_1\n{\n    state BACKUP\n}\n")
        #expect(outline(config.vrrp.instances) == "vrrp_instance VI_1 { state BACKUP }")
    }

    @Test func quotedBracesAreText() {
        let statements = body("vrrp_instance VI_1 {\n    notify \"a { b }\"\n}")
        #expect(statements.first?.arguments.map(\.text) == ["a { b }"])
    }

    @Test func dosLineEndingsAreLineEndings() {
        let statements = body("vrrp_instance VI_1 {\r\n    state MASTER\r\n    priority 50\r\n}\r\n")
        #expect(outline(statements) == "state MASTER; priority 50")
        #expect(statements[1].keyword.location.line == 3)
    }

    @Test func conditionalLinesForAnIdAreSkippedAndNegatedOnesKept() {
        // lvsd has no configuration id: '@ID' never matches, '@^ID' always does.
        let statements = body("""
            vrrp_instance VI_1 {
                @node1 priority 200
                @^node1 priority 100
                @node2
            }
            """)
        #expect(outline(statements) == "priority 100")
        #expect(statements[0].keyword.location.column == 13)
    }

    @Test func unterminatedQuoteIsAnErrorAtTheQuote() {
        #expect(keepalivedError("vrrp_instance VI_1 {\n    notify \"/bin/x\n}")
                == kaError(2, 12, "this double quote is never closed on its line; add the closing \""))
        #expect(keepalivedError("vrrp_instance VI_1 {\n    notify '/bin/x\n}")
                == kaError(2, 12, "this single quote is never closed on its line; add the closing '"))
    }

    @Test func parameterDefinitionsAndSequencesAreRefused() {
        #expect(keepalivedError("$VIP=198.18.0.10\n") == kaError(1, 1,
            "parameter definitions ($NAME=...) are not supported by lvsd; expand them (keepalived -d shows the result) or write the values out"))
        #expect(keepalivedError("  ~SEQ(i,1,3) real_server 198.18.1.$i 80\n") == kaError(1, 3,
            "'~SEQ' blocks are not supported by lvsd; write the lines they would generate out"))
    }

    @Test func aDollarElsewhereIsText() {
        let statements = body("vrrp_instance VI_1 {\n    auth_pass pa$$word\n}")
        #expect(statements.first?.arguments.first?.text == "pa$$word")
    }
}

/// Blocks: keepalived's `process_stream` nesting, with errors where keepalived would only log.
@Suite struct KeepalivedBlockTests {
    @Test func nestedBlocksFormATree() {
        let config = keepalived("""
            vrrp_instance VI_1 {
                authentication {
                    auth_type PASS
                }
                virtual_ipaddress {
                    198.18.0.10/32 dev eth0
                    2001:db8::10
                }
                track_script { chk }
            }
            """)
        #expect(outline(config.vrrp.instances) ==
            "vrrp_instance VI_1 { authentication { auth_type PASS }; virtual_ipaddress { 198.18.0.10/32 dev eth0; 2001:db8::10 }; track_script { chk } }")
    }

    @Test func emptyBlockIsAnEmptyListAndNoBlockIsNil() {
        let config = keepalived("vrrp_instance VI_1 {\n    virtual_ipaddress { }\n    nopreempt\n}")
        let body = config.vrrp.instances.first?.block ?? []
        #expect(body.map(\.block) == [[], nil])
    }

    @Test func unclosedBlockNamesItsOpeningBrace() {
        #expect(keepalivedError("vrrp_instance VI_1 {\n    state MASTER\n") ==
            kaError(1, 20, "the block of 'vrrp_instance' (keepalived.conf:1:1) is never closed; add '}'"))
    }

    @Test func extraClosingBraceIsAnError() {
        #expect(keepalivedError("vrrp_instance VI_1 {\n}\n}\n") ==
            kaError(3, 1, "'}' closes no block; remove it or add the '{' it belongs to"))
    }

    @Test func braceWithoutKeywordIsAnError() {
        #expect(keepalivedError("global_defs {\n}\n{\n}\n") == kaError(3, 1,
            "'{' opens a block without a keyword before it; write the keyword (such as 'real_server IP PORT') on the line of the '{' or the line before"))
    }

    @Test func absurdNestingIsRefusedBeforeItExhaustsTheStack() {
        let text = "vrrp_instance VI_1 " + String(repeating: "a {", count: 40) + String(repeating: "}", count: 40)
        let error = keepalivedError(text)
        #expect(error?.message == "blocks nest deeper than 32 levels")
    }
}

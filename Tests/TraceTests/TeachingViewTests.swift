import Foundation
import Testing
import Trace

/// `lvsd replay --html` and `--diagram`: the shipped samples replayed, then the HTML rows
/// and the Graphviz hop labels checked against the fields the director really changed.
@Suite struct TeachingViewTests {
    @Test func htmlHighlightsExactlyTheChangedFields() throws {
        let result = try ReplayTests.replay("nat")
        let page = TraceHTML.page(title: "nat", steps: result.steps, interfaces: [], summary: result.summary.text)
        // NAT's SYN: destination address and port rewritten, source untouched.
        #expect(page.contains("<tr class=\"changed\"><td>ipv4</td><td>dst</td><td>198.18.0.10</td><td>198.18.1.11</td></tr>"))
        #expect(page.contains("<tr class=\"changed\"><td>tcp</td><td>dport</td><td>80</td><td>8080</td></tr>"))
        #expect(page.contains("<tr><td>ipv4</td><td>src</td><td>198.18.0.1</td><td>198.18.0.1</td></tr>"))
        // Every frame gets a section, and the text trace sits beside the table, escaped.
        #expect(page.components(separatedBy: "<section id=\"frame-").count - 1 == result.steps.count)
        #expect(page.contains("→ 198.18.0.10:80 [S] seq 1000"))
        #expect(TraceHTML.escape("<a href=\"x\">&</a>") == "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;")
        // The same run renders the same bytes.
        #expect(page == TraceHTML.page(title: "nat", steps: try ReplayTests.replay("nat").steps, interfaces: [], summary: result.summary.text))
    }

    @Test func diagramFollowsTheFirstConnectionHopByHop() throws {
        let nat = try #require(TraceDiagram.dot(title: "nat", steps: try ReplayTests.replay("nat").steps))
        #expect(nat.contains("client -> director"))
        #expect(nat.contains("director -> server"))
        #expect(nat.contains("server -> director"))
        #expect(nat.contains("director -> client"))
        #expect(nat.contains("<FONT COLOR=\"#c00000\">* ipv4 dst 198.18.1.11</FONT>"))
        #expect(nat.contains("<FONT COLOR=\"#c00000\">* ipv4 src 198.18.0.10</FONT>"))

        let dr = try #require(TraceDiagram.dot(title: "dr", steps: try ReplayTests.replay("dr").steps))
        // DR: only the Ethernet destination changes; the reply bypasses the director.
        #expect(dr.contains("<FONT COLOR=\"#c00000\">* eth dst 02:00:00:00:01:0b</FONT>"))
        #expect(!dr.contains("* ipv4 dst"))
        #expect(dr.contains("server -> client [style=dashed"))
        #expect(!dr.contains("server -> director"))

        let tun = try #require(TraceDiagram.dot(title: "tun", steps: try ReplayTests.replay("tun").steps))
        #expect(tun.contains("<FONT COLOR=\"#007000\">+ outer ipv4 dst 198.18.1.11</FONT>"))
        #expect(TraceDiagram.dot(title: "none", steps: []) == nil)
    }
}

import Foundation
import Testing

/// packaging/man/pathwatch.1 is generated (scripts/generate-manual); these keep it in step with
/// what `pathwatch --help` says.
@Suite("Man page")
struct ManPageTests {
    static func helpText(_ arguments: [String]) throws -> String { try Tool.run([Tool.binary] + arguments).output }

    static func longOptions(_ text: String) -> Set<String> { Set(text.matches(of: /--([a-z][a-z-]*)/).map { String($0.output.1) }) }

    @Test func optionsMatchTheHelp() throws {
        let page = try Tool.read("packaging/man/pathwatch.1")
        let pageOptions = Set(page.matches(of: /Fl (?:h , )?-([a-z][a-z-]*)/).map { String($0.output.1) })
        var helpOptions = Self.longOptions(try Self.helpText(["--help"]))
        let subcommands = try Self.subcommands()
        #expect(!subcommands.isEmpty)
        for subcommand in subcommands {
            helpOptions.formUnion(Self.longOptions(try Self.helpText(["help", subcommand])))
            #expect(page.contains(".It Em \(subcommand)\n"), "the man page does not describe `pathwatch \(subcommand)`")
        }
        #expect(pageOptions == helpOptions, "run scripts/generate-manual: the man page and --help disagree")
    }

    /// The subcommands `pathwatch --help` lists.
    static func subcommands() throws -> [String] {
        let help = try helpText(["--help"])
        guard let section = help.range(of: "SUBCOMMANDS:\n") else { return [] }
        return help[section.upperBound...].split(separator: "\n").compactMap { line in
            guard line.hasPrefix("  "), !line.hasPrefix("   "), !line.contains("See '") else { return nil }
            return line.split(separator: " ").first.map(String.init)
        }
    }
}

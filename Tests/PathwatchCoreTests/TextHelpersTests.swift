import Testing

@testable import PathwatchCore

/// The few lines that replaced Foundation's `String(format:)` and `trimmingCharacters(in:)`:
/// the same answers on the inputs pathwatch gives them.
@Suite("Text helpers without Foundation")
struct TextHelpersTests {
    @Test(arguments: [
        (0.0, 1, "0.0"), (12.25, 1, "12.3"), (-0.04, 1, "0.0"), (-1.25, 1, "-1.3"), (99.99, 1, "100.0"),
        (0.5, 0, "1"), (3.14159, 3, "3.142"), (1e300, 1, "1e+300"), (Double.nan, 1, "nan"),
    ])
    func fixedPointText(_ value: Double, _ digits: Int, _ text: String) {
        #expect(DecimalText.fixed(value, digits: digits) == text)
    }

    @Test func whitespaceIsTrimmedFromBothEnds() {
        #expect(" \t1\n".trimmingWhitespace() == "1")
        #expect("a b".trimmingWhitespace() == "a b")
        #expect("\r\n".trimmingWhitespace() == "")
        #expect("CapEff:\t0000003fffffffff"[...].dropFirst(7).trimmingWhitespace() == "0000003fffffffff")
    }
}

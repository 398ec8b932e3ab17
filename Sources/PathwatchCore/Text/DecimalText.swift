/// Fixed-point numbers for messages, without `String(format:)` (which needs Foundation proper).
public enum DecimalText {
    /// `value` with `digits` decimals (0...6), rounded half away from zero: `12.25` → "12.3" for 1.
    /// A value that rounds to zero has no sign (printf would say "-0.0"). Not finite or too large
    /// for an `Int` after scaling: the stdlib's own description.
    public static func fixed(_ value: Double, digits: Int) -> String {
        let digits = min(max(digits, 0), 6)
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (value * scale).rounded()
        guard scaled.isFinite, abs(scaled) < 9e15 else { return "\(value)" }
        let whole = Int(scaled)
        let magnitude = whole.magnitude
        let unit = UInt(scale)
        let sign = whole < 0 ? "-" : ""
        guard digits > 0 else { return sign + "\(magnitude)" }
        let fraction = String(magnitude % unit)
        return sign + "\(magnitude / unit)." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
}

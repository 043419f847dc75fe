/// An exact rational number p/q (q > 0, lowest terms) on machine integers.
/// Arithmetic that would overflow yields `Rational.overflow`, which absorbs
/// every later operation like a NaN, so callers check once at the end
/// instead of trapping (Swift traps on integer overflow).
public struct Rational: Sendable, Hashable, CustomStringConvertible {
    public let numerator: Int
    public let denominator: Int  // 0 only for `overflow`

    public static let zero = Rational(0)
    public static let one = Rational(1)
    public static let overflow = Rational(uncheckedNumerator: 0, denominator: 0)

    public init(_ value: Int) {
        numerator = value
        denominator = 1
    }

    private init(uncheckedNumerator: Int, denominator: Int) {
        self.numerator = uncheckedNumerator
        self.denominator = denominator
    }

    /// n/d in lowest terms; `overflow` if d == 0 or normalizing overflows.
    public init(_ n: Int, _ d: Int) {
        guard d != 0, n != Int.min, d != Int.min else {
            self = .overflow
            return
        }
        let g = gcd(n, d)
        let sign = d < 0 ? -1 : 1
        self.init(uncheckedNumerator: sign * n / g, denominator: sign * d / g)
    }

    public var isOverflow: Bool { denominator == 0 }
    public var isZero: Bool { numerator == 0 && denominator != 0 }

    public var doubleValue: Double {
        isOverflow ? .nan : Double(numerator) / Double(denominator)
    }

    public var description: String {
        if isOverflow { return "overflow" }
        return denominator == 1 ? "\(numerator)" : "\(numerator)/\(denominator)"
    }

    /// Parses "3", "-2", "0.25", "1e-3", "1/3" exactly; nil if it cannot.
    public init?(parsing text: String) {
        if let slash = text.firstIndex(of: "/") {
            guard let n = Rational(parsing: String(text[..<slash])),
                  let d = Rational(parsing: String(text[text.index(after: slash)...])),
                  !d.isZero else { return nil }
            let q = n / d
            if q.isOverflow { return nil }
            self = q
            return
        }
        var mantissa = text
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let exp = Int(text[text.index(after: e)...]) else { return nil }
            exponent = exp
            mantissa = String(text[..<e])
        }
        var negative = false
        if mantissa.hasPrefix("-") { negative = true; mantissa.removeFirst() }
        else if mantissa.hasPrefix("+") { mantissa.removeFirst() }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, !mantissa.isEmpty,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else { return nil }
        let digits = parts.joined()
        guard !digits.isEmpty, digits.count <= 18, let whole = Int(digits) else { return nil }
        exponent -= parts.count == 2 ? parts[1].count : 0
        guard abs(exponent) <= 18 else { return nil }
        var value = Rational(negative ? -whole : whole)
        let ten = Rational(10)
        for _ in 0..<abs(exponent) { value = exponent > 0 ? value * ten : value / ten }
        if value.isOverflow { return nil }
        self = value
    }

    public static func + (a: Rational, b: Rational) -> Rational {
        if a.isOverflow || b.isOverflow { return .overflow }
        if a.denominator == 1 && b.denominator == 1 {
            let (s, o) = a.numerator.addingReportingOverflow(b.numerator)
            return o ? .overflow : Rational(s)
        }
        let g = gcd(a.denominator, b.denominator)
        let bd = b.denominator / g
        let ad = a.denominator / g
        guard let x = checkedMul(a.numerator, bd), let y = checkedMul(b.numerator, ad),
              let d = checkedMul(a.denominator, bd) else { return .overflow }
        let (n, o) = x.addingReportingOverflow(y)
        return o ? .overflow : Rational(n, d)
    }

    public static prefix func - (a: Rational) -> Rational {
        if a.isOverflow || a.numerator == Int.min { return .overflow }
        return Rational(uncheckedNumerator: -a.numerator, denominator: a.denominator)
    }

    public static func - (a: Rational, b: Rational) -> Rational { a + (-b) }

    public static func * (a: Rational, b: Rational) -> Rational {
        if a.isOverflow || b.isOverflow { return .overflow }
        if a.numerator == 0 || b.numerator == 0 { return .zero }
        let g1 = gcd(a.numerator, b.denominator)
        let g2 = gcd(b.numerator, a.denominator)
        guard let n = checkedMul(a.numerator / g1, b.numerator / g2),
              let d = checkedMul(a.denominator / g2, b.denominator / g1) else { return .overflow }
        return Rational(n, d)
    }

    public static func / (a: Rational, b: Rational) -> Rational {
        if a.isOverflow || b.isOverflow || b.numerator == 0 { return .overflow }
        return a * Rational(b.denominator, b.numerator)
    }

    public static func += (a: inout Rational, b: Rational) { a = a + b }
    public static func -= (a: inout Rational, b: Rational) { a = a - b }
    public static func *= (a: inout Rational, b: Rational) { a = a * b }
}

@inlinable
public func gcd(_ a: Int, _ b: Int) -> Int {
    var x = a.magnitude, y = b.magnitude
    while y != 0 { (x, y) = (y, x % y) }
    return x == 0 ? 1 : Int(truncatingIfNeeded: x)
}

@inlinable
public func checkedMul(_ a: Int, _ b: Int) -> Int? {
    let (r, o) = a.multipliedReportingOverflow(by: b)
    return o ? nil : r
}

@inlinable
public func checkedAdd(_ a: Int, _ b: Int) -> Int? {
    let (r, o) = a.addingReportingOverflow(b)
    return o ? nil : r
}

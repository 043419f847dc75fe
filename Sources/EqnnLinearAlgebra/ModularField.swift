/// Arithmetic modulo the Mersenne prime p = 2^61 - 1, used to find pivots
/// and null spaces exactly without any growth of intermediate numbers.
@usableFromInline
struct ModP: Sendable, Equatable {
    @usableFromInline static let p: UInt64 = (1 << 61) - 1
    @usableFromInline var value: UInt64

    @inlinable init(raw: UInt64) { value = raw }

    init(_ n: Int) {
        let r = UInt64(n.magnitude % UInt(ModP.p))
        value = n < 0 && r != 0 ? ModP.p - r : r
    }

    /// The residue of a rational; nil if its denominator is divisible by p.
    init?(_ q: Rational) {
        guard !q.isOverflow else { return nil }
        let d = ModP(q.denominator)
        guard d.value != 0 else { return nil }
        self = ModP(q.numerator) * d.inverse
    }

    @inlinable var isZero: Bool { value == 0 }

    @inlinable static func + (a: ModP, b: ModP) -> ModP {
        let s = a.value &+ b.value
        return ModP(raw: s >= p ? s &- p : s)
    }

    @inlinable static func - (a: ModP, b: ModP) -> ModP {
        ModP(raw: a.value >= b.value ? a.value &- b.value : a.value &+ p &- b.value)
    }

    @inlinable static func * (a: ModP, b: ModP) -> ModP {
        let (hi, lo) = a.value.multipliedFullWidth(by: b.value)
        let low = lo & p
        let high = (hi << 3) | (lo >> 61)
        let s = low &+ high
        return ModP(raw: s >= p ? s &- p : s)
    }

    var inverse: ModP {
        // Fermat: a^(p-2).
        var result = ModP(raw: 1), base = self, e = ModP.p - 2
        while e > 0 {
            if e & 1 == 1 { result = result * base }
            base = base * base
            e >>= 1
        }
        return result
    }

    /// The rational n/d with |n|, d below sqrt(p/2) congruent to this residue,
    /// by the extended Euclidean algorithm (Wang's rational reconstruction).
    var rationalReconstruction: Rational? {
        let bound: Int64 = 1 << 30
        var (r0, r1) = (Int64(ModP.p), Int64(value))
        var (t0, t1): (Int64, Int64) = (0, 1)
        while r1 >= bound {
            let q = r0 / r1
            (r0, r1) = (r1, r0 - q * r1)
            (t0, t1) = (t1, t0 - q * t1)
        }
        guard t1 != 0, abs(t1) < bound else { return nil }
        let q = Rational(Int(r1), Int(t1))
        return q.isOverflow ? nil : q
    }
}

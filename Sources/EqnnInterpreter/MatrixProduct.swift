/// The one matrix product of the interpreter, register-tiled with SIMD types:
/// C[i, j] += sum_p A[i, p] B[p, j] for i < m, j < n, p < k. B and C have
/// contiguous rows (leading dimensions ldb, ldc); A is read one entry at a
/// time through any strides, so A^T costs nothing (`rowStride: 1`).
enum MatrixProduct {
    /// Rows of the product panel (samples of the depth loop) and the depth of a cache block.
    static let depthBlock = 256

    @inlinable
    static func multiplyAdd<T: BinaryFloatingPoint & SIMDScalar>(
        m: Int, n: Int, k: Int, a: UnsafePointer<T>, rowStride rsa: Int, columnStride csa: Int,
        b: UnsafePointer<T>, ldb: Int, c: UnsafeMutablePointer<T>, ldc: Int
    ) {
        guard m > 0, n > 0, k > 0 else { return }
        var p0 = 0
        while p0 < k {
            let depth = min(depthBlock, k &- p0)
            // Without AVX a SIMD4<Double> takes two of the 16 SSE registers: a 4 x 8 tile would spill.
            if MemoryLayout<T>.size == 8 {
                narrowPanel(m: m, n: n, k: depth, a: a + p0 &* csa, rsa: rsa, csa: csa, b: b + p0 &* ldb, ldb: ldb, c: c, ldc: ldc)
            } else {
                panel(m: m, n: n, k: depth, a: a + p0 &* csa, rsa: rsa, csa: csa, b: b + p0 &* ldb, ldb: ldb, c: c, ldc: ldc)
            }
            p0 &+= depth
        }
    }

    /// One depth block: 4 x 8 tiles of C held in registers, then edges.
    @inlinable
    static func panel<T: BinaryFloatingPoint & SIMDScalar>(
        m: Int, n: Int, k: Int, a: UnsafePointer<T>, rsa: Int, csa: Int, b: UnsafePointer<T>, ldb: Int,
        c: UnsafeMutablePointer<T>, ldc: Int
    ) {
        typealias V = SIMD4<T>
        let raw = UnsafeRawPointer(b)
        let size = MemoryLayout<T>.stride
        var j = 0
        while j &+ 8 <= n {
            var i = 0
            while i &+ 4 <= m {
                var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
                var ap = a + i &* rsa
                var bo = j &* size
                for _ in 0..<k {
                    let b0 = raw.loadUnaligned(fromByteOffset: bo, as: V.self)
                    let b1 = raw.loadUnaligned(fromByteOffset: bo &+ 4 &* size, as: V.self)
                    let a0 = V(repeating: ap[0]), a1 = V(repeating: ap[rsa])
                    let a2 = V(repeating: ap[2 &* rsa]), a3 = V(repeating: ap[3 &* rsa])
                    c00 += a0 * b0; c01 += a0 * b1
                    c10 += a1 * b0; c11 += a1 * b1
                    c20 += a2 * b0; c21 += a2 * b1
                    c30 += a3 * b0; c31 += a3 * b1
                    ap += csa
                    bo &+= ldb &* size
                }
                store(c00, c01, c + (i &* ldc &+ j))
                store(c10, c11, c + ((i &+ 1) &* ldc &+ j))
                store(c20, c21, c + ((i &+ 2) &* ldc &+ j))
                store(c30, c31, c + ((i &+ 3) &* ldc &+ j))
                i &+= 4
            }
            while i < m {
                var c0 = V(), c1 = V()
                var ap = a + i &* rsa
                var bo = j &* size
                for _ in 0..<k {
                    let a0 = V(repeating: ap[0])
                    c0 += a0 * raw.loadUnaligned(fromByteOffset: bo, as: V.self)
                    c1 += a0 * raw.loadUnaligned(fromByteOffset: bo &+ 4 &* size, as: V.self)
                    ap += csa
                    bo &+= ldb &* size
                }
                store(c0, c1, c + (i &* ldc &+ j))
                i &+= 1
            }
            j &+= 8
        }
        edgeColumns(from: j, m: m, n: n, k: k, a: a, rsa: rsa, csa: csa, b: b, ldb: ldb, c: c, ldc: ldc)
    }

    /// One depth block with 4 x 4 tiles (for double precision).
    @inlinable
    static func narrowPanel<T: BinaryFloatingPoint & SIMDScalar>(
        m: Int, n: Int, k: Int, a: UnsafePointer<T>, rsa: Int, csa: Int, b: UnsafePointer<T>, ldb: Int,
        c: UnsafeMutablePointer<T>, ldc: Int
    ) {
        typealias V = SIMD4<T>
        let raw = UnsafeRawPointer(b)
        let size = MemoryLayout<T>.stride
        var j = 0
        while j &+ 4 <= n {
            var i = 0
            while i &+ 4 <= m {
                var c0 = V(), c1 = V(), c2 = V(), c3 = V()
                var ap = a + i &* rsa
                var bo = j &* size
                for _ in 0..<k {
                    let bv = raw.loadUnaligned(fromByteOffset: bo, as: V.self)
                    c0 += V(repeating: ap[0]) * bv
                    c1 += V(repeating: ap[rsa]) * bv
                    c2 += V(repeating: ap[2 &* rsa]) * bv
                    c3 += V(repeating: ap[3 &* rsa]) * bv
                    ap += csa
                    bo &+= ldb &* size
                }
                add(c0, c + (i &* ldc &+ j))
                add(c1, c + ((i &+ 1) &* ldc &+ j))
                add(c2, c + ((i &+ 2) &* ldc &+ j))
                add(c3, c + ((i &+ 3) &* ldc &+ j))
                i &+= 4
            }
            while i < m {
                var c0 = V()
                var ap = a + i &* rsa
                var bo = j &* size
                for _ in 0..<k {
                    c0 += V(repeating: ap[0]) * raw.loadUnaligned(fromByteOffset: bo, as: V.self)
                    ap += csa
                    bo &+= ldb &* size
                }
                add(c0, c + (i &* ldc &+ j))
                i &+= 1
            }
            j &+= 4
        }
        edgeColumns(from: j, m: m, n: n, k: k, a: a, rsa: rsa, csa: csa, b: b, ldb: ldb, c: c, ldc: ldc)
    }

    /// The columns j ..< n that no full tile covers, row by row.
    @inlinable
    static func edgeColumns<T: BinaryFloatingPoint & SIMDScalar>(
        from j: Int, m: Int, n: Int, k: Int, a: UnsafePointer<T>, rsa: Int, csa: Int, b: UnsafePointer<T>, ldb: Int,
        c: UnsafeMutablePointer<T>, ldc: Int
    ) {
        guard j < n else { return }
        for i in 0..<m {
            let row = c + i &* ldc
            var ap = a + i &* rsa
            var bp = b
            for _ in 0..<k {
                let ai = ap[0]
                for jj in j..<n { row[jj] += ai * bp[jj] }
                ap += csa
                bp += ldb
            }
        }
    }

    @inline(__always) @usableFromInline
    static func add<T: BinaryFloatingPoint & SIMDScalar>(_ v: SIMD4<T>, _ c: UnsafeMutablePointer<T>) {
        let raw = UnsafeMutableRawPointer(c)
        raw.storeBytes(of: raw.loadUnaligned(as: SIMD4<T>.self) + v, as: SIMD4<T>.self)
    }

    @inline(__always) @usableFromInline
    static func store<T: BinaryFloatingPoint & SIMDScalar>(_ v0: SIMD4<T>, _ v1: SIMD4<T>, _ c: UnsafeMutablePointer<T>) {
        let raw = UnsafeMutableRawPointer(c)
        let size = MemoryLayout<T>.stride
        raw.storeBytes(of: raw.loadUnaligned(as: SIMD4<T>.self) + v0, as: SIMD4<T>.self)
        raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: 4 &* size, as: SIMD4<T>.self) + v1, toByteOffset: 4 &* size, as: SIMD4<T>.self)
    }
}

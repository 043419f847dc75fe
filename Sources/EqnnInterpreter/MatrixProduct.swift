import EqnnKernels

/// The one matrix product of the interpreter: C[i, j] += sum_p A[i, p] B[p, j]
/// for i < m, j < n, p < k. B and C have contiguous rows (leading dimensions
/// ldb, ldc); A is read through any strides, so A^T costs nothing (`rowStride: 1`).
/// Float and Double run the C kernels of EqnnKernels (packed, register-tiled,
/// AVX-512 or AVX2 chosen at run time; Swift itself compiles for SSE2 only).
public enum MatrixProduct {
    @inlinable
    static func multiplyAdd<T: BinaryFloatingPoint & SIMDScalar>(
        m: Int, n: Int, k: Int, a: UnsafePointer<T>, rowStride rsa: Int, columnStride csa: Int,
        b: UnsafePointer<T>, ldb: Int, c: UnsafeMutablePointer<T>, ldc: Int
    ) {
        guard m > 0, n > 0, k > 0 else { return }
        if T.self == Double.self {
            a.withMemoryRebound(to: Double.self, capacity: 1) { a in
                b.withMemoryRebound(to: Double.self, capacity: 1) { b in
                    c.withMemoryRebound(to: Double.self, capacity: 1) { c in
                        eqnn_dgemm(m, n, k, a, rsa, csa, b, ldb, c, ldc)
                    }
                }
            }
        } else if T.self == Float.self {
            a.withMemoryRebound(to: Float.self, capacity: 1) { a in
                b.withMemoryRebound(to: Float.self, capacity: 1) { b in
                    c.withMemoryRebound(to: Float.self, capacity: 1) { c in
                        eqnn_sgemm(m, n, k, a, rsa, csa, b, ldb, c, ldc)
                    }
                }
            }
        } else {
            for i in 0..<m {
                for p in 0..<k {
                    let aip = a[i &* rsa &+ p &* csa]
                    for j in 0..<n { c[i &* ldc &+ j] += aip * b[p &* ldb &+ j] }
                }
            }
        }
    }

    /// The kernel the product runs on this machine ("avx512", "avx2" or "generic").
    public static var kernelName: String { String(cString: eqnn_isa_name(eqnn_best_isa())) }
}

/// How the process allocates: the interpreter allocates and frees arrays of
/// megabytes every step, which glibc by default hands back to the system at
/// each free (so every step page-faults them in again).
public enum ProcessMemory {
    /// Keeps freed blocks in the process for reuse; call once at start-up.
    public static func keepFreedBlocks() { eqnn_keep_freed_memory() }
}

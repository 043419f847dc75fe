/// The hot loops, on whole buffers with unsafe pointers and wrapping index
/// arithmetic (so the compiler vectorizes them).
enum Kernels {
    /// Y[b, :] = X[b, :] * Wt  for b < batch, with Wt stored (in x out) row-major.
    static func multiply<T: BinaryFloatingPoint>(_ x: UnsafePointer<T>, _ wt: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>,
                                                 batch: Int, input: Int, output: Int) {
        for b in 0..<batch {
            let row = y + b &* output
            row.update(repeating: 0, count: output)
            let xb = x + b &* input
            for i in 0..<input {
                let xi = xb[i]
                if xi == 0 { continue }
                let w = wt + i &* output
                for o in 0..<output { row[o] += xi * w[o] }
            }
        }
    }

    /// dst[k] += a * src[k] for k < n.
    @inline(__always)
    static func axpy(_ a: Double, _ src: UnsafePointer<Double>, _ dst: UnsafeMutablePointer<Double>, _ n: Int) {
        for k in 0..<n { dst[k] += a * src[k] }
    }
}

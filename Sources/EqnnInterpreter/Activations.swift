import EqnnIR
import Foundation

/// Scalar functions and their derivatives, in double precision.
enum Scalar {
    static func sigmoid(_ x: Double) -> Double {
        x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
    }

    /// f on every entry, in place (NaN stays NaN).
    static func apply<T: BinaryFloatingPoint>(_ f: Activation, _ x: inout [T]) {
        switch f {
        case .identity: return
        case .relu:
            Elementwise.relu(&x)
        default:
            x.withUnsafeMutableBufferPointer { v in
                for i in v.indices { v[i] = T(value(f, Double(v[i]))) }
            }
        }
    }

    /// dy f'(x) entry by entry, in place on dy; relu reads its output y instead
    /// (y > 0 exactly where x > 0), so training need not keep its input.
    static func backward<T: BinaryFloatingPoint>(_ f: Activation, x: [T], y: [T], dy: inout [T]) {
        switch f {
        case .identity: return
        case .relu:
            Elementwise.reluBackward(output: y, &dy)
        default:
            x.withUnsafeBufferPointer { x in
                dy.withUnsafeMutableBufferPointer { d in
                    for i in d.indices { d[i] *= T(derivative(f, Double(x[i]))) }
                }
            }
        }
    }

    static func value(_ f: Activation, _ x: Double) -> Double {
        switch f {
        case .relu: return max(x, 0)
        case .leakyRelu: return x > 0 ? x : Activation.leakySlope * x
        case .tanh: return Foundation.tanh(x)
        case .sigmoid: return sigmoid(x)
        case .silu: return x * sigmoid(x)
        case .gelu: return 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
        case .softplus: return x > Activation.softplusThreshold ? x : log1p(exp(x))
        case .identity: return x
        case .gated, .norm: return x  // never a pointwise op: lowering gives them ops of their own
        }
    }

    static func derivative(_ f: Activation, _ x: Double) -> Double {
        switch f {
        case .relu: return x > 0 ? 1 : 0
        case .leakyRelu: return x > 0 ? 1 : Activation.leakySlope
        case .tanh:
            let t = Foundation.tanh(x)
            return 1 - t * t
        case .sigmoid:
            let s = sigmoid(x)
            return s * (1 - s)
        case .silu:
            let s = sigmoid(x)
            return s * (1 + x * (1 - s))
        case .gelu:
            let phi = exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
            return 0.5 * (1 + erf(x / 2.0.squareRoot())) + x * phi
        case .softplus: return sigmoid(x)
        case .identity, .gated, .norm: return 1
        }
    }
}

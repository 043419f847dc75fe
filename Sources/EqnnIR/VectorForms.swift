/// Gate and norm as back ends that run whole tensors write them (the PyTorch
/// module, ONNX): one sigmoid per coordinate, read through an index table,
/// instead of the interpreter's and the C's loops over blocks. One home, so
/// that the tables the two build are the same.
extension Gate {
    /// y[c] = x[c] sigmoid(x[sigmoidSources[c]]) for every kept coordinate c < outputDimension:
    /// a scalar reads itself (silu), a gated block's coordinate its gate.
    public var sigmoidSources: [Int] {
        var source = Array(0..<outputDimension)
        for block in blocks { for c in block.offset..<(block.offset + block.length) { source[c] = block.gate } }
        return source
    }

    /// Whether coordinate c is kept (a scalar or a gated coordinate); the others are zero.
    public var kept: [Bool] {
        var kept = [Bool](repeating: false, count: outputDimension)
        for c in scalars { kept[c] = true }
        for block in blocks { for c in block.offset..<(block.offset + block.length) { kept[c] = true } }
        return kept
    }
}

extension Norm {
    /// y[c] = x[c] sigmoid(v[sigmoidSources[c]]) for every touched coordinate c, with v the
    /// coordinates followed by the blocks' norms (block b's at dimension + b): a scalar reads
    /// itself (silu), a normed block's coordinate its block's norm.
    public var sigmoidSources: [Int] {
        var source = Array(0..<dimension)
        for (b, block) in blocks.enumerated() { for c in block.offset..<(block.offset + block.length) { source[c] = dimension + b } }
        return source
    }

    /// Whether coordinate c is touched (a scalar or in a normed block); the others pass unchanged.
    public var touched: [Bool] {
        var touched = [Bool](repeating: false, count: dimension)
        for c in scalars { touched[c] = true }
        for block in blocks { for c in block.offset..<(block.offset + block.length) { touched[c] = true } }
        return touched
    }
}

/// The weights file's conventions (safetensors, docs/graph-ir.md): one float64 tensor per
/// parameter slice, named like the slice, then the normalizer's four tensors, and metadata
/// with these values. Every writer and reader of the file (EqnnData's WeightsFile, the
/// PyTorch module) takes them from here.
public enum WeightsFormat {
    public static let format = "eqnnc-weights"
    public static let version = "1"
    /// Input shift, input scale, output shift, output scale.
    public static let normalizerNames = ["normalizer.input_shift", "normalizer.input_scale",
                                         "normalizer.output_shift", "normalizer.output_scale"]
}

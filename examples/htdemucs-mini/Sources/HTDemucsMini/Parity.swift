import Foundation

/// Parity metrics between a PyTorch reference and a CoreML output; mirrors
/// `htdemucs_mini.parity` so the Swift and Python reports agree.
public enum Parity {
    /// SDR is capped so that identical signals give a finite, comparable number.
    public static let maxSDR = 120.0

    /// Signal-to-distortion ratio in dB, capped at plus or minus `maxSDR`.
    public static func sdr(reference: [Float], estimate: [Float]) -> Double {
        precondition(reference.count == estimate.count, "shape mismatch")
        var signal = 0.0
        var noise = 0.0
        for (ref, est) in zip(reference, estimate) {
            let diff = Double(ref) - Double(est)
            signal += Double(ref) * Double(ref)
            noise += diff * diff
        }
        if noise == 0 {
            return maxSDR
        }
        if signal == 0 {
            return -maxSDR
        }
        return min(maxSDR, 10 * log10(signal / noise))
    }

    /// Largest absolute element-wise difference.
    public static func maxAbsError(reference: [Float], estimate: [Float]) -> Float {
        precondition(reference.count == estimate.count, "shape mismatch")
        return zip(reference, estimate).map { abs($0 - $1) }.max() ?? 0
    }
}

/// The geometry the CoreML model is traced with; mirrors `htdemucs_mini/audio.py`.
public enum ModelGeometry {
    public static let sampleRate = 44100
    public static let fftSize = 4096
    public static let hopLength = 1024
    /// One model segment: 7.8 s at 44.1 kHz.
    public static let segmentSamples = 343_980
    public static let frequencyBins = fftSize / 2

    /// Number of frames of a centred STFT over `sampleCount` samples.
    public static func frameCount(sampleCount: Int, hop: Int = ModelGeometry.hopLength) -> Int {
        precondition(sampleCount >= 0, "sampleCount must be >= 0")
        precondition(hop > 0, "hop must be > 0")
        return sampleCount / hop + 1
    }
}

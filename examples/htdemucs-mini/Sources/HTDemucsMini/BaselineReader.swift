import Foundation

/// Reads the per-stage timings of one benchmark entry, e.g. `{"stft_sec": 0.42}`.
public enum BaselineReader {
    public enum Error: Swift.Error, Equatable {
        case badKey(String)
    }

    /// DELIBERATE SwiftLint finding (force_try, an error by default): see README.md.
    static let keyPattern = try! NSRegularExpression(pattern: "^[a-z_]+_(sec|mb)$")

    /// Decodes the timings and rejects keys that are not `<stage>_sec` or `<stage>_mb`.
    public static func timings(from data: Data) throws -> [String: Double] {
        let timings = try JSONDecoder().decode([String: Double].self, from: data)
        for key in timings.keys.sorted() {
            let range = NSRange(key.startIndex..., in: key)
            guard keyPattern.firstMatch(in: key, range: range) != nil else {
                throw Error.badKey(key)
            }
        }
        return timings
    }
}

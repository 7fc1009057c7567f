@testable import HTDemucsMini
import XCTest

final class ParityTests: XCTestCase {
    func testIdenticalSignalsHaveTheCappedSDR() {
        let signal: [Float] = [0.5, -0.25, 1, 0]
        XCTAssertEqual(Parity.sdr(reference: signal, estimate: signal), Parity.maxSDR)
    }

    func testSDROfAKnownErrorLevel() {
        // Noise power is 1% of the signal power: 20 dB, as in tests/test_parity.py.
        let reference = [Float](repeating: 1, count: 1000)
        let estimate = reference.map { $0 + 0.1 }
        XCTAssertEqual(Parity.sdr(reference: reference, estimate: estimate), 20, accuracy: 1e-4)
    }

    func testMaxAbsError() {
        let error = Parity.maxAbsError(reference: [0, 1, -2], estimate: [0.5, 1, -1])
        XCTAssertEqual(error, 1)
        XCTAssertEqual(Parity.maxAbsError(reference: [], estimate: []), 0)
    }

    func testBaselineTimings() throws {
        let data = Data(#"{"stft_sec": 0.42, "istft_sec": 0.31}"#.utf8)
        let timings = try BaselineReader.timings(from: data)
        XCTAssertEqual(timings["stft_sec"], 0.42)
        XCTAssertEqual(timings.count, 2)
    }

    func testBaselineRejectsUnknownKeys() {
        let data = Data(#"{"stft": 0.42}"#.utf8)
        XCTAssertThrowsError(try BaselineReader.timings(from: data)) { error in
            XCTAssertEqual(error as? BaselineReader.Error, .badKey("stft"))
        }
    }
}

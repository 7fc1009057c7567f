@testable import HTDemucsMini
import XCTest

final class SegmenterTests: XCTestCase {
    func testSegmentIsSevenPointEightSeconds() {
        let seconds = Double(ModelGeometry.segmentSamples) / Double(ModelGeometry.sampleRate)
        XCTAssertEqual(seconds, 7.8, accuracy: 1e-9)
        XCTAssertEqual(ModelGeometry.frequencyBins, 2048)
    }

    func testOffsetsCoverTheSignalWithOverlap() {
        let segmenter = Segmenter(length: 400, overlap: 0.25)
        XCTAssertEqual(segmenter.stride, 300)
        XCTAssertEqual(segmenter.offsets(sampleCount: 1000), [0, 300, 600])
    }

    func testShortSignalIsOnePaddedChunk() {
        let segmenter = Segmenter(length: 16)
        XCTAssertEqual(segmenter.offsets(sampleCount: 10), [0])
        let chunk = segmenter.chunk(of: [Float](repeating: 1, count: 10), at: 0)
        XCTAssertEqual(chunk.count, 16)
        XCTAssertEqual(Array(chunk[..<10]), [Float](repeating: 1, count: 10))
        XCTAssertEqual(Array(chunk[10...]), [Float](repeating: 0, count: 6))
    }

    func testStemLayouts() {
        XCTAssertEqual(Stem.layout(sourceCount: 4), [.drums, .bass, .other, .vocals])
        XCTAssertEqual(Stem.layout(sourceCount: 6), Stem.allCases)
        XCTAssertNil(Stem.layout(sourceCount: 5))
    }
}

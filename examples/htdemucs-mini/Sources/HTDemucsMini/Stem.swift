/// Output sources of the HTDemucs models, in output order.
public enum Stem: String, CaseIterable, Sendable {
    case drums
    case bass
    case other
    case vocals
    case guitar
    case piano

    /// The stems of the 4- or 6-source model, or nil for any other source count.
    public static func layout(sourceCount: Int) -> [Stem]? {
        switch sourceCount {
        case 4:
            [.drums, .bass, .other, .vocals]
        case 6:
            allCases
        default:
            nil
        }
    }
}

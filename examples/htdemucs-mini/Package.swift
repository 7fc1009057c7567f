// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "HTDemucsMini",
    platforms: [.macOS(.v13), .iOS(.v16)],
    products: [
        .library(name: "HTDemucsMini", targets: ["HTDemucsMini"]),
    ],
    targets: [
        .target(name: "HTDemucsMini"),
        .testTarget(name: "HTDemucsMiniTests", dependencies: ["HTDemucsMini"]),
    ]
)

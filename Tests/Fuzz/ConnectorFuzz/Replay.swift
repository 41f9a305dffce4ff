import Foundation

/// The normal build's stand-in for libFuzzer: runs each file (or each file of each
/// folder) through the same check once. A broken property traps here as it does there.
enum Replay {
    static func run(paths: [String]) -> Int32 {
        guard let target = selectedTarget, !paths.isEmpty else {
            FileHandle.standardError.write(Data("usage: ConnectorFuzz <connector> <file or folder>…\n".utf8))
            return 2
        }
        var count = 0
        for path in paths {
            for file in files(at: path) {
                guard let bytes = FileManager.default.contents(atPath: file) else {
                    FileHandle.standardError.write(Data("cannot read \(file)\n".utf8))
                    return 1
                }
                Array(bytes).withUnsafeBufferPointer { target.check(FuzzInput($0)) }
                count += 1
            }
        }
        print("\(target.rawValue): \(count) input(s) checked, no property broken")
        return 0
    }

    private static func files(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return [path]
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().map { path + "/" + $0 }
    }
}

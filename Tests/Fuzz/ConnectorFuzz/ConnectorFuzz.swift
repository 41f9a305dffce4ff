#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Throws arbitrary bytes at one connector's `verify` and `parse` (see `FuzzInput` for how
/// bytes become a delivery, `FuzzTarget.check` for what must hold).
///
/// Built two ways. With `-sanitize=fuzzer -D SWITCHBOARD_FUZZING` (Deploy/fuzz.sh) it is a
/// libFuzzer binary: `ConnectorFuzz <connector> [libFuzzer flags] [corpus dirs or files]`.
/// In the normal build it is a replayer that needs no fuzzer runtime:
/// `swift run ConnectorFuzz <connector> <file or folder>…` runs each file once, so a
/// reproducer found by the fuzzer can be replayed and debugged with the ordinary toolchain.
///
/// The connector is the first argument; it is also put in `SWITCHBOARD_FUZZ_CONNECTOR`,
/// which is where the processes libFuzzer starts itself (`-fork`, `-merge`) find it.
@main
enum ConnectorFuzz {
    static let environmentKey = "SWITCHBOARD_FUZZ_CONNECTOR"

    static func main() {
        var arguments = CommandLine.arguments
        if arguments.count > 1, FuzzTarget(rawValue: arguments[1]) != nil {
            setenv(environmentKey, arguments[1], 1)
            arguments.remove(at: 1)
        }
        guard selectedTarget != nil else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
            FileHandle.standardError.write(
                Data("usage: ConnectorFuzz <\(names)> [libFuzzer flags or inputs…] (or set \(environmentKey))\n".utf8))
            exit(2)
        }
        #if SWITCHBOARD_FUZZING
        // libFuzzer reads its own flags and inputs from argv: hand it argv without the name.
        var argc = CInt(arguments.count)
        let argvBuffer = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: arguments.count + 1)
        for (index, argument) in arguments.enumerated() { argvBuffer[index] = strdup(argument) }
        argvBuffer[arguments.count] = nil
        var argv = argvBuffer
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
        #else
        exit(Replay.run(paths: Array(arguments.dropFirst())))
        #endif
    }
}

/// The connector under test, read once from the environment `main` has set.
let selectedTarget: FuzzTarget? = getenv(ConnectorFuzz.environmentKey)
    .flatMap { FuzzTarget(rawValue: String(cString: $0)) }

/// libFuzzer's entry point: one input, checked; a broken property traps, which libFuzzer
/// reports as a crash and saves the input for.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let target = selectedTarget else { return -1 }
    target.check(FuzzInput(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

#if SWITCHBOARD_FUZZING
/// libFuzzer's driver (in the fuzzer runtime `-sanitize=fuzzer` links). Called from our own
/// `main` because SwiftPM always gives an executable a `main` of its own.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
#endif

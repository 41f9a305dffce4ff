@testable import SwitchboardPipeline
import Testing

@Suite("The workers' places: claimed jobs and jobs taken at ingest share one concurrency")
struct WorkerPlacesTests {
    @Test("the ingest reserves only the places left free, none while the workers do not run, and frees what it did not use")
    func reservations() {
        let wake = Wake()
        #expect(wake.reserve(upTo: 3, of: 4) == 0, "the workers do not run yet")
        wake.open(true)
        wake.started()
        #expect(wake.reserve(upTo: 5, of: 4) == 3, "one place runs a claimed job")
        #expect(wake.running == 4)
        #expect(wake.reserve(upTo: 1, of: 4) == 0, "all taken")
        wake.release(2)
        #expect(wake.running == 2)
        #expect(wake.reserve(upTo: 1, of: 4) == 1)
        wake.finished()
        #expect(wake.running == 2)
        wake.open(false)
        #expect(wake.reserve(upTo: 1, of: 4) == 0, "stopped workers take nothing")
    }
}

import Foundation
import Logging
@testable import SwitchboardPipeline
import Synchronization
import Testing

@Suite("Maintenance chores")
struct MaintenanceTests {
    struct Failure: Error {}

    @Test("a chore runs every interval at the clock's time, and a failed run is logged and tried again at the next")
    func keepsRunning() async throws {
        let sleeps = Mutex<[Duration]>([])
        let runs = Mutex<[Date]>([])
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let chore = Maintenance.Chore(name: "test", interval: .seconds(60)) { now, _ in
            let count = runs.withLock { runs in
                runs.append(now)
                return runs.count
            }
            if count == 1 { throw Failure() }
            return nil
        }
        let maintenance = Maintenance(
            chores: [chore], now: { start.addingTimeInterval(Double(runs.withLock { $0.count }) * 60) },
            sleep: { duration in
                // Three intervals pass; the fourth wait is the shutdown.
                let waited = sleeps.withLock { sleeps in
                    sleeps.append(duration)
                    return sleeps.count
                }
                if waited > 3 { throw CancellationError() }
            },
            logger: Logger(label: "maintenance-test")
        )
        await maintenance.keep(chore)
        #expect(sleeps.withLock { $0 } == [.seconds(60), .seconds(60), .seconds(60), .seconds(60)])
        #expect(runs.withLock { $0 } == [start, start.addingTimeInterval(60), start.addingTimeInterval(120)], "the failed first run did not stop the chore")
    }
}

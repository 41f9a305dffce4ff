/// An attempt of a job ran past `JobPolicy.runDeadline`: its work was cancelled and its
/// lease ended, so the next claim takes the job again as its next attempt — or, when that
/// was the last, buries it as `dead`.
public struct JobDeadlinePassed: Error, Sendable {}

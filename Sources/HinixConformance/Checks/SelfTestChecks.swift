// Checks that test the harness itself; they run only when named with --filter.

#if canImport(Glibc)
  import Glibc
#endif

let selfTestChecks: [Check] = [
  Check(
    "SELFTEST-HANG", source: "the harness",
    clause: "A check that never returns is killed at its deadline and fails with \"timed out\"",
    deadline: .seconds(1),
    roles: ["sleeper": { _ in while true { sleep(60) } }]
  ) { context in
    _ = try context.spawn("sleeper")
    while true { sleep(60) }
  },
]

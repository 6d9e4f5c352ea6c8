// Running the whole bench in a private IPC and mount namespace.

import CHinix
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// Moves this process into new IPC and mount namespaces, so that every queue
/// the run creates lives and dies with the run (ipc_namespaces(7): when the
/// last process of an IPC namespace exits, its queues are destroyed, also after
/// SIGKILL) and /proc/sys/fs/mqueue can be changed without touching the host.
///
/// unshare(CLONE_NEWNS) works only in a single-threaded process, so call this
/// first thing, before anything starts a thread.
///
/// - Returns: `nil` when the process is now namespaced, or the reason it is not.
public func enterPrivateNamespaces() -> String? {
  let threads = readSmallFile("/proc/self/status")?.split(separator: "\n")
    .first { $0.hasPrefix("Threads:") }
    .flatMap { Int($0.dropFirst("Threads:".count).filter { !$0.isWhitespace }) }
  guard threads == 1 else {
    return "the process already has \(threads.map(String.init) ?? "several") threads; unshare(CLONE_NEWNS) needs one"
  }
  guard CHinix_unshare(CHinix_CLONE_NEWIPC | CHinix_CLONE_NEWNS) == 0 else {
    return "unshare(CLONE_NEWIPC | CLONE_NEWNS) failed with \(Errno(rawValue: errno).symbolicName); run as root for isolation"
  }
  // Keep mounts made by checks from propagating to the host (mount_namespaces(7)).
  guard mount(nil, "/", nil, UInt(MS_REC | MS_PRIVATE), nil) == 0 else {
    return "making / a private mount failed with \(Errno(rawValue: errno).symbolicName)"
  }
  return nil
}

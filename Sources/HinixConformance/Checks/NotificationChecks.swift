// Conformance checks; see the catalog rows each cites.

import CHinix
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

let notificationChecks: [Check] = []

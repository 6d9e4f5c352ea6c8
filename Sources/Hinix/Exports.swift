// Hinix's API speaks swift-system's types (Errno, FileDescriptor,
// FilePermissions): re-export them so `import Hinix` is enough.
@_exported import SystemPackage

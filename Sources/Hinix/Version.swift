/// The version of this Hinix package.
///
/// One value, shared by `hinix --version`, `mqsend --version`,
/// `mqrecv --version`, the conformance report's `hinixVersion` and the
/// benchmark results; `CHANGELOG.md` lists what each version changed.
public enum HinixVersion {
  /// The version, in semantic versioning form (`MAJOR.MINOR.PATCH`).
  public static let string = "0.10.0"
}

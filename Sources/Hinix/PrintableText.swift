/// Bytes as text that is safe to show on a terminal and says exactly which
/// bytes they are.
///
/// Valid UTF-8 is kept, except for the characters that would act instead of
/// showing: C0 and C1 control characters and DEL (an escape sequence can
/// clear a terminal or retitle its window). Those bytes, bytes that are not
/// valid UTF-8, and a backslash are escaped: `\\` for a backslash and `\xNN`
/// (two lowercase hex digits) for any other byte. The escapes are those of
/// bash's `$'…'` quoting, and the text can be turned back into the bytes.
package enum PrintableText {
  /// What is escaped besides backslashes, invalid UTF-8 and control characters.
  package enum Strictness: Sendable {
    /// Tab and newline are kept: a message's text may have lines.
    case keepingTabAndNewline
    /// Tab and newline are escaped too, and so are the Unicode characters
    /// that reorder or break the text around them (bidirectional controls,
    /// and the line and paragraph separators): a name stays on one line and
    /// shows its bytes in order.
    case name
    /// A line of text already made printable where it quotes names or
    /// messages: backslashes, tab and newline are kept, and only the control
    /// characters and Unicode controls that ``name`` escapes are, so that
    /// nothing that reaches the terminal can act on it.
    case line
  }

  /// `bytes` as printable text (see ``PrintableText``).
  package static func escaping(_ bytes: some Collection<UInt8>, _ strictness: Strictness) -> String {
    let bytes = Array(bytes)
    var out = ""
    var index = 0
    while index < bytes.count {
      let byte = bytes[index]
      if byte == UInt8(ascii: "\\") && strictness != .line {
        out += "\\\\"
        index += 1
        continue
      }
      if byte < 0x80 {
        let kept =
          (byte >= 0x20 && byte != 0x7F)
          || (strictness != .name && (byte == 0x09 || byte == 0x0A))
        if kept {
          out.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
          out += hexEscape(byte)
        }
        index += 1
        continue
      }
      // A multi-byte sequence: keep it if it decodes to one valid, printable scalar.
      let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 0
      if length > 0, index + length <= bytes.count,
        let scalar = String(validating: bytes[index..<index + length], as: UTF8.self)?
          .unicodeScalars.first,
        !(0x80...0x9F).contains(scalar.value),
        strictness == .keepingTabAndNewline || !reordersText(scalar)
      {
        out.unicodeScalars.append(scalar)
        index += length
      } else {
        out += hexEscape(byte)
        index += 1
      }
    }
    return out
  }

  /// Whether `scalar` changes the order or the lines of the text around it:
  /// the bidirectional formatting characters (U+061C, U+200E, U+200F,
  /// U+202A–U+202E, U+2066–U+2069) and U+2028, U+2029.
  private static func reordersText(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069, 0x2028, 0x2029: true
    default: false
    }
  }

  private static func hexEscape(_ byte: UInt8) -> String {
    "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
  }
}

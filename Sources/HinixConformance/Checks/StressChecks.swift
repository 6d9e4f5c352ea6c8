// A stress check: many producers and consumers on one small queue, and every
// message delivered exactly once, intact, at its priority, in order.

import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// The stress check's figures: producers, consumers, messages per producer.
private let stressProducers = 3
private let stressConsumers = 2
private let stressMessages = 2000

/// A message's first byte: a producer's message, or the end marker.
private let stressData: UInt8 = 0xD1
private let stressEnd: [UInt8] = [0xEE, 0x45, 0x4E, 0x44]

/// FNV-1a, 32 bits.
private func fnv1a(_ bytes: ArraySlice<UInt8>) -> UInt32 {
  var hash: UInt32 = 0x811c_9dc5
  for byte in bytes {
    hash ^= UInt32(byte)
    hash = hash &* 0x0100_0193
  }
  return hash
}

/// A deterministic mix of (producer, sequence, salt).
private func stressMix(_ producer: Int, _ sequence: Int, _ salt: UInt32) -> UInt32 {
  var x = UInt32(truncatingIfNeeded: producer) &* 0x9E37_79B1 ^ UInt32(truncatingIfNeeded: sequence) &* 0x85EB_CA6B ^ salt
  x ^= x >> 15
  x = x &* 0x2C1B_3C6D
  x ^= x >> 12
  return x
}

/// The priority of a producer's message: 0 to 7, drawn from (producer, sequence).
private func stressPriority(_ producer: Int, _ sequence: Int) -> UInt32 {
  stressMix(producer, sequence, 0x5151) % 8
}

/// A producer's message: tag, producer, sequence (LE32), priority (LE16),
/// payload, then FNV-1a over all of it (LE32); 16 to 64 bytes in all.
private func stressMessage(_ producer: Int, _ sequence: Int) -> [UInt8] {
  let priority = stressPriority(producer, sequence)
  let payloadLength = 8 + Int(stressMix(producer, sequence, 0xA0A0) % 45)  // 8 ... 52
  var bytes: [UInt8] = [stressData, UInt8(producer)]
  bytes.reserveCapacity(64)
  for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: sequence >> shift)) }
  bytes.append(UInt8(truncatingIfNeeded: priority))
  bytes.append(UInt8(truncatingIfNeeded: priority >> 8))
  for index in 0..<payloadLength {
    bytes.append(UInt8(truncatingIfNeeded: stressMix(producer, sequence, UInt32(index) &+ 7)))
  }
  let sum = fnv1a(bytes[...])
  for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: sum >> UInt32(shift))) }
  return bytes
}

private func littleEndian(_ bytes: [UInt8], _ at: Int, _ count: Int) -> Int {
  (0..<count).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) }
}

private func hex(_ bytes: [UInt8]) -> String {
  let digits = Array("0123456789abcdef".utf8)
  var out: [UInt8] = []
  out.reserveCapacity(bytes.count * 2)
  for byte in bytes {
    out.append(digits[Int(byte >> 4)])
    out.append(digits[Int(byte & 15)])
  }
  return String(decoding: out, as: UTF8.self)
}

private func unhex(_ text: Substring) -> [UInt8]? {
  let chars = Array(text.utf8)
  guard chars.count % 2 == 0 else { return nil }
  func value(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    default: nil
    }
  }
  var out: [UInt8] = []
  var index = 0
  while index < chars.count {
    guard let high = value(chars[index]), let low = value(chars[index + 1]) else { return nil }
    out.append(high << 4 | low)
    index += 2
  }
  return out
}

/// What one consumer saw, reported as lines: `STATS received dup corrupt prio order end`,
/// then `SEEN producer hex-bitmap` per producer, then `DONE`.
private struct ConsumerTally {
  var received = 0
  var duplicates = 0
  var corrupted = 0
  var wrongPriority = 0
  var outOfOrder = 0
  var sawEnd = false
  var seen = [[UInt8]](repeating: [UInt8](repeating: 0, count: (stressMessages + 7) / 8), count: stressProducers)
  /// The last sequence seen for each (producer, priority).
  var last = [[Int]](repeating: [Int](repeating: -1, count: 8), count: stressProducers)

  mutating func take(_ bytes: [UInt8], priority: UInt32) {
    received += 1
    guard bytes.count >= 16, bytes.count <= 64, bytes[0] == stressData,
      fnv1a(bytes[..<(bytes.count - 4)]) == UInt32(littleEndian(bytes, bytes.count - 4, 4))
    else {
      corrupted += 1
      return
    }
    let producer = Int(bytes[1])
    let sequence = littleEndian(bytes, 2, 4)
    let sentPriority = littleEndian(bytes, 6, 2)
    guard producer < stressProducers, sequence < stressMessages, sentPriority < 8,
      bytes == stressMessage(producer, sequence)
    else {
      corrupted += 1
      return
    }
    if UInt32(sentPriority) != priority { wrongPriority += 1 }
    let (byte, bit) = (sequence / 8, UInt8(1) << (sequence % 8))
    if seen[producer][byte] & bit != 0 { duplicates += 1 }
    seen[producer][byte] |= bit
    if last[producer][sentPriority] > sequence { outOfOrder += 1 }
    last[producer][sentPriority] = max(last[producer][sentPriority], sequence)
  }
}

let stressChecks: [Check] = [
  Check(
    "STRESS-MQ-EXACTLY-ONCE", source: "mq_overview(7), mq_send(3), mq_receive(3) DESCRIPTION",
    clause: "\(stressProducers) producers × \(stressConsumers) consumers × \(stressMessages) messages each through one 10 × 64 queue: every message is received exactly once, intact, at the priority it was sent with, and in order within a producer and a priority",
    needs: [.processes], deadline: .seconds(30),
    roles: [
      "producer": { role in
        let queue = try MsgQueue.open(role.arguments[0], access: .writeOnly)
        let producer = Int(role.arguments[1])!
        for sequence in 0..<stressMessages {
          try queue.send(stressMessage(producer, sequence), priority: stressPriority(producer, sequence), timeout: .seconds(10))
        }
        role.report("SENT \(stressMessages)")
      },
      "consumer": { role in
        let queue = try MsgQueue.open(role.arguments[0], access: .readWrite)
        var tally = ConsumerTally()
        var timedOut = false
        while true {
          let message: MsgQueue.Message
          do {
            message = try queue.receive(timeout: .seconds(10))
          } catch let error as HinixError where error.errno == .timedOut {
            timedOut = true
            break
          }
          if message.bytes == stressEnd {
            tally.sawEnd = true
            break
          }
          tally.take(message.bytes, priority: message.priority)
        }
        role.report(
          "STATS \(tally.received) \(tally.duplicates) \(tally.corrupted) \(tally.wrongPriority) \(tally.outOfOrder) \(tally.sawEnd ? 1 : 0) \(timedOut ? 1 : 0)")
        for producer in 0..<stressProducers { role.report("SEEN \(producer) \(hex(tally.seen[producer]))") }
        role.report("DONE")
      },
    ]
  ) { context in
    let clock = ContinuousClock()
    let start = clock.now
    let queue = try context.makeQueue("stress", maxMessages: 10, messageSize: 64)
    let consumers = try (0..<stressConsumers).map { _ in try context.spawn("consumer", arguments: [queue.name.rawValue]) }
    let producers = try (0..<stressProducers).map { try context.spawn("producer", arguments: [queue.name.rawValue, String($0)]) }
    var problems: [String] = []
    for (index, producer) in producers.enumerated() {
      let line = producer.readLine(timeout: .seconds(20))
      let status = producer.wait(timeout: .seconds(5))
      if line != "SENT \(stressMessages)" || status != 0 {
        problems.append("producer \(index) ended with status \(status.map(String.init) ?? "none") after \(line.debugDescription)")
      }
    }
    // Every producer's message is queued or taken; the end markers go after all of them.
    for _ in 0..<stressConsumers { try queue.send(stressEnd, priority: 0, timeout: .seconds(5)) }

    var totals = (received: 0, duplicates: 0, corrupted: 0, wrongPriority: 0, outOfOrder: 0, ends: 0, timeouts: 0)
    var counts = [[UInt8]](repeating: [UInt8](repeating: 0, count: stressMessages), count: stressProducers)
    for (index, consumer) in consumers.enumerated() {
      var done = false
      while let line = consumer.readLine(timeout: .seconds(15)) {
        let words = line.split(separator: " ")
        if words.first == "STATS", words.count == 8 {
          let v = words.dropFirst().map { Int($0) ?? 0 }
          totals.received += v[0]
          totals.duplicates += v[1]
          totals.corrupted += v[2]
          totals.wrongPriority += v[3]
          totals.outOfOrder += v[4]
          totals.ends += v[5]
          totals.timeouts += v[6]
        } else if words.first == "SEEN", words.count == 3, let producer = Int(words[1]),
          (0..<stressProducers).contains(producer), let bitmap = unhex(words[2])
        {
          for sequence in 0..<stressMessages where bitmap[sequence / 8] & (1 << (sequence % 8)) != 0 {
            counts[producer][sequence] &+= 1
          }
        } else if line == "DONE" {
          done = true
          break
        }
      }
      if !done { problems.append("consumer \(index) sent no complete report") }
      _ = consumer.wait(timeout: .seconds(5))
    }
    let lost = counts.reduce(0) { $0 + $1.filter { $0 == 0 }.count }
    let sharedByConsumers = counts.reduce(0) { $0 + $1.filter { $0 > 1 }.count }
    let left = try queue.attributes().currentMessages
    let elapsed = start.duration(to: clock.now)
    let figures =
      "\(stressProducers)×\(stressConsumers)×\(stressMessages): received \(totals.received), lost \(lost), duplicated \(totals.duplicates + sharedByConsumers), corrupted \(totals.corrupted), wrong priority \(totals.wrongPriority), out of order \(totals.outOfOrder), end markers \(totals.ends)/\(stressConsumers), consumer timeouts \(totals.timeouts), left in queue \(left), in \(elapsed)"
    try expect(problems.isEmpty, problems.joined(separator: "; ") + "; " + figures)
    try expect(
      lost == 0 && totals.duplicates == 0 && sharedByConsumers == 0 && totals.corrupted == 0
        && totals.wrongPriority == 0 && totals.outOfOrder == 0 && totals.ends == stressConsumers
        && totals.timeouts == 0 && left == 0 && totals.received == stressProducers * stressMessages,
      figures)
  }
]

// The sab-spsc ring, in C++, on the very same memory layout as implementations/sab-spsc/layout.ts
// and the same record framing as implementations/shared/ring/records.ts, so a JavaScript producer and
// a native consumer (or the reverse) can share one SharedArrayBuffer. Change both together.
//
//   byte 0     | META: capacity (i32), layout version (i32),    |
//              |       peer mode (i32: 0 unset, 1 JS, 2 native)  |  claimed by the first side
//   byte 128   | TAIL: producer position (i32, wraps at 2^32)   |  written by the producer only
//   byte 256   | HEAD: consumer position (i32, wraps at 2^32)   |  written by the consumer only
//   byte 384   | NOT_EMPTY event count (epoch, waiters)         |
//   byte 512   | NOT_FULL event count (epoch, waiters)          |
//   byte 640   | DATA: capacity bytes of records                |
//
//   record: | length (i32, message bytes) | type (i32: 1 message, 2 padding) | bytes | pad to 8 |
//
// JavaScript's Atomics are sequentially consistent; std::atomic_ref with seq_cst on the same
// Int32 words interoperates with them (both are the C++ memory model's seq_cst). Positions are kept as uint32_t so that
// wrap-around arithmetic is defined; the words hold the same bits as the JS Int32 values.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>

namespace nanomq {

constexpr int kMetaCapacity = 0;
constexpr int kMetaPeerMode = 2;
constexpr int kTail = 128 / 4;
constexpr int kHead = 256 / 4;
constexpr int kNotEmpty = 384 / 4;
constexpr int kNotFull = 512 / 4;
constexpr uint32_t kDataOffset = 640;
constexpr uint32_t kRecordHeader = 8;
constexpr int32_t kMessage = 1;
constexpr int32_t kPadding = 2;
// Mirror ZERO_FROM_BYTES and ZERO_MAX_RECORD_BYTES in sab-spsc/ring.ts (test/mirrors.test.ts
// holds them equal; the figures behind them are there).
constexpr uint32_t kZeroFromBytes = 1024;
constexpr uint32_t kZeroMaxRecordBytes = 256;

inline uint32_t record_bytes(uint32_t length) { return (length + kRecordHeader + 7u) & ~7u; }

inline std::atomic_ref<int32_t> word(int32_t* words, int index) { return std::atomic_ref<int32_t>(words[index]); }

inline uint32_t load_position(int32_t* words, int index) {
  return static_cast<uint32_t>(word(words, index).load(std::memory_order_seq_cst));
}
inline void store_position(int32_t* words, int index, uint32_t value, std::memory_order order = std::memory_order_seq_cst) {
  word(words, index).store(static_cast<int32_t>(value), order);
}

// Who may be on the other side of a ring. A JavaScript thread may sleep on an event count, and
// seeing its waiter flag right after a publish needs a sequentially consistent store (store →
// load order). Between two C++ threads that only spin, a release store publishes just as well
// and does not stall on the store buffer: on x86 a plain MOV instead of an XCHG.
//
// The hazard if the two ever met: a native-only producer's release store of TAIL may still sit
// in its store buffer when it loads the consumer's waiter count (x86 lets a later load pass an
// earlier store). A JavaScript consumer can meanwhile announce itself, re-check TAIL (old value:
// empty) and sleep, while the producer read "no waiters" and never notifies: a lost wake-up. A
// native-only end does not even load the waiter count. So the mode is claimed in the ring's META
// block by every side as it attaches (layout.ts: PeerMode), and a side whose mode disagrees with
// the ring's is refused: constructed with `attached == false`, it claims and scans nothing.
enum class Peer { kJavaScript, kNativeOnly };

constexpr int32_t kPeerModeJavaScript = 1;
constexpr int32_t kPeerModeNativeOnly = 2;

// Claims the ring for `peer` (first side to attach) or checks that it was claimed for the same.
inline bool claim_peer_mode(int32_t* words, Peer peer) {
  const int32_t want = peer == Peer::kJavaScript ? kPeerModeJavaScript : kPeerModeNativeOnly;
  int32_t seen = 0;
  std::atomic_ref<int32_t>(words[kMetaPeerMode]).compare_exchange_strong(seen, want, std::memory_order_seq_cst);
  return seen == 0 || seen == want;
}

// Producer side. `tail` and `cached_head` are the producer's private state; callers keep them
// (in C++ threads: locals; behind N-API: a small Int32Array the JavaScript side owns).
struct SpscProducer {
  int32_t* words;
  uint8_t* bytes;
  uint32_t capacity;
  uint32_t mask;
  uint32_t tail;
  uint32_t cached_head;
  uint32_t pending_tail;
  Peer peer;
  bool attached;

  explicit SpscProducer(int32_t* w, Peer p = Peer::kJavaScript)
      : words(w),
        bytes(reinterpret_cast<uint8_t*>(w)),
        capacity(static_cast<uint32_t>(w[kMetaCapacity])),
        mask(capacity - 1),
        tail(load_position(w, kTail)),
        cached_head(load_position(w, kHead)),
        pending_tail(tail),
        peer(p),
        attached(claim_peer_mode(w, p)) {}

  // Reserves up to `max` records of `length` bytes; writes their record headers and stores each
  // message's byte offset (from the start of the buffer) in `offsets`. Returns how many.
  // The records of a claim are equal, so they form at most two runs (to the end of the buffer,
  // then from its start after one padding record): room is checked once per run, not per record,
  // as record-run.ts does on the JavaScript side.
  uint32_t claim(uint32_t max, uint32_t length, int32_t* offsets) {
    if (!attached) return 0;
    const uint32_t size = record_bytes(length);
    const uint32_t t = tail;
    uint32_t free_bytes = capacity - (t - cached_head);
    if (static_cast<uint64_t>(free_bytes) < static_cast<uint64_t>(max) * size + size) {
      cached_head = load_position(words, kHead);
      free_bytes = capacity - (t - cached_head);
    }
    const uint32_t index = t & mask;
    const uint32_t to_end = capacity - index;
    const uint32_t first = std::min(max, std::min(free_bytes, to_end) / size);
    write_run(kDataOffset + index, first, size, length, offsets);
    uint32_t used = first * size;
    uint32_t n = first;
    const uint32_t rest = to_end - used;
    if (first < max && rest < size && free_bytes - used >= rest + size) {
      if (rest > 0) {
        const uint32_t at = kDataOffset + index + used;
        words[at >> 2] = static_cast<int32_t>(rest);
        words[(at >> 2) + 1] = kPadding;
      }
      used += rest;
      const uint32_t second = std::min(max - first, (free_bytes - used) / size);
      write_run(kDataOffset, second, size, length, offsets + first);
      used += second * size;
      n += second;
    }
    pending_tail = t + used;
    return n;
  }

  // Headers of `n` records of `size` bytes from byte `at`, and where each message starts.
  void write_run(uint32_t at, uint32_t n, uint32_t size, uint32_t length, int32_t* offsets) {
    for (uint32_t i = 0; i < n; i++, at += size) {
      words[at >> 2] = static_cast<int32_t>(length);
      words[(at >> 2) + 1] = kMessage;
      offsets[i] = static_cast<int32_t>(at + kRecordHeader);
    }
  }

  // Forgets an unpublished claim: nothing past TAIL was visible, the next claim overwrites it.
  void abort() { pending_tail = tail; }

  // Publishes everything claimed since the last publish with one store. Returns true when a
  // JavaScript thread sleeps on NOT_EMPTY (the caller must then have it notified from JS:
  // a native futex call cannot wake V8's Atomics.wait).
  bool publish() {
    if (pending_tail == tail) return false;
    tail = pending_tail;
    if (peer == Peer::kNativeOnly) {
      store_position(words, kTail, tail, std::memory_order_release);
      return false;
    }
    store_position(words, kTail, tail);
    return word(words, kNotEmpty + 1).load(std::memory_order_seq_cst) != 0;
  }
};

struct SpscConsumer {
  int32_t* words;
  uint8_t* bytes;
  uint32_t mask;
  uint32_t head;
  uint32_t cached_tail;
  Peer peer;
  bool attached;

  explicit SpscConsumer(int32_t* w, Peer p = Peer::kJavaScript)
      : words(w),
        bytes(reinterpret_cast<uint8_t*>(w)),
        mask(static_cast<uint32_t>(w[kMetaCapacity]) - 1),
        head(load_position(w, kHead)),
        cached_tail(load_position(w, kTail)),
        peer(p),
        attached(claim_peer_mode(w, p)) {}

  // Visits up to `max` published messages in order; returns how many, and in `end` the position
  // after the last one (padding skipped). Nothing is given back to the producer yet.
  template <typename Visit>
  uint32_t scan(uint32_t max, uint32_t& end, Visit&& visit) {
    uint32_t h = head;
    end = h;
    if (!attached) return 0;
    if (h == cached_tail) {
      cached_tail = load_position(words, kTail);
      if (h == cached_tail) return 0;
    }
    uint32_t n = 0;
    for (;;) {
      while (n < max && h != cached_tail) {
        const uint32_t at = kDataOffset + (h & mask);
        const uint32_t length = static_cast<uint32_t>(words[at >> 2]);
        if (words[(at >> 2) + 1] == kPadding) {
          h += length;
          continue;
        }
        visit(at + kRecordHeader, length);
        n++;
        h += record_bytes(length);
      }
      if (n == max) break;
      const uint32_t fresh = load_position(words, kTail);
      if (fresh == cached_tail) break;
      cached_tail = fresh;
    }
    end = h;
    return n;
  }

  // Gives the space up to `end`, holding `count` messages, back to the producer with one store
  // of HEAD. A run of at least kZeroFromBytes of records averaging at most kZeroMaxRecordBytes is
  // zeroed first, so its cache lines are this core's alone and the producer's next stores to them
  // are misses the hardware fetches ahead, not upgrades of shared lines taken one store at a time
  // (sab-spsc/ring.ts, ZERO_FROM_BYTES and ZERO_MAX_RECORD_BYTES, has the figures). A count of 0
  // (a release whose count is not known) never zeroes.
  void release(uint32_t end, uint32_t count) {
    if (end == head) return;
    const uint32_t used = end - head;
    if (used >= kZeroFromBytes && used <= static_cast<uint64_t>(count) * kZeroMaxRecordBytes) {
      const uint32_t index = head & mask;
      const uint32_t first = std::min(used, mask + 1 - index);
      std::memset(bytes + kDataOffset + index, 0, first);
      if (used > first) std::memset(bytes + kDataOffset, 0, used - first);
    }
    store_position(words, kHead, end, peer == Peer::kNativeOnly ? std::memory_order_release : std::memory_order_seq_cst);
    head = end;
  }

  // Calls visit(offset, length) for up to `max` messages, then releases them: one HEAD store.
  template <typename Visit>
  uint32_t drain(uint32_t max, Visit&& visit) {
    uint32_t end = head;
    const uint32_t n = scan(max, end, visit);
    release(end, n);
    return n;
  }

  // True when a JavaScript producer sleeps on NOT_FULL (see SpscProducer::publish).
  bool producer_waiting() const { return word(words, kNotFull + 1).load(std::memory_order_seq_cst) != 0; }
};

}  // namespace nanomq

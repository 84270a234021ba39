// native-threads: producer and consumer loops on C++ threads, the native ceiling. They follow
// the harness's protocol (harness/worker/loop-parts/, after-stop.ts): poll the control PHASE
// word the coordinator moves (WARMUP → MEASURE → STOP), count only inside the measure window,
// check every message's sequence, and after STOP drain until everything sent has arrived (or a grace period ends).
#pragma once

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../../../wire/envelope.hpp"
#include "spsc_ring.hpp"

namespace nanomq {

constexpr int kPhase = 0;
constexpr int32_t kPhaseWarmup = 1;
constexpr int32_t kPhaseMeasure = 2;
constexpr int32_t kPhaseStop = 3;
constexpr uint64_t kTimestampEvery = 64;
constexpr uint64_t kDrainGraceNs = 2000000000ull;

// Latency histogram with a fixed layout, allocated before warm-up: recording never allocates
// and never caps the number of samples. Exact below 1024 ns, then 512 sub-buckets per power of
// two. Mirror of harness/metrics/log-buckets.ts: change both together.
struct LatencyBuckets {
  static constexpr uint32_t kLinear = 1024;
  static constexpr uint32_t kSub = 512;
  static constexpr uint32_t kMagnitudes = 31;
  static constexpr uint32_t kCount = kLinear + kMagnitudes * kSub;
  std::vector<double> counts = std::vector<double>(kCount, 0.0);

  static uint32_t index_of(uint64_t ns) {
    if (ns < kLinear) return static_cast<uint32_t>(ns);
    const uint32_t log2 = 63u - static_cast<uint32_t>(__builtin_clzll(ns));
    const uint32_t e = log2 - 9;  // >= 1 for ns >= 1024
    const uint64_t index = kLinear + static_cast<uint64_t>(e - 1) * kSub + ((ns >> e) - kSub);
    return index < kCount ? static_cast<uint32_t>(index) : kCount - 1;
  }
  void record(uint64_t ns) { counts[index_of(ns)] += 1.0; }
};

// Returns an empty string on success, else why pinning failed.
inline std::string pin_current_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  const int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  return rc == 0 ? std::string() : std::string("pthread_setaffinity_np: ") + std::strerror(rc);
}

struct ThreadsConfig {
  int32_t* ring = nullptr;
  int32_t* reply = nullptr;  // ping-pong only
  int32_t* control = nullptr;
  bool ping_pong = false;
  uint32_t payload = 0;
  uint32_t batch = 1;
  int pin_producer = -1;
  int pin_consumer = -1;
};

struct SideReport {
  uint64_t window_messages = 0;
  uint64_t window_ns = 0;
  uint64_t cpu_ns = 0;
  bool pinned = false;
  std::string pin_error;
};

struct ThreadsResult {
  SideReport producer;
  SideReport consumer;
  uint64_t sent = 0;
  uint64_t received = 0;
  uint64_t duplicated = 0;
  uint64_t reordered = 0;
  uint64_t corrupt = 0;
  LatencyBuckets latency;  // ns: one-way (throughput) or round trip (ping-pong)
};

// One thread's view of the measure window (harness/worker/measure-window.ts).
struct Window {
  int32_t seen = kPhaseWarmup;
  bool measuring = false;
  bool stopped = false;
  uint64_t start_ns = 0, end_ns = 0, start_cpu = 0, end_cpu = 0, start_count = 0, end_count = 0;

  void observe(int32_t phase, uint64_t count) {
    if (phase == seen) return;
    if (phase >= kPhaseMeasure && seen < kPhaseMeasure) {
      start_ns = now_ns();
      start_cpu = thread_cpu_ns();
      start_count = count;
      measuring = true;
    }
    if (phase >= kPhaseStop && seen < kPhaseStop) {
      end_ns = now_ns();
      end_cpu = thread_cpu_ns();
      end_count = count;
      measuring = false;
      stopped = true;
    }
    seen = phase;
  }
  void report(SideReport& r) const {
    r.window_messages = end_count - start_count;
    r.window_ns = end_ns - start_ns;
    r.cpu_ns = end_cpu - start_cpu;
  }
};

// Sequence check for one producer: in order, duplicated, or late (reordered).
struct SequenceCheck {
  uint64_t expected = 0, received = 0, duplicated = 0, reordered = 0, corrupt = 0, skipped = 0;
  void check(const uint8_t* at, uint32_t length, uint32_t payload) {
    received++;
    const uint32_t* w = reinterpret_cast<const uint32_t*>(at);
    if (length != kHeaderBytes + payload || w[0] != kMagic || w[6] != payload) {
      corrupt++;
      return;
    }
    const uint64_t seq = header_sequence(at);
    if (payload >= 4 && w[kHeaderBytes / 4] != static_cast<uint32_t>(seq)) corrupt++;
    if (seq == expected) {
      expected++;
    } else if (seq > expected) {
      skipped += seq - expected;
      expected = seq + 1;
    } else if (skipped > 0) {
      skipped--;
      reordered++;
    } else {
      duplicated++;
    }
  }
  uint64_t unique() const { return received - duplicated; }
};

inline int32_t phase(int32_t* control) { return word(control, kPhase).load(std::memory_order_seq_cst); }

inline void await_phase(int32_t* control, int32_t at_least) {
  while (phase(control) < at_least) std::this_thread::yield();
}

inline void fill_payload(uint8_t* at, uint32_t payload, uint64_t seq) {
  uint8_t* p = at + kHeaderBytes;
  for (uint32_t i = 0; i < payload; i++) p[i] = static_cast<uint8_t>(i * 31 + 1);
  if (payload >= 4) reinterpret_cast<uint32_t*>(p)[0] = static_cast<uint32_t>(seq);
}

class NativeRun {
 public:
  explicit NativeRun(const ThreadsConfig& c) : config_(c) {}

  ThreadsResult run() {
    std::thread consumer([this] { config_.ping_pong ? ponger() : consumer_loop(); });
    std::thread producer([this] { config_.ping_pong ? pinger() : producer_loop(); });
    producer.join();
    consumer.join();
    // Merged after both threads are joined: the two threads never write the same fields.
    result_.duplicated += echo_check_.duplicated;
    result_.reordered += echo_check_.reordered;
    result_.corrupt += echo_check_.corrupt;
    return std::move(result_);
  }

 private:
  void pin(int cpu, SideReport& r) {
    if (cpu < 0) return;
    r.pin_error = pin_current_thread(cpu);
    r.pinned = r.pin_error.empty();
  }

  void producer_loop() {
    pin(config_.pin_producer, result_.producer);
    SpscProducer q(config_.ring, Peer::kNativeOnly);
    const uint32_t length = kHeaderBytes + config_.payload;
    std::vector<int32_t> offsets(config_.batch);
    Window window;
    uint64_t seq = 0, last_stamp = 0;
    bool first = true;
    await_phase(config_.control, kPhaseWarmup);
    for (;;) {
      const int32_t p = phase(config_.control);
      window.observe(p, seq);
      if (p >= kPhaseStop) break;
      const uint32_t n = q.claim(config_.batch, length, offsets.data());
      if (n == 0) continue;
      const bool stamp = first || seq - last_stamp >= kTimestampEvery;
      const uint64_t ts = stamp ? now_ns() : 0;
      if (stamp) last_stamp = seq, first = false;
      for (uint32_t i = 0; i < n; i++) {
        uint8_t* at = q.bytes + offsets[i];
        if (config_.payload > 0) fill_payload(at, config_.payload, seq + i);
        write_header(at, 0, seq + i, i == 0 ? ts : 0, config_.payload, i == 0 && stamp ? kTimestamped : 0);
      }
      q.publish();
      seq += n;
    }
    window.report(result_.producer);
    sent_.store(seq, std::memory_order_seq_cst);
    producer_done_.store(true, std::memory_order_seq_cst);
  }

  // Drains `q` until STOP and then until every message sent is in, as the JS consumer does.
  template <typename OnMessage>
  void drain_until_done(SpscConsumer& q, Window& window, SequenceCheck& check, uint64_t& counted, OnMessage&& on_message) {
    uint64_t last_progress = 0;
    for (;;) {
      const uint32_t n = q.drain(1024, [&](uint32_t offset, uint32_t length) { on_message(q.bytes + offset, length); });
      window.observe(phase(config_.control), counted);
      if (window.stopped) {
        const uint64_t now = now_ns();
        if (n > 0 || last_progress == 0) last_progress = now;
        if (producer_done_.load(std::memory_order_seq_cst) && check.unique() >= sent_.load(std::memory_order_seq_cst)) return;
        if (now - last_progress > kDrainGraceNs) return;
      }
    }
  }

  void consumer_loop() {
    pin(config_.pin_consumer, result_.consumer);
    SpscConsumer q(config_.ring, Peer::kNativeOnly);
    Window window;
    SequenceCheck check;
    uint64_t received = 0;
    await_phase(config_.control, kPhaseWarmup);
    drain_until_done(q, window, check, received, [&](const uint8_t* at, uint32_t length) {
      check.check(at, length, config_.payload);
      received++;
      if (window.measuring && (reinterpret_cast<const uint32_t*>(at)[1] & kTimestamped) != 0) {
        result_.latency.record(now_ns() - header_timestamp(at));
      }
    });
    window.report(result_.consumer);
    finish(check);
  }

  // Ping-pong client: a burst of `batch`, then every reply, each round trip timed.
  void pinger() {
    pin(config_.pin_producer, result_.producer);
    SpscProducer requests(config_.ring, Peer::kNativeOnly);
    SpscConsumer replies(config_.reply, Peer::kNativeOnly);
    const uint32_t length = kHeaderBytes + config_.payload;
    std::vector<int32_t> offsets(config_.batch);
    Window window;
    SequenceCheck check;
    uint64_t seq = 0, received = 0;
    await_phase(config_.control, kPhaseWarmup);
    for (;;) {
      const int32_t p = phase(config_.control);
      window.observe(p, received);
      if (p >= kPhaseStop) break;
      const uint32_t n = requests.claim(config_.batch, length, offsets.data());
      if (n == 0) continue;
      const uint64_t ts = now_ns();
      for (uint32_t i = 0; i < n; i++) {
        uint8_t* at = requests.bytes + offsets[i];
        if (config_.payload > 0) fill_payload(at, config_.payload, seq + i);
        write_header(at, 0, seq + i, ts, config_.payload, kTimestamped);
      }
      requests.publish();
      seq += n;
      const uint64_t waiting_since = now_ns();
      while (received < seq) {
        const uint32_t got = replies.drain(static_cast<uint32_t>(seq - received), [&](uint32_t offset, uint32_t len) {
          const uint8_t* at = replies.bytes + offset;
          check.check(at, len, config_.payload);
          received++;
          if (window.measuring) result_.latency.record(now_ns() - header_timestamp(at));
        });
        if (got == 0 && phase(config_.control) >= kPhaseStop && now_ns() - waiting_since > kDrainGraceNs) break;
      }
    }
    window.report(result_.producer);
    sent_.store(seq, std::memory_order_seq_cst);
    producer_done_.store(true, std::memory_order_seq_cst);
    finish(check);
  }

  // Ping-pong server: echoes every request onto the reply ring.
  void ponger() {
    pin(config_.pin_consumer, result_.consumer);
    SpscConsumer requests(config_.ring, Peer::kNativeOnly);
    SpscProducer replies(config_.reply, Peer::kNativeOnly);
    Window window;
    SequenceCheck check;
    uint64_t echoed = 0;
    int32_t offset = 0;
    await_phase(config_.control, kPhaseWarmup);
    drain_until_done(requests, window, check, echoed, [&](const uint8_t* at, uint32_t length) {
      check.check(at, length, config_.payload);
      while (replies.claim(1, length, &offset) == 0) {
      }
      std::memcpy(replies.bytes + offset, at, length);
      replies.publish();
      echoed++;
    });
    window.report(result_.consumer);
    // Request-side errors count too; received and lost are judged on the replies (pinger).
    echo_check_ = check;
  }

  void finish(const SequenceCheck& check) {
    result_.sent = sent_.load();
    result_.received = check.received;
    result_.duplicated += check.duplicated;
    result_.reordered += check.reordered;
    result_.corrupt += check.corrupt;
  }

  ThreadsConfig config_;
  ThreadsResult result_;
  std::atomic<uint64_t> sent_{0};
  std::atomic<bool> producer_done_{false};
  SequenceCheck echo_check_;
};

}  // namespace nanomq

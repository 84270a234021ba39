// N-API bindings (node-addon-api) for the native backends. No static state: every call gets
// what it needs from its arguments or from a handle object, so the addon loads in any worker.
//
//   pinThread(cpu)                                   pin the calling thread
//   producerOpen(ring: Int32Array, offsets: Int32Array) -> handle
//   producerClaim(handle, max, length) -> n          offsets[0..n) = message byte offsets
//   producerPublish(handle) -> bool                  true: a JS consumer sleeps, notify it from JS
//   producerAbort(handle)                            forget the unpublished claim
//   consumerOpen(ring: Int32Array, records: Int32Array) -> handle
//   consumerPeek(handle, max) -> n                   records[2i], records[2i+1] = offset, length
//   consumerRelease(handle) -> bool                  true: a JS producer sleeps, notify it from JS
//   consumerReleaseTo(handle, position) -> bool      release only up to `position` (a visitor threw)
//   runThreads(options) -> report                    native-threads: C++ producer and consumer
//   clockBind(out: Float64Array)                     this thread's clock cell
//   clockTick()                                      out[0] = CLOCK_MONOTONIC in ns, no allocation
//   mapFile(path, writable) -> ArrayBuffer           the whole file, mmap'd shared (munmap when collected)
//   syncMapped(buffer)                               msync(MS_SYNC) a mapped file
//   mallocTrim() -> bool                             glibc's malloc_trim(0): free pages back to the system (glibc only)
//
// mallocTrim serves the broker (broker/malloc-trim.ts): glibc keeps freed memory inside its heap
// when what is still in use sits above it, and only malloc_trim gives those pages back. On a C
// library without it, it is not exported.
//
// mapFile and syncMapped serve scripts/bench-mmap.mjs, which measures mmap against plain fs
// reads and writes for the write-ahead log (docs/wal.md); the log itself uses fs only.
//
// Ring memory and the offsets/records arrays must be SharedArrayBuffer-backed: their data never
// moves, so a handle may keep raw pointers (the JS wrapper keeps the arrays alive).
#include <fcntl.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <napi.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "spsc_ring.hpp"
#include "threads.hpp"

namespace {

using nanomq::SpscConsumer;
using nanomq::SpscProducer;

constexpr const char* kNativeOnlyRing =
    "this ring is driven by native-only threads (release stores, no wake-ups): a JavaScript side cannot attach to it";

struct ProducerHandle {
  SpscProducer queue;
  int32_t* offsets;
  uint32_t offsets_length;
};

struct ConsumerHandle {
  SpscConsumer queue;
  int32_t* records;
  uint32_t records_length;
  uint32_t pending_end;
  // Messages peeked since the last release (what release's zeroing rule needs).
  uint32_t pending_count;
};

template <typename T>
T* handle_of(const Napi::Value& v) {
  return v.As<Napi::External<T>>().Data();
}

// The harness's clock without garbage: performance.now() and process.hrtime.bigint() each
// allocate a heap number or BigInt per read, which inside a measured loop becomes garbage
// collections inside the window. clockTick() returns nothing and writes the time into a
// Float64Array the calling thread bound once; CLOCK_MONOTONIC is the clock libuv's uv_hrtime
// (process.hrtime, performance.now) reads, so the values agree with them and across threads.
// thread_local, not static: each worker thread binds its own cell.
thread_local double* clock_cell = nullptr;

Napi::Value ClockBind(const Napi::CallbackInfo& info) {
  clock_cell = info[0].As<Napi::Float64Array>().Data();
  return info.Env().Undefined();
}

Napi::Value ClockTick(const Napi::CallbackInfo& info) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  if (clock_cell != nullptr) *clock_cell = static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
  return info.Env().Undefined();
}

Napi::Value PinThread(const Napi::CallbackInfo& info) {
  const std::string error = nanomq::pin_current_thread(info[0].As<Napi::Number>().Int32Value());
  if (!error.empty()) Napi::Error::New(info.Env(), error).ThrowAsJavaScriptException();
  return info.Env().Undefined();
}

Napi::Value ProducerOpen(const Napi::CallbackInfo& info) {
  auto ring = info[0].As<Napi::Int32Array>();
  auto offsets = info[1].As<Napi::Int32Array>();
  auto* h = new ProducerHandle{SpscProducer(ring.Data()), offsets.Data(), static_cast<uint32_t>(offsets.ElementLength())};
  if (!h->queue.attached) {
    delete h;
    Napi::Error::New(info.Env(), kNativeOnlyRing).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return Napi::External<ProducerHandle>::New(info.Env(), h, [](Napi::Env, ProducerHandle* p) { delete p; });
}

Napi::Value ProducerClaim(const Napi::CallbackInfo& info) {
  auto* h = handle_of<ProducerHandle>(info[0]);
  uint32_t max = info[1].As<Napi::Number>().Uint32Value();
  if (max > h->offsets_length) max = h->offsets_length;
  const uint32_t length = info[2].As<Napi::Number>().Uint32Value();
  return Napi::Number::New(info.Env(), h->queue.claim(max, length, h->offsets));
}

Napi::Value ProducerPublish(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), handle_of<ProducerHandle>(info[0])->queue.publish());
}

Napi::Value ProducerAbort(const Napi::CallbackInfo& info) {
  handle_of<ProducerHandle>(info[0])->queue.abort();
  return info.Env().Undefined();
}

Napi::Value ConsumerOpen(const Napi::CallbackInfo& info) {
  auto ring = info[0].As<Napi::Int32Array>();
  auto records = info[1].As<Napi::Int32Array>();
  auto* h = new ConsumerHandle{SpscConsumer(ring.Data()), records.Data(), static_cast<uint32_t>(records.ElementLength() / 2), 0, 0};
  if (!h->queue.attached) {
    delete h;
    Napi::Error::New(info.Env(), kNativeOnlyRing).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  h->pending_end = h->queue.head;
  return Napi::External<ConsumerHandle>::New(info.Env(), h, [](Napi::Env, ConsumerHandle* c) { delete c; });
}

Napi::Value ConsumerPeek(const Napi::CallbackInfo& info) {
  auto* h = handle_of<ConsumerHandle>(info[0]);
  uint32_t max = info[1].As<Napi::Number>().Uint32Value();
  if (max > h->records_length) max = h->records_length;
  int32_t* out = h->records;
  uint32_t i = 0;
  const uint32_t n = h->queue.scan(max, h->pending_end, [&](uint32_t offset, uint32_t length) {
    out[2 * i] = static_cast<int32_t>(offset);
    out[2 * i + 1] = static_cast<int32_t>(length);
    i++;
  });
  h->pending_count += n;
  return Napi::Number::New(info.Env(), n);
}

Napi::Value ConsumerRelease(const Napi::CallbackInfo& info) {
  auto* h = handle_of<ConsumerHandle>(info[0]);
  const bool moved = h->pending_end != h->queue.head;
  h->queue.release(h->pending_end, h->pending_count);
  h->pending_count = 0;
  return Napi::Boolean::New(info.Env(), moved && h->queue.producer_waiting());
}

// A visitor threw at a record: only the records before it are consumed (contract.ts).
Napi::Value ConsumerReleaseTo(const Napi::CallbackInfo& info) {
  auto* h = handle_of<ConsumerHandle>(info[0]);
  h->pending_end = static_cast<uint32_t>(info[1].As<Napi::Number>().Int32Value());
  const bool moved = h->pending_end != h->queue.head;
  // How many of the peeked messages lie before `position` is not known here: no zeroing.
  h->queue.release(h->pending_end, 0);
  h->pending_count = 0;
  return Napi::Boolean::New(info.Env(), moved && h->queue.producer_waiting());
}

Napi::Object SideToObject(Napi::Env env, const nanomq::SideReport& s) {
  auto o = Napi::Object::New(env);
  o.Set("windowMessages", Napi::Number::New(env, static_cast<double>(s.window_messages)));
  o.Set("windowNs", Napi::Number::New(env, static_cast<double>(s.window_ns)));
  o.Set("cpuNs", Napi::Number::New(env, static_cast<double>(s.cpu_ns)));
  o.Set("pinned", Napi::Boolean::New(env, s.pinned));
  if (!s.pin_error.empty()) o.Set("pinError", Napi::String::New(env, s.pin_error));
  return o;
}

// Blocks the calling (worker) thread until both native threads have finished the trial.
Napi::Value RunThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto options = info[0].As<Napi::Object>();
  nanomq::ThreadsConfig config;
  config.ring = options.Get("ring").As<Napi::Int32Array>().Data();
  config.control = options.Get("control").As<Napi::Int32Array>().Data();
  config.ping_pong = options.Get("pingPong").As<Napi::Boolean>().Value();
  if (config.ping_pong) config.reply = options.Get("reply").As<Napi::Int32Array>().Data();
  config.payload = options.Get("payload").As<Napi::Number>().Uint32Value();
  config.batch = options.Get("batch").As<Napi::Number>().Uint32Value();
  config.pin_producer = options.Get("pinProducer").As<Napi::Number>().Int32Value();
  config.pin_consumer = options.Get("pinConsumer").As<Napi::Number>().Int32Value();
  if (!nanomq::claim_peer_mode(config.ring, nanomq::Peer::kNativeOnly) ||
      (config.reply != nullptr && !nanomq::claim_peer_mode(config.reply, nanomq::Peer::kNativeOnly))) {
    Napi::Error::New(env, "native-threads: a JavaScript side is attached to this ring; native-only threads never wake it").ThrowAsJavaScriptException();
    return env.Undefined();
  }

  nanomq::ThreadsResult r = nanomq::NativeRun(config).run();

  auto out = Napi::Object::New(env);
  out.Set("producer", SideToObject(env, r.producer));
  out.Set("consumer", SideToObject(env, r.consumer));
  out.Set("sent", Napi::Number::New(env, static_cast<double>(r.sent)));
  out.Set("received", Napi::Number::New(env, static_cast<double>(r.received)));
  out.Set("duplicated", Napi::Number::New(env, static_cast<double>(r.duplicated)));
  out.Set("reordered", Napi::Number::New(env, static_cast<double>(r.reordered)));
  out.Set("corrupt", Napi::Number::New(env, static_cast<double>(r.corrupt)));
  // Bucket counts (layout: harness/metrics/log-buckets.ts), not samples: no cap, no growth.
  auto latency = Napi::Float64Array::New(env, r.latency.counts.size());
  std::memcpy(latency.Data(), r.latency.counts.data(), r.latency.counts.size() * sizeof(double));
  out.Set("latencyBuckets", latency);
  return out;
}

Napi::Value MapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string path = info[0].As<Napi::String>();
  const bool writable = info[1].As<Napi::Boolean>();
  const int fd = open(path.c_str(), writable ? O_RDWR : O_RDONLY);
  if (fd < 0) {
    Napi::Error::New(env, "mapFile: open " + path + ": " + std::strerror(errno)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size == 0) {
    close(fd);
    Napi::Error::New(env, "mapFile: " + path + " is empty or cannot be read").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const size_t length = static_cast<size_t>(st.st_size);
  void* data = mmap(nullptr, length, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
  close(fd);  // the mapping keeps the file
  if (data == MAP_FAILED) {
    Napi::Error::New(env, "mapFile: mmap " + path + ": " + std::strerror(errno)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::ArrayBuffer::New(
      env, data, length, [](Napi::Env, void* mapped, size_t* size) {
        munmap(mapped, *size);
        delete size;
      },
      new size_t(length));
}

Napi::Value SyncMapped(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  if (msync(buffer.Data(), buffer.ByteLength(), MS_SYNC) != 0) {
    Napi::Error::New(info.Env(), std::string("syncMapped: msync: ") + std::strerror(errno)).ThrowAsJavaScriptException();
  }
  return info.Env().Undefined();
}

#if defined(__GLIBC__)
Napi::Value MallocTrim(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), malloc_trim(0) != 0); }
#endif

Napi::Object Init(Napi::Env env, Napi::Object exports) {
#if defined(__GLIBC__)
  exports.Set("mallocTrim", Napi::Function::New(env, MallocTrim));
#endif
  exports.Set("mapFile", Napi::Function::New(env, MapFile));
  exports.Set("syncMapped", Napi::Function::New(env, SyncMapped));
  exports.Set("pinThread", Napi::Function::New(env, PinThread));
  exports.Set("producerOpen", Napi::Function::New(env, ProducerOpen));
  exports.Set("producerClaim", Napi::Function::New(env, ProducerClaim));
  exports.Set("producerPublish", Napi::Function::New(env, ProducerPublish));
  exports.Set("producerAbort", Napi::Function::New(env, ProducerAbort));
  exports.Set("consumerOpen", Napi::Function::New(env, ConsumerOpen));
  exports.Set("consumerPeek", Napi::Function::New(env, ConsumerPeek));
  exports.Set("consumerRelease", Napi::Function::New(env, ConsumerRelease));
  exports.Set("consumerReleaseTo", Napi::Function::New(env, ConsumerReleaseTo));
  exports.Set("runThreads", Napi::Function::New(env, RunThreads));
  exports.Set("clockBind", Napi::Function::New(env, ClockBind));
  exports.Set("clockTick", Napi::Function::New(env, ClockTick));
  return exports;
}

}  // namespace

NODE_API_MODULE(nanomq_native, Init)

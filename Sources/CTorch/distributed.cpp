// distributed.cpp — process groups from libtorch's own c10d: rendezvous through its TCP store, collectives through
// ProcessGroupGloo (CPU tensors), both built into libtorch_cpu, or ProcessGroupNCCL (CUDA tensors) from the
// libtorch_cuda loaded at run time; and DDP's gradient reducer: buckets all-reduced
// from post-accumulate-grad hooks while backward goes on. The wheel ships c10d's headers but not gloo's;
// gloo-declarations/ declares the few gloo names ProcessGroupGloo.hpp mentions (pointers only; see
// docs/distributed.md, "Reaching gloo").
#define USE_C10D_GLOO 1
#include "common.h"
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
using namespace ctorch;

struct ct_process_group_s {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
  std::chrono::milliseconds timeout;
};

static c10d::ReduceOp reduce_op(int op) {
  switch (op) {
    case CT_SUM: return c10d::ReduceOp::SUM;
    case CT_PROD: return c10d::ReduceOp::PRODUCT;
    case CT_AMAX: return c10d::ReduceOp::MAX;
    case CT_AMIN: return c10d::ReduceOp::MIN;
    default: throw std::invalid_argument("all_reduce: op must be sum, prod, amax or amin, got " + std::to_string(op));
  }
}

// Waits for one collective; a timeout or a peer that went away surfaces as an exception naming the collective.
static void finish(const c10::intrusive_ptr<c10d::Work> &work, const ct_process_group_s *pg, const char *what) {
  try {
    work->wait(pg->timeout);
  } catch (const c10::Error &e) {
    throw std::runtime_error(std::string(what) + " failed (rank " + std::to_string(pg->backend->getRank()) + " of " +
                             std::to_string(pg->backend->getSize()) + "): " + e.what_without_backtrace());
  } catch (const std::exception &e) {
    throw std::runtime_error(std::string(what) + " failed (rank " + std::to_string(pg->backend->getRank()) + " of " +
                             std::to_string(pg->backend->getSize()) + "): " + e.what());
  }
}

static bool is_loopback(const std::string &host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// The rendezvous both backends share: a TCPStore at host:port (hosted here when is_store_server), every process
// counted in (`waitWorkers`, as torch.distributed does), keys under one prefix as torch.distributed's default group,
// so a store shared with torchrun's agent stays tidy.
static c10::intrusive_ptr<c10d::Store> rendezvous(const char *host, int port, int rank, int world_size,
                                                  int is_store_server, std::chrono::milliseconds timeout) {
  if (world_size < 1 || rank < 0 || rank >= world_size)
    throw std::invalid_argument("rank " + std::to_string(rank) + " is outside a world of " + std::to_string(world_size));
  if (port < 1 || port > 65535) throw std::invalid_argument("port " + std::to_string(port) + " is outside 1...65535");
  c10d::TCPStoreOptions so;
  so.port = (uint16_t)port;
  so.isServer = is_store_server != 0;
  so.numWorkers = world_size;
  so.waitWorkers = true;
  so.timeout = timeout;
  auto tcp = c10::make_intrusive<c10d::TCPStore>(std::string(host), so);
  return c10::make_intrusive<c10d::PrefixStore>("orpo_default_pg", tcp);
}

// ---- NCCL (CUDA tensors) ----
//
// ProcessGroupNCCL lives in libtorch_cuda, which the binary loads at run time (cuda.cpp) and so cannot link against;
// its header needs CUDA's and NCCL's headers, which the wheel does not ship. The shim needs only its two
// constructors, found by their exported (Itanium-mangled) names in the loaded libtorch_cuda, and then uses the group
// through c10d::Backend's virtual interface, as for gloo. The declarations below mirror ProcessGroupNCCL.hpp's:
//   ProcessGroupNCCL(c10::intrusive_ptr<Store>, int rank, int size, c10::intrusive_ptr<Options>)
//   ProcessGroupNCCL::Options::Options(bool is_high_priority_stream)
// Both classes derive from Backend and Backend::Options alone (no other base, so the base pointer is the object's),
// and an intrusive_ptr is one pointer whatever it points to, so the constructors are called with Backend types. The
// objects' sizes are in the headers we lack: they get generous blocks (an object is a few KB) from operator new and
// are freed by their own virtual destructors, whose operator delete ignores the size.
namespace {
constexpr const char *kNcclGroupConstructor =
    "_ZN4c10d16ProcessGroupNCCLC1EN3c1013intrusive_ptrINS_5StoreENS1_6detail34intrusive_target_default_null_typeIS3_EEEEiiNS2_INS0_7OptionsENS5_IS8_EEEE";
constexpr const char *kNcclOptionsConstructor = "_ZN4c10d16ProcessGroupNCCL7OptionsC1Eb";
constexpr size_t kNcclGroupBytes = 1 << 16, kNcclOptionsBytes = 1 << 12;
using NcclOptionsConstructor = void (*)(void *self, bool is_high_priority_stream);
using NcclGroupConstructor = void (*)(void *self, c10::intrusive_ptr<c10d::Store> store, int rank, int size,
                                      c10::intrusive_ptr<c10d::Backend::Options> options);

// Why NCCL cannot be used in this process, or "" when it can.
std::string nccl_unavailable() {
  void *cuda = dlopen("libtorch_cuda.so", RTLD_NOW | RTLD_NOLOAD);
  if (!cuda)
    return "libtorch_cuda is not loaded in this process (no CUDA here, or ORPO_NO_CUDA=1): NCCL serves CUDA tensors "
           "only; on the CPU the group is gloo";
  bool has = dlsym(cuda, kNcclGroupConstructor) && dlsym(cuda, kNcclOptionsConstructor);
  dlclose(cuda);
  if (!has)
    return "this libtorch has no NCCL: the loaded libtorch_cuda does not export c10d::ProcessGroupNCCL (a build "
           "without USE_NCCL, or a PyTorch whose ProcessGroupNCCL constructor changed)";
  return "";
}

template <typename T> T constructor(const char *name) {
  void *cuda = dlopen("libtorch_cuda.so", RTLD_NOW | RTLD_NOLOAD);
  void *f = cuda ? dlsym(cuda, name) : nullptr;
  if (cuda) dlclose(cuda);  // still loaded: CUDA.load() holds it
  if (!f) throw std::runtime_error(std::string("NCCL: ") + name + " not found in libtorch_cuda");
  return reinterpret_cast<T>(f);
}

template <typename Base, typename Construct> c10::intrusive_ptr<Base> construct(size_t bytes, Construct body) {
  void *memory = ::operator new(bytes);
  std::memset(memory, 0, bytes);
  try {
    body(memory);
  } catch (...) {
    ::operator delete(memory);
    throw;
  }
  return c10::intrusive_ptr<Base>::unsafe_steal_from_new(static_cast<Base *>(memory));
}
// c10d's flight recorder (a ring of the last collectives, kept for dumps on a hang) is one process-wide object, and
// libtorch 2.11's FlightRecorder::recordWithResetEnabled adds each process group to its all_pg_status_ map before
// taking its mutex: two groups of one process recording at once corrupt the map (a crash in the tree's rebalancing,
// or a collective spinning forever). orpo's groups are one per process, but the tests run two ranks as two threads
// of one process, and did crash or hang about one run in four (GradientBucketsTests, 6 Dec 2026). Nothing of orpo
// dumps the recorder, so it is off unless TORCH_FR_BUFFER_SIZE or TORCH_NCCL_TRACE_BUFFER_SIZE asks for it; set
// before the first group exists, as the recorder reads them once.
void flight_recorder_off_unless_asked() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (!std::getenv("TORCH_FR_BUFFER_SIZE") && !std::getenv("TORCH_NCCL_TRACE_BUFFER_SIZE"))
      setenv("TORCH_FR_BUFFER_SIZE", "0", 0);
  });
}
}  // namespace

extern "C" {
int ct_process_group_new_gloo(const char *host, int port, int rank, int world_size, int is_store_server,
                              int64_t timeout_ms, ct_process_group *out) {
  CT_PROTECT({
    *out = nullptr;
    flight_recorder_off_unless_asked();
    auto timeout = std::chrono::milliseconds(timeout_ms);
    auto store = rendezvous(host, port, rank, world_size, is_store_server, timeout);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    // Which address gloo binds: GLOO_SOCKET_IFNAME's interface as torch.distributed does, loopback when the master
    // is local, else the host name's address.
    if (const char *ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (is_loopback(host))
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    options->threads = 1;
    auto backend = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size, options);
    *out = new ct_process_group_s{store, backend, timeout};
  })
}

int ct_nccl_available(char *message, size_t capacity) {
  std::string why = nccl_unavailable();
  if (message && capacity) {
    std::strncpy(message, why.c_str(), capacity - 1);
    message[capacity - 1] = 0;
  }
  return why.empty() ? 1 : 0;
}

int ct_process_group_new_nccl(const char *host, int port, int rank, int world_size, int is_store_server,
                              int64_t timeout_ms, ct_process_group *out) {
  CT_PROTECT({
    *out = nullptr;
    // Refused before the rendezvous, so that every rank says why at once instead of waiting for the others.
    if (std::string why = nccl_unavailable(); !why.empty()) throw std::runtime_error("NCCL: " + why);
    flight_recorder_off_unless_asked();
    auto timeout = std::chrono::milliseconds(timeout_ms);
    auto store = rendezvous(host, port, rank, world_size, is_store_server, timeout);
    auto make_options = constructor<NcclOptionsConstructor>(kNcclOptionsConstructor);
    auto make_group = constructor<NcclGroupConstructor>(kNcclGroupConstructor);
    auto options = construct<c10d::Backend::Options>(kNcclOptionsBytes, [&](void *m) { make_options(m, false); });
    options->timeout = timeout;
    auto backend = construct<c10d::Backend>(kNcclGroupBytes, [&](void *m) {
      make_group(m, store, rank, world_size, options);
    });
    *out = new ct_process_group_s{store, backend, timeout};
  })
}

void ct_process_group_free(ct_process_group pg) { delete pg; }

int ct_process_group_rank(ct_process_group pg, int *rank, int *world_size) {
  CT_PROTECT({
    *rank = pg->backend->getRank();
    *world_size = pg->backend->getSize();
  })
}

int ct_process_group_all_reduce(ct_process_group pg, ct_tensor t, int op) {
  CT_PROTECT({
    std::vector<at::Tensor> tensors{T(t)};
    c10d::AllreduceOptions o;
    o.reduceOp = reduce_op(op);
    o.timeout = pg->timeout;
    finish(pg->backend->allreduce(tensors, o), pg, "all_reduce");
  })
}

int ct_process_group_broadcast(ct_process_group pg, ct_tensor t, int root) {
  CT_PROTECT({
    std::vector<at::Tensor> tensors{T(t)};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    o.timeout = pg->timeout;
    finish(pg->backend->broadcast(tensors, o), pg, "broadcast");
  })
}

int ct_process_group_all_gather(ct_process_group pg, ct_tensor t, ct_tensor *out) {
  CT_PROTECT({
    const at::Tensor &input = T(t);
    std::vector<at::Tensor> parts;
    for (int i = 0; i < pg->backend->getSize(); i++) parts.push_back(at::empty_like(input));
    std::vector<std::vector<at::Tensor>> outputs{parts};
    std::vector<at::Tensor> inputs{input};
    c10d::AllgatherOptions o;
    o.timeout = pg->timeout;
    finish(pg->backend->allgather(outputs, inputs, o), pg, "all_gather");
    CT_OUT(out, at::stack(outputs[0]));
  })
}

int ct_process_group_barrier(ct_process_group pg) {
  CT_PROTECT({
    c10d::BarrierOptions o;
    o.timeout = pg->timeout;
    finish(pg->backend->barrier(o), pg, "barrier");
  })
}
}

// ---- Gradient buckets (DDP's Reducer, reduced to what the trainer needs) ----
//
// Parameters are grouped into buckets in reverse order (backward produces the last layers' gradients first): the
// first holds up to `first_bucket_bytes`, the others up to `bucket_bytes` (DDP's 1 MB and 25 MB), one dtype and
// device per bucket. While armed, a post-accumulate-grad hook on every parameter counts it ready; a bucket whose
// parameters are all ready is copied into its flat buffer and its all-reduce (sum) launched asynchronously, in
// bucket order on every rank (a bucket ready early waits for the ones before it). `finish` launches what backward
// did not (parameters it never reached), waits, divides by the world size and copies the averages back: the same
// element-wise sums as one all-reduce of everything.
namespace {
struct Bucket {
  std::vector<size_t> params;  // indices into Reducer::params
  std::vector<int64_t> offsets;
  at::Tensor flat;             // [Σ numel] of the bucket's parameters, their dtype and device
  size_t pending = 0;          // parameters not yet ready in this backward
  c10::intrusive_ptr<c10d::Work> work;
};

struct Reducer {
  ct_process_group_s *pg;
  std::vector<at::Tensor> params;
  std::vector<std::pair<size_t, bool>> slot;  // parameter → (bucket, ready in this backward)
  std::vector<Bucket> buckets;
  std::mutex mutex;
  bool armed = false;
  size_t next = 0;        // the next bucket to launch
  size_t from_hooks = 0;  // buckets launched during backward since arm
  bool late = false;      // a gradient changed after its bucket was sent: finish reduces everything again

  void launch(size_t b) {
    auto &bucket = buckets[b];
    for (size_t k = 0; k < bucket.params.size(); k++) {
      const at::Tensor &p = params[bucket.params[k]];
      const at::Tensor &g = p.grad();
      if (!g.defined())
        throw std::runtime_error("gradient all-reduce: trainable parameter " + std::to_string(bucket.params[k]) +
                                 " " + c10::str(p.sizes()) + " has no gradient");
      bucket.flat.narrow(0, bucket.offsets[k], p.numel()).copy_(g.reshape({-1}));
    }
    std::vector<at::Tensor> tensors{bucket.flat};
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    o.timeout = pg->timeout;
    bucket.work = pg->backend->allreduce(tensors, o);
  }

  // A parameter's gradient was accumulated (autograd thread).
  void ready(size_t index) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed) return;
    auto &[b, seen] = slot[index];
    if (b < next) {  // its bucket is already on the wire
      late = true;
      return;
    }
    if (seen) return;
    seen = true;
    if (--buckets[b].pending > 0) return;
    while (next < buckets.size() && buckets[next].pending == 0) {
      launch(next++);
      from_hooks++;
    }
  }

  void arm() {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto &s : slot) s.second = false;
    for (auto &bucket : buckets) {
      bucket.pending = bucket.params.size();
      bucket.work.reset();
    }
    next = 0;
    from_hooks = 0;
    late = false;
    armed = true;
  }

  size_t finish() {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed) {  // not armed: nothing was launched; reduce everything now
      for (auto &bucket : buckets) bucket.work.reset();
      next = 0;
      from_hooks = 0;
      late = false;
    }
    armed = false;
    while (next < buckets.size()) launch(next++);
    for (auto &bucket : buckets) finish_work(bucket.work, pg, "gradient all-reduce");
    if (late) {  // exact fallback: every rank ran the same graph, so every rank redoes the same collectives
      for (size_t b = 0; b < buckets.size(); b++) launch(b);
      for (auto &bucket : buckets) finish_work(bucket.work, pg, "gradient all-reduce");
    }
    double world = (double)pg->backend->getSize();
    for (auto &bucket : buckets) {
      bucket.flat.div_(world);
      for (size_t k = 0; k < bucket.params.size(); k++) {
        at::Tensor g = params[bucket.params[k]].mutable_grad();
        g.copy_(bucket.flat.narrow(0, bucket.offsets[k], g.numel()).view(g.sizes()));
      }
      bucket.work.reset();
    }
    return late ? 0 : from_hooks;
  }

  static void finish_work(const c10::intrusive_ptr<c10d::Work> &work, ct_process_group_s *pg, const char *what) {
    if (work) ::finish(work, pg, what);
  }
};

struct ReadyHook : torch::autograd::PostAccumulateGradHook {
  std::shared_ptr<Reducer> reducer;
  size_t index;
  ReadyHook(std::shared_ptr<Reducer> r, size_t i) : reducer(std::move(r)), index(i) {}
  void operator()(const torch::autograd::Variable &) override { reducer->ready(index); }
};
}  // namespace

struct ct_gradient_reducer_s {
  std::shared_ptr<Reducer> reducer;
};

extern "C" {
int ct_gradient_reducer_new(ct_process_group pg, const ct_tensor *params, int64_t count, int64_t first_bucket_bytes,
                            int64_t bucket_bytes, ct_gradient_reducer *out) {
  CT_PROTECT({
    *out = nullptr;
    auto r = std::make_shared<Reducer>();
    r->pg = pg;
    for (int64_t i = 0; i < count; i++) {
      const at::Tensor &p = T(params[i]);
      if (!p.requires_grad() || !p.is_leaf())
        throw std::invalid_argument("gradient reducer: parameter " + std::to_string(i) +
                                    " is not a leaf tensor that requires grad");
      r->params.push_back(p);
    }
    r->slot.resize(r->params.size());
    // Reverse order; a bucket closes at its byte cap or where dtype or device change.
    int64_t limit = std::max<int64_t>(first_bucket_bytes, 1);
    for (int64_t i = count - 1; i >= 0; i--) {
      const at::Tensor &p = r->params[i];
      bool fits = !r->buckets.empty();
      if (fits) {
        auto &last = r->buckets.back();
        const at::Tensor &first = r->params[last.params.front()];
        int64_t used = last.offsets.back() + r->params[last.params.back()].numel();
        fits = first.scalar_type() == p.scalar_type() && first.device() == p.device() &&
               (used + p.numel()) * (int64_t)p.element_size() <= limit;
        if (!fits) limit = std::max<int64_t>(bucket_bytes, 1);
      }
      if (!fits) r->buckets.emplace_back();
      auto &bucket = r->buckets.back();
      int64_t offset = bucket.offsets.empty() ? 0 : bucket.offsets.back() + r->params[bucket.params.back()].numel();
      bucket.params.push_back((size_t)i);
      bucket.offsets.push_back(offset);
      r->slot[i] = {r->buckets.size() - 1, false};
    }
    for (auto &bucket : r->buckets) {
      const at::Tensor &p = r->params[bucket.params.front()];
      int64_t total = bucket.offsets.back() + r->params[bucket.params.back()].numel();
      bucket.flat = at::empty({total}, p.options().requires_grad(false));
    }
    for (size_t i = 0; i < r->params.size(); i++) {
      if (torch::autograd::impl::post_acc_grad_hooks(r->params[i]))
        throw std::invalid_argument("gradient reducer: parameter " + std::to_string(i) +
                                    " already has a post-accumulate-grad hook");
      torch::autograd::impl::set_post_acc_grad_hooks(r->params[i], std::make_unique<ReadyHook>(r, i));
    }
    *out = new ct_gradient_reducer_s{r};
  })
}

void ct_gradient_reducer_free(ct_gradient_reducer r) {
  if (!r) return;
  for (auto &p : r->reducer->params) torch::autograd::impl::set_post_acc_grad_hooks(p, nullptr);
  delete r;
}

int ct_gradient_reducer_buckets(ct_gradient_reducer r, int64_t *count) {
  CT_PROTECT({ *count = (int64_t)r->reducer->buckets.size(); })
}

int ct_gradient_reducer_arm(ct_gradient_reducer r) { CT_PROTECT({ r->reducer->arm(); }) }

int ct_gradient_reducer_finish(ct_gradient_reducer r, int64_t *launched_during_backward) {
  CT_PROTECT({ *launched_during_backward = (int64_t)r->reducer->finish(); })
}
}

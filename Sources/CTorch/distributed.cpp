// distributed.cpp — process groups from libtorch's own c10d: rendezvous through its TCP store, collectives through
// ProcessGroupGloo (CPU tensors), both built into libtorch_cpu. The wheel ships c10d's headers but not gloo's;
// gloo-declarations/ declares the few gloo names ProcessGroupGloo.hpp mentions (pointers only; see
// docs/distributed.md, "Reaching gloo").
#define USE_C10D_GLOO 1
#include "common.h"
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <cstdlib>
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

extern "C" {
int ct_process_group_new_gloo(const char *host, int port, int rank, int world_size, int is_store_server,
                              int64_t timeout_ms, ct_process_group *out) {
  CT_PROTECT({
    *out = nullptr;
    if (world_size < 1 || rank < 0 || rank >= world_size)
      throw std::invalid_argument("rank " + std::to_string(rank) + " is outside a world of " + std::to_string(world_size));
    if (port < 1 || port > 65535) throw std::invalid_argument("port " + std::to_string(port) + " is outside 1...65535");
    auto timeout = std::chrono::milliseconds(timeout_ms);
    c10d::TCPStoreOptions so;
    so.port = (uint16_t)port;
    so.isServer = is_store_server != 0;
    so.numWorkers = world_size;
    so.waitWorkers = true;  // every process counts itself in; the server waits for all (torch.distributed does the same)
    so.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(std::string(host), so);
    // Keys under one prefix, as torch.distributed's default group: a store shared with torchrun's agent stays tidy.
    c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::PrefixStore>("orpo_default_pg", tcp);
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

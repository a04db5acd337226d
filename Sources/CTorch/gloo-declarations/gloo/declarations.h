// declarations.h — the few gloo names c10d's ProcessGroupGloo.hpp mentions, declared so the shim can include
// that header: the torch wheel ships c10d's headers but not gloo's. Only pointers to these types appear in
// ProcessGroupGloo's layout, and the shim never builds or calls a gloo object itself; the real gloo (built
// into libtorch_cpu) does all the work. DESIGN note: docs/distributed.md, "Reaching gloo".
#pragma once
#include <chrono>
#include <string>
#include <vector>

namespace gloo {
// ProcessGroupGloo::setTimeout (inline in c10d's header) calls this; the shim never does. Same signature as
// gloo's, exported by libtorch_cpu.
class Context {
 public:
  void setTimeout(std::chrono::milliseconds timeout);
};
namespace transport {
class Device;
class UnboundBuffer;
}  // namespace transport
namespace rendezvous {
// The interface c10d's inline GlooStore overrides (never instantiated by the shim).
class Store {
 public:
  virtual ~Store() = default;
  virtual void set(const std::string &key, const std::vector<char> &data) = 0;
  virtual std::vector<char> get(const std::string &key) = 0;
  virtual void wait(const std::vector<std::string> &keys) = 0;
  virtual void wait(const std::vector<std::string> &keys, const std::chrono::milliseconds &timeout) = 0;
};
}  // namespace rendezvous
}  // namespace gloo

// profile.cpp — an operator profile for `orpo bench train --profile`: wall time per ATen operator and per autograd
// backward node, self time (children excluded) and calls, through RecordFunction's global callbacks. Only the thread
// that runs the model is timed (intra-op worker threads don't record); nothing is recorded while no profile runs.
// libtorch is built with NDEBUG, and RecordFunction's layout and its inputs() check depend on it: without this, the
// header's debug-only `inputs_valid_` is read past the object libtorch made, and inputs() throws at random.
#ifndef NDEBUG
#define NDEBUG
#endif
#include "common.h"
#include <ATen/record_function.h>
#include <chrono>
#include <map>
#include <mutex>
#include <sstream>
#include <algorithm>
#include <vector>

namespace {
struct Totals { double total = 0, self = 0; int64_t calls = 0; };
struct Frame { std::string name; std::chrono::steady_clock::time_point start; double children = 0; };
std::mutex g_mutex;
std::map<std::string, Totals> g_totals;
thread_local std::vector<Frame> t_stack;
bool g_active = false;
bool g_shapes = false;
at::CallbackHandle g_handle = 0;

// Matrix products are told apart by their operands' shapes ("aten::mm [253, 576] [576, 1536]").
std::string key(const at::RecordFunction &fn) {
  std::string name = fn.name();
  if (!g_shapes) return name;
  if (name != "aten::mm" && name != "aten::addmm" && name != "aten::addmm_" && name != "aten::bmm") return name;
  for (const c10::IValue &v : fn.inputs()) {
    if (!v.isTensor()) continue;
    const at::Tensor &t = v.toTensor();
    if (t.dim() < 2) continue;
    name += " [";
    for (int64_t i = 0; i < t.dim(); i++) name += (i ? ", " : "") + std::to_string(t.size(i));
    name += t.is_contiguous() ? "]" : "]t";
  }
  return name;
}

std::unique_ptr<at::ObserverContext> on_enter(const at::RecordFunction &fn) {
  t_stack.push_back({key(fn), std::chrono::steady_clock::now(), 0});
  return nullptr;
}
void on_exit(const at::RecordFunction &, at::ObserverContext *) {
  if (t_stack.empty()) return;
  Frame frame = std::move(t_stack.back());
  t_stack.pop_back();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - frame.start).count();
  if (!t_stack.empty()) t_stack.back().children += elapsed;
  std::lock_guard<std::mutex> lock(g_mutex);
  Totals &t = g_totals[frame.name];
  t.total += elapsed;
  t.self += elapsed - frame.children;
  t.calls += 1;
}
}  // namespace

extern "C" {
int ct_profile_begin(int shapes) {
  CT_PROTECT({
    if (g_active) throw std::runtime_error("a profile is already running");
    g_shapes = shapes != 0;
    g_totals.clear();
    g_handle = at::addGlobalCallback(at::RecordFunctionCallback(on_enter, on_exit)
                                         .needsInputs(g_shapes)
                                         .scopes({at::RecordScope::FUNCTION, at::RecordScope::BACKWARD_FUNCTION}));
    g_active = true;
  })
}

// The table, most self time first: "self_seconds total_seconds calls name" per line (`limit` lines at most).
int ct_profile_end(int64_t limit, char **out) {
  CT_PROTECT({
    if (!g_active) throw std::runtime_error("no profile is running");
    at::removeCallback(g_handle);
    g_active = false;
    std::vector<std::pair<std::string, Totals>> rows(g_totals.begin(), g_totals.end());
    std::sort(rows.begin(), rows.end(), [](auto &a, auto &b) { return a.second.self > b.second.self; });
    std::ostringstream text;
    int64_t n = 0;
    for (auto &[name, t] : rows) {
      if (n++ >= limit) break;
      char line[64];
      snprintf(line, sizeof line, "%.4f\t%.4f\t%lld\t", t.self, t.total, (long long)t.calls);
      text << line << name << "\n";
    }
    *out = strdup(text.str().c_str());
  })
}
}

// views.cpp — reshaping, slicing, indexing, joining and splitting.
#include "common.h"
using namespace ctorch;

extern "C" {
int ct_reshape(ct_tensor t, const int64_t *s, int64_t n, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).reshape(dims(s, n)))) }
int ct_view(ct_tensor t, const int64_t *s, int64_t n, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).view(dims(s, n)))) }
int ct_transpose(ct_tensor t, int64_t d0, int64_t d1, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).transpose(d0, d1))) }
int ct_permute(ct_tensor t, const int64_t *d, int64_t n, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).permute(dims(d, n)))) }
int ct_narrow(ct_tensor t, int64_t dim, int64_t start, int64_t length, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, T(t).narrow(dim, start, length)))
}
int ct_slice(ct_tensor t, int64_t dim, int64_t start, int64_t end, int64_t step, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, T(t).slice(dim, start, end, step)))
}
int ct_select(ct_tensor t, int64_t dim, int64_t index, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).select(dim, index))) }
int ct_squeeze(ct_tensor t, int64_t dim, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).squeeze(dim))) }
int ct_unsqueeze(ct_tensor t, int64_t dim, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).unsqueeze(dim))) }
int ct_flatten(ct_tensor t, int64_t s, int64_t e, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).flatten(s, e))) }
int ct_expand(ct_tensor t, const int64_t *s, int64_t n, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).expand(dims(s, n)))) }
int ct_repeat_interleave(ct_tensor t, int64_t repeats, int64_t dim, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, T(t).repeat_interleave(repeats, dim)))
}
int ct_index_select(ct_tensor t, int64_t dim, ct_tensor index, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, T(t).index_select(dim, T(index))))
}
int ct_gather(ct_tensor t, int64_t dim, ct_tensor index, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).gather(dim, T(index)))) }
int ct_scatter(ct_tensor t, int64_t dim, ct_tensor index, ct_tensor src, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, T(t).scatter(dim, T(index), T(src))))
}
int ct_scatter_add(ct_tensor t, int64_t dim, ct_tensor index, ct_tensor src, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, T(t).scatter_add(dim, T(index), T(src))))
}
int ct_index_put_(ct_tensor t, ct_tensor index, ct_tensor values, int accumulate) {
  CT_PROTECT({
    c10::List<std::optional<at::Tensor>> idx;
    idx.push_back(T(index));
    T(t).index_put_(idx, T(values), accumulate != 0);
  })
}
int ct_masked_select(ct_tensor t, ct_tensor mask, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).masked_select(T(mask)))) }
int ct_masked_fill(ct_tensor t, ct_tensor mask, double value, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, T(t).masked_fill(T(mask), value)))
}
int ct_where(ct_tensor c, ct_tensor a, ct_tensor b, ct_tensor *out) { CT_PROTECT(CT_OUT(out, at::where(T(c), T(a), T(b)))) }
int ct_cat(const ct_tensor *ts, int64_t n, int64_t dim, ct_tensor *out) { CT_PROTECT(CT_OUT(out, at::cat(tensors(ts, n), dim))) }
int ct_stack(const ct_tensor *ts, int64_t n, int64_t dim, ct_tensor *out) { CT_PROTECT(CT_OUT(out, at::stack(tensors(ts, n), dim))) }
int ct_split(ct_tensor t, int64_t size, int64_t chunks, int64_t dim, ct_tensor **out, int64_t *count) {
  CT_PROTECT({
    std::vector<at::Tensor> parts = chunks > 0 ? T(t).chunk(chunks, dim) : T(t).split(size, dim);
    auto arr = (ct_tensor *)malloc(sizeof(ct_tensor) * (parts.size() ? parts.size() : 1));
    if (!arr) throw std::bad_alloc();
    for (size_t i = 0; i < parts.size(); ++i) arr[i] = wrap(parts[i]);
    *out = arr;
    *count = (int64_t)parts.size();
  })
}
int ct_split_sizes(ct_tensor t, const int64_t *sizes, int64_t n, int64_t dim, ct_tensor **out) {
  CT_PROTECT({
    std::vector<at::Tensor> parts = T(t).split_with_sizes(dims(sizes, n), dim);
    auto arr = (ct_tensor *)malloc(sizeof(ct_tensor) * (parts.size() ? parts.size() : 1));
    if (!arr) throw std::bad_alloc();
    for (size_t i = 0; i < parts.size(); ++i) arr[i] = wrap(parts[i]);
    *out = arr;
  })
}
int ct_tril(ct_tensor t, int64_t k, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).tril(k))) }
int ct_triu(ct_tensor t, int64_t k, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).triu(k))) }
int ct_pad(ct_tensor t, const int64_t *pads, int64_t n, double value, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, at::constant_pad_nd(T(t), dims(pads, n), value)))
}
int ct_flip(ct_tensor t, const int64_t *d, int64_t n, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).flip(dims(d, n)))) }
}

#include "model/transformer.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>

#include "model/cpu_cache.h"
#include "util/error.h"

namespace mctr::infer {

namespace {

// A hyperparameter as int. Past INT_MAX the cast would wrap: rope.dimension_count
// 0xfffffffe became -2, passed the checks below and made Session ask for 2^63 floats
// (tests/fuzz/regressions/gguf/rope-dimension-count-wraps.gguf).
int meta_int(const GgufFile& f, const std::string& arch, const char* key, std::optional<int> fallback = {}) {
  std::string name = arch + "." + key;
  uint64_t v = fallback ? f.get_uint(name, static_cast<uint64_t>(*fallback)) : f.get_uint(name);
  if (v > static_cast<uint64_t>(std::numeric_limits<int>::max()))
    throw Error("gguf " + f.path() + ": " + name + " = " + std::to_string(v) + " is out of range");
  return static_cast<int>(v);
}

// One matmul of the batch: out[b][r] = W.row(r) · x[b] for b < batch.
struct MatJob {
  const Weight* w;
  const float* x;
  const BlockQ8* xq;  // x quantized to Q8_0 when w is Q8_0
  float* out;
  int batch;
  // Runs on rows r0..r1 of out (every token of the batch) as soon as a chunk has computed them,
  // while they are in this core's cache: RoPE and the KV cache store for q, k and v.
  const std::function<void(int r0, int r1)>* then = nullptr;
};

// Rows r0..r1 of one matmul for every token of the batch.
//
// One token (generation): dot_rows_* (kernels.h), one row after the other, so the weights
// stream from memory in order. A batch (prompt): matmul_batch_* computes tiles of 4 rows x 3
// tokens over L2-sized blocks of rows and tokens (see kernels.h).
void matmul_rows(const MatJob& j, int r0, int r1) {
  const int n = j.w->cols;
  const size_t rb = j.w->row_bytes;
  const size_t x_stride = j.w->type == GgmlType::Q8_0 ? 0 : static_cast<size_t>(n);
  const size_t xq_stride = static_cast<size_t>(n / kQK8);
  if (j.batch == 1) {
    switch (j.w->type) {
      case GgmlType::F32:
        dot_rows_f32(j.w->row(r0), rb, r1 - r0, j.x, n, j.out + r0, j.w->fetch);
        break;
      case GgmlType::F16:
        dot_rows_f16(j.w->row(r0), rb, r1 - r0, j.x, n, j.out + r0, j.w->fetch);
        break;
      default:
        dot_rows_q8_0(j.w->row(r0), rb, r1 - r0, j.xq, n, j.out + r0, j.w->fetch);
    }
    return;
  }
  // A batch (prompt): the tiled kernels, each loaded weight vector serving several tokens.
  const int rows = r1 - r0;
  float* out = j.out + r0;
  const size_t out_stride = static_cast<size_t>(j.w->rows);
  switch (j.w->type) {
    case GgmlType::F32:
      matmul_batch_f32(j.w->row(r0), rb, rows, j.x, x_stride, j.batch, n, out, out_stride);
      break;
    case GgmlType::F16:
      matmul_batch_f16(j.w->row(r0), rb, rows, j.x, x_stride, j.batch, n, out, out_stride);
      break;
    default:
      matmul_batch_q8_0(j.w->row(r0), rb, rows, j.xq, xq_stride, j.batch, n, out, out_stride);
  }
}

// Run several independent matmuls (e.g. Q, K and V) as one parallel job, split in chunks of
// rows (a multiple of `align`, itself a multiple of 16, the Q8_0 batch kernel's row group; the
// other kernels step by 4), about 8 chunks per thread so a thread that is descheduled on a
// shared CPU holds up little work.
void matmul(ThreadPool& pool, std::initializer_list<MatJob> jobs, int align = 16) {
  constexpr int kMaxJobs = 3;
  int total_rows = 0;
  for (auto& j : jobs) total_rows += j.w->rows;
  int per = std::max(align, total_rows / (pool.size() * 8));
  per = (per + align - 1) / align * align;
  int first_chunk[kMaxJobs + 1] = {0};  // chunk index where each job starts
  const MatJob* job = jobs.begin();
  int n_jobs = static_cast<int>(jobs.size());
  if (n_jobs > kMaxJobs) throw Error("matmul: too many jobs in one dispatch");
  for (int k = 0; k < n_jobs; k++) first_chunk[k + 1] = first_chunk[k] + (job[k].w->rows + per - 1) / per;
  pool.run(first_chunk[n_jobs], [&](int chunk) {
    int k = 0;
    while (chunk >= first_chunk[k + 1]) k++;
    int r0 = (chunk - first_chunk[k]) * per;
    const int r1 = std::min(job[k].w->rows, r0 + per);
    matmul_rows(job[k], r0, r1);
    if (job[k].then) (*job[k].then)(r0, r1);
  });
}

}  // namespace

Weight Model::load_weight(const std::string& name, int rows, int cols) const {
  const GgufTensor& t = file_.tensor(name);
  if (t.dims.size() != 2 || t.dims[0] != static_cast<uint64_t>(cols) ||
      t.dims[1] != static_cast<uint64_t>(rows))
    throw Error("gguf " + file_.path() + ": tensor " + name + " has shape [" + std::to_string(t.dims[0]) +
                (t.dims.size() > 1 ? ", " + std::to_string(t.dims[1]) : "") + "], expected [" +
                std::to_string(cols) + ", " + std::to_string(rows) + "]");
  if (t.type == GgmlType::Q8_0 && cols % kQK8 != 0)
    throw Error("gguf " + file_.path() + ": tensor " + name + " is Q8_0 but its rows are not whole blocks");
  Weight w;
  w.type = t.type;
  w.data = t.data;
  w.rows = rows;
  w.cols = cols;
  w.row_bytes = type_row_bytes(t.type, cols);
  return w;
}

std::vector<float> Model::load_vector(const std::string& name, int n) const {
  const GgufTensor& t = file_.tensor(name);
  if (t.n_elements() != static_cast<uint64_t>(n))
    throw Error("gguf " + file_.path() + ": tensor " + name + " has " + std::to_string(t.n_elements()) +
                " elements, expected " + std::to_string(n));
  std::vector<float> v(n);
  dequantize_row(t.type, t.data, v.data(), n);
  return v;
}

Model::Model(const std::string& path) : file_(path) {
  std::string arch = file_.get_string("general.architecture");
  if (arch != "llama")
    throw Error("gguf " + path + ": architecture '" + arch + "' is not supported (llama is)");
  cfg_.dim = meta_int(file_, arch, "embedding_length");
  cfg_.n_layers = meta_int(file_, arch, "block_count");
  cfg_.n_heads = meta_int(file_, arch, "attention.head_count");
  cfg_.n_kv_heads = meta_int(file_, arch, "attention.head_count_kv", cfg_.n_heads);
  cfg_.hidden_dim = meta_int(file_, arch, "feed_forward_length");
  cfg_.ctx_len = meta_int(file_, arch, "context_length");
  cfg_.norm_eps = static_cast<float>(file_.get_float(arch + ".attention.layer_norm_rms_epsilon", 1e-5));
  cfg_.rope_base = static_cast<float>(file_.get_float(arch + ".rope.freq_base", 10000.0));
  if (cfg_.dim <= 0 || cfg_.n_layers <= 0 || cfg_.n_heads <= 0 || cfg_.n_kv_heads <= 0 ||
      cfg_.hidden_dim <= 0 || cfg_.ctx_len <= 0 || cfg_.dim % cfg_.n_heads != 0 ||
      cfg_.n_heads % cfg_.n_kv_heads != 0 || cfg_.dim > 65536 || cfg_.n_layers > 1024 ||
      cfg_.hidden_dim > 1 << 20)
    throw Error("gguf " + path + ": inconsistent llama hyperparameters");
  cfg_.head_dim = cfg_.dim / cfg_.n_heads;
  cfg_.rope_dim = meta_int(file_, arch, "rope.dimension_count", cfg_.head_dim);
  if (cfg_.rope_dim > cfg_.head_dim || cfg_.rope_dim % 2)
    throw Error("gguf " + path + ": bad rope.dimension_count");

  tok_ = Tokenizer(file_);
  cfg_.n_vocab = tok_.n_vocab();

  tok_embd_ = load_weight("token_embd.weight", cfg_.n_vocab, cfg_.dim);
  output_norm_ = load_vector("output_norm.weight", cfg_.dim);
  // Models with tied embeddings have no output.weight: the embedding matrix doubles as it.
  output_ =
      file_.find_tensor("output.weight") ? load_weight("output.weight", cfg_.n_vocab, cfg_.dim) : tok_embd_;
  for (int l = 0; l < cfg_.n_layers; l++) {
    std::string p = "blk." + std::to_string(l) + ".";
    LayerWeights w;
    w.attn_norm = load_vector(p + "attn_norm.weight", cfg_.dim);
    w.ffn_norm = load_vector(p + "ffn_norm.weight", cfg_.dim);
    w.wq = load_weight(p + "attn_q.weight", cfg_.q_dim(), cfg_.dim);
    w.wk = load_weight(p + "attn_k.weight", cfg_.kv_dim(), cfg_.dim);
    w.wv = load_weight(p + "attn_v.weight", cfg_.kv_dim(), cfg_.dim);
    w.wo = load_weight(p + "attn_output.weight", cfg_.dim, cfg_.q_dim());
    w.w_gate = load_weight(p + "ffn_gate.weight", cfg_.hidden_dim, cfg_.dim);
    w.w_up = load_weight(p + "ffn_up.weight", cfg_.hidden_dim, cfg_.dim);
    w.w_down = load_weight(p + "ffn_down.weight", cfg_.dim, cfg_.hidden_dim);
    // Q, K and V share one input quantized for Q's type, as gate and up do for gate's
    // (forward_batch): a Q8_0 attn_k beside an F32 attn_q got a null quantized input
    // (tests/fuzz/regressions/gguf/mixed-qkv-types.gguf).
    if (w.wk.type != w.wq.type || w.wv.type != w.wq.type || w.w_up.type != w.w_gate.type)
      throw Error("gguf " + path + ": layer " + std::to_string(l) +
                  " mixes tensor types in attn_q/k/v or in ffn_gate/up");
    layers_.push_back(std::move(w));
  }
  set_row_fetch();
  for (int i = 0; i < cfg_.rope_dim; i += 2)
    inv_freq_.push_back(
        std::pow(static_cast<double>(cfg_.rope_base), -static_cast<double>(i) / cfg_.rope_dim));
}

// A token reads every matrix once. If they all fit in the last-level cache, they stay there
// from one token to the next; if not, each token streams them from memory (RowFetch).
void Model::set_row_fetch() {
  std::vector<Weight*> matrices{&output_};
  for (LayerWeights& w : layers_)
    for (Weight* m : {&w.wq, &w.wk, &w.wv, &w.wo, &w.w_gate, &w.w_up, &w.w_down}) matrices.push_back(m);
  size_t bytes = 0;
  for (const Weight* m : matrices) bytes += static_cast<size_t>(m->rows) * m->row_bytes;
  const size_t llc = last_level_cache_bytes();  // 0 when unknown: streamed
  const RowFetch fetch = llc > 0 && bytes <= llc ? RowFetch::kCached : streamed_row_fetch();
  for (Weight* m : matrices) m->fetch = fetch;
}

Session::Session(const Model& m, int n_ctx, KvTypes kv)
    : n_ctx_(n_ctx > 0 ? n_ctx : throw Error("context size must be positive")),
      max_batch_(std::clamp(n_ctx, 1, kMaxBatch)),
      k_cache_(kv.k, m.config().n_layers, n_ctx_, m.config().n_kv_heads, m.config().head_dim),
      v_cache_(kv.v, m.config().n_layers, n_ctx_, m.config().n_kv_heads, m.config().head_dim) {
  const ModelConfig& c = m.config();
  const size_t B = max_batch_;
  x_.resize(B * c.dim);
  xb_.resize(B * c.dim);
  q_.resize(B * c.q_dim());
  k_.resize(B * c.kv_dim());
  v_.resize(B * c.kv_dim());
  att_out_.resize(B * c.q_dim());
  hb_.resize(B * c.hidden_dim);
  hb2_.resize(B * c.hidden_dim);
  logits_.resize(c.n_vocab);
  rope_cos_.resize(B * c.rope_dim / 2);
  rope_sin_.resize(B * c.rope_dim / 2);
  xq_.resize(B * (std::max({c.dim, c.hidden_dim, c.q_dim()}) / kQK8 + 1));
}

const float* Model::forward(Session& s, const std::vector<int>& tokens, ThreadPool& pool) const {
  if (tokens.empty()) throw Error("forward: no tokens");
  if (s.n_past_ + static_cast<int>(tokens.size()) > s.n_ctx_)
    throw Error("forward: context overflow (" + std::to_string(s.n_past_ + tokens.size()) + " > " +
                std::to_string(s.n_ctx_) + " tokens)");
  for (int t : tokens)
    if (!tok_.valid(t)) throw Error("forward: token id " + std::to_string(t) + " out of range");
  for (size_t i = 0; i < tokens.size(); i += s.max_batch_) {
    int n = static_cast<int>(std::min<size_t>(s.max_batch_, tokens.size() - i));
    forward_batch(s, tokens.data() + i, n, pool);
  }
  return s.logits_.data();
}

void Model::forward_batch(Session& s, const int* tokens, int B, ThreadPool& pool) const {
  const ModelConfig& c = cfg_;
  const int dim = c.dim, hd = c.head_dim, kv_dim = c.kv_dim(), q_dim = c.q_dim(), hidden = c.hidden_dim;
  const int pos0 = s.n_past_;
  float* x = s.x_.data();

  const int half = c.rope_dim / 2;
  // Token b's embedding and RoPE angles: in the first layer's first step, so they are spread
  // over the pool instead of holding the other threads idle before it.
  auto embed = [&](int b) {
    dequantize_row(tok_embd_.type, tok_embd_.row(tokens[b]), x + static_cast<size_t>(b) * dim, dim);
    for (int i = 0; i < half; i++) {
      double theta = (pos0 + b) * inv_freq_[i];
      s.rope_cos_[b * half + i] = static_cast<float>(std::cos(theta));
      s.rope_sin_[b * half + i] = static_cast<float>(std::sin(theta));
    }
  };

  // The per-token work between the matmuls (embedding, norms, quantizing, residuals)
  // in chunks of tokens over the pool: done on one thread it held the other one idle.
  auto per_token = [&](const auto& fn) {
    constexpr int kChunk = 8;
    pool.run((B + kChunk - 1) / kChunk, [&](int ch) {
      for (int b = ch * kChunk; b < std::min(B, (ch + 1) * kChunk); b++) fn(b);
    });
  };
  // Token b's activations quantized, when the weights they meet are Q8_0.
  BlockQ8* xq_all = s.xq_.data();
  auto quantize = [&](const float* in, int n, const Weight& w, int b) {
    if (w.type == GgmlType::Q8_0)
      quantize_row_q8_0(in + static_cast<size_t>(b) * n, xq_all + static_cast<size_t>(b) * (n / kQK8), n);
  };
  auto quantized = [&](const Weight& w) -> const BlockQ8* {
    return w.type == GgmlType::Q8_0 ? xq_all : nullptr;
  };

  // RoPE on rows r0..r1 of q or k (every token): the adjacent pairs in each head's first
  // rope_dim elements. Run per chunk of the Q, K, V matmul, whose boundaries then must not
  // split a pair: multiples of 16 do not when heads start at even rows.
  const int rope_align = hd % 2 ? 16 * hd : 16;
  auto rope_rows = [&](float* vec, int stride, int r0, int r1) {
    for (int b = 0; b < B; b++) {
      float* v = vec + static_cast<size_t>(b) * stride;
      // data() + offset, not &v[i]: with rope.dimension_count 0 (no rotation) the tables are empty.
      const float* cs = s.rope_cos_.data() + static_cast<size_t>(b) * half;
      const float* sn = s.rope_sin_.data() + static_cast<size_t>(b) * half;
      for (int h = r0 / hd; h * hd < r1; h++)
        for (int i = 0; i < half; i++) {
          const int p = h * hd + 2 * i;
          if (p < r0 || p >= r1) continue;
          const float x0 = v[p], x1 = v[p + 1];
          v[p] = x0 * cs[i] - x1 * sn[i];
          v[p + 1] = x0 * sn[i] + x1 * cs[i];
        }
    }
  };

  // x += xb for token b: the residual stream takes the output of wo or w_down.
  auto add_residual = [&](int b) {
    float* xr = x + static_cast<size_t>(b) * dim;
    const float* add = &s.xb_[static_cast<size_t>(b) * dim];
    for (int i = 0; i < dim; i++) xr[i] += add[i];
  };

  for (int l = 0; l < c.n_layers; l++) {
    const LayerWeights& w = layers_[l];
    per_token([&](int b) {
      if (l == 0)
        embed(b);
      else
        add_residual(b);  // the previous layer's w_down output: here, not in a job of its own
      rmsnorm(&s.xb_[b * dim], x + b * dim, w.attn_norm.data(), dim, c.norm_eps);
      quantize(s.xb_.data(), dim, w.wq, b);
    });
    const BlockQ8* xq = quantized(w.wq);
    const std::function<void(int, int)> q_then = [&](int r0, int r1) {
      rope_rows(s.q_.data(), q_dim, r0, r1);
    };
    const std::function<void(int, int)> k_then = [&](int r0, int r1) {
      rope_rows(s.k_.data(), kv_dim, r0, r1);
      for (int b = 0; b < B; b++) s.k_cache_.store(l, pos0 + b, s.k_.data() + b * kv_dim, r0, r1 - r0);
    };
    const std::function<void(int, int)> v_then = [&](int r0, int r1) {
      for (int b = 0; b < B; b++) s.v_cache_.store(l, pos0 + b, s.v_.data() + b * kv_dim, r0, r1 - r0);
    };
    matmul(pool,
           {{&w.wq, s.xb_.data(), xq, s.q_.data(), B, &q_then},
            {&w.wk, s.xb_.data(), xq, s.k_.data(), B, &k_then},
            {&w.wv, s.xb_.data(), xq, s.v_.data(), B, &v_then}},
           rope_align);

    // Causal attention. Query heads share KV heads in groups.
    auto keys = [&](int kvh) { return KvRows{s.k_cache_.type(), s.k_cache_.at(l, 0, kvh)}; };
    auto values = [&](int kvh) { return KvRows{s.v_cache_.type(), s.v_cache_.at(l, 0, kvh)}; };
    const size_t kv_stride = s.k_cache_.stride();  // the same for the values
    const int group = c.n_heads / c.n_kv_heads;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    if (B == 1) {  // generation: one task per head
      pool.run(c.n_heads, [&](int h) {
        const int n_keys = pos0 + 1, kvh = h / group;
        thread_local std::vector<float> att;
        att.resize(n_keys);
        attend(s.q_.data() + h * hd, keys(kvh), values(kvh), kv_stride, n_keys, hd, scale, att.data(),
               &s.att_out_[h * hd]);
      });
    } else {  // a prompt batch: one task per head, all of its queries at once (attend_batch)
      pool.run(c.n_heads, [&](int h) {
        const int kvh = h / group;
        thread_local std::vector<float> scratch;
        scratch.resize(attend_batch_scratch(B, pos0 + B, hd));
        attend_batch(s.q_.data() + h * hd, q_dim, B, pos0, keys(kvh), values(kvh), kv_stride, hd, scale,
                     scratch.data(), s.att_out_.data() + h * hd, q_dim);
      });
    }

    if (w.wo.type == GgmlType::Q8_0) per_token([&](int b) { quantize(s.att_out_.data(), q_dim, w.wo, b); });
    matmul(pool, {{&w.wo, s.att_out_.data(), quantized(w.wo), s.xb_.data(), B}});
    per_token([&](int b) {
      add_residual(b);
      rmsnorm(&s.xb_[b * dim], x + b * dim, w.ffn_norm.data(), dim, c.norm_eps);
      quantize(s.xb_.data(), dim, w.w_gate, b);
    });
    xq = quantized(w.w_gate);
    matmul(pool,
           {{&w.w_gate, s.xb_.data(), xq, s.hb_.data(), B}, {&w.w_up, s.xb_.data(), xq, s.hb2_.data(), B}});
    per_token([&](int b) {
      const size_t o = static_cast<size_t>(b) * hidden;
      swiglu(&s.hb_[o], &s.hb2_[o], hidden);  // silu(gate) * up
      quantize(s.hb_.data(), hidden, w.w_down, b);
    });
    matmul(pool, {{&w.w_down, s.hb_.data(), quantized(w.w_down), s.xb_.data(), B}});
  }

  // Logits only for the last token of the batch: that is all sampling needs, so the last
  // layer's residual is added to that token alone.
  add_residual(B - 1);
  float* last = x + static_cast<size_t>(B - 1) * dim;
  rmsnorm(s.xb_.data(), last, output_norm_.data(), dim, c.norm_eps);
  const BlockQ8* xq = nullptr;
  if (output_.type == GgmlType::Q8_0) {
    quantize_row_q8_0(s.xb_.data(), s.xq_.data(), dim);
    xq = s.xq_.data();
  }
  matmul(pool, {{&output_, s.xb_.data(), xq, s.logits_.data(), 1}});
  s.n_past_ += B;
}

}  // namespace mctr::infer

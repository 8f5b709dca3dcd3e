// libFuzzer target: any bytes, read as a GGUF model the way minictr-infer
// loads one: GgufFile (header, metadata, tensor table, data bounds), the
// tokenizer built from the metadata, then Model (hyperparameters, tensor
// shapes) and a two-token forward pass over the loaded weights.
//
// The only acceptable failure is mctr::Error. On success the harness checks
// the parser's promise that every tensor's bytes lie inside the file (the
// file is mmap'ed, so ASan alone would not see a read past a tensor's end).
#include <cstdint>
#include <string>

#include "memfd_input.h"
#include "model/gguf.h"
#include "model/threadpool.h"
#include "model/tokenizer.h"
#include "model/transformer.h"
#include "util/error.h"

namespace {

using namespace mctr::infer;

void check_tensors(const GgufFile& f) {
  for (const GgufTensor& t : f.tensors()) {
    if (t.dims.empty() || t.dims[0] == 0) mctr::fuzz::contract_broken("tensor without dimensions");
    if (t.nbytes != type_row_bytes(t.type, t.dims[0]) * (t.n_elements() / t.dims[0]))
      mctr::fuzz::contract_broken("tensor byte count does not match its shape");
    if (t.offset > f.file_size() || t.nbytes > f.file_size() - t.offset)
      mctr::fuzz::contract_broken("tensor data beyond the end of the file");
    // Touch the first and last byte: past the mapping this faults.
    if (t.nbytes) {
      volatile uint8_t sink = t.data[0];
      sink = t.data[t.nbytes - 1];
      (void)sink;
    }
  }
}

void use_tokenizer(const GgufFile& f) {
  Tokenizer tok(f);
  std::vector<int> ids = tok.encode(" Hello, w\xc3\xb6rld <0x41>\n\xff", true);
  for (int id : ids)
    if (!tok.valid(id)) mctr::fuzz::contract_broken("encode gave an id outside the vocabulary");
  tok.decode(ids);
}

void use_model(const std::string& path) {
  Model m(path);
  Session s(m, std::min(m.config().ctx_len, 4));
  ThreadPool pool(1);
  std::vector<int> ids = m.tokenizer().encode("hi", true);
  if (ids.size() > 2) ids.resize(2);
  m.forward(s, ids, pool);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mctr::fuzz::MemfdInput input(data, size);
  try {
    GgufFile f(input.path());
    check_tensors(f);
    use_tokenizer(f);
  } catch (const mctr::Error& e) {
    mctr::fuzz::show_rejection(e);
  }
  try {
    use_model(input.path());
  } catch (const mctr::Error& e) {
    mctr::fuzz::show_rejection(e);
  }
  return 0;
}

// Reading a completion request as llama.cpp's server does: the prompt forms it accepts
// (a string, token ids, strings mixed with ids, or a list of those = one completion each),
// and the settings echoed back as `generation_settings` (/completion), in /props and /slots.
#pragma once

#include <string>
#include <vector>

#include "server/engine.h"
#include "server/http_json.h"
#include "server/prompt_vocab.h"

namespace mctr::infer {

// One prompt of a request, tokenized; `text` is what the metrics log shows (the prompt as
// written, or the decoded ids).
struct PromptInput {
  std::vector<int> tokens;
  std::string text;
};

// `prompt` as llama.cpp reads it: "text" and [ids...] and ["text", ids..., "text"] are one
// prompt (BOS in front when it starts with text and the model adds one; special tokens in
// the text are parsed); a list whose items are those is one prompt per item.
std::vector<PromptInput> prompts_from_json(const json& prompt, const PromptVocab& vocab);

// The request's settings in llama.cpp's field names (its `params` object). Samplers this
// server does not have are listed with their "off" values, which is what they are here.
json generation_settings_json(const SamplingParams& p, int n_predict, const std::vector<std::string>& stop,
                              bool stream);
// The seed as llama.cpp shows it: -1 (random) is 4294967295.
uint64_t shown_seed(int64_t seed);

}  // namespace mctr::infer

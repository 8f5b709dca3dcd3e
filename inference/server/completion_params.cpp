#include "server/completion_params.h"

namespace mctr::infer {

namespace {
bool is_token_id(const json& j) { return j.is_number_integer(); }

bool all_token_ids(const json& a) {
  for (auto& e : a)
    if (!is_token_id(e)) return false;
  return true;
}

// Both text and ids in one array: llama.cpp reads it as one prompt.
bool mixed_text_and_ids(const json& a) {
  bool text = false, ids = false;
  for (auto& e : a) {
    text |= e.is_string();
    ids |= is_token_id(e);
  }
  return text && ids;
}

int checked_id(const json& e, const PromptVocab& vocab) {
  int64_t id = e.get<int64_t>();
  if (!vocab.tokenizer().valid(static_cast<int>(id)) || id != static_cast<int>(id))
    throw BadRequest("'prompt' token ids must be valid: " + std::to_string(id) + " is out of range");
  return static_cast<int>(id);
}

// A string, or an array of strings and ids: only a string at the very front gets the BOS.
PromptInput one_prompt(const json& p, const PromptVocab& vocab) {
  PromptInput in;
  const Tokenizer& tok = vocab.tokenizer();
  if (p.is_string()) {
    in.text = p.get<std::string>();
    in.tokens = vocab.tokenize(in.text, true, true);
    return in;
  }
  bool first = true;
  for (auto& e : p) {
    if (e.is_string()) {
      auto ids = vocab.tokenize(e.get<std::string>(), first, true);
      in.tokens.insert(in.tokens.end(), ids.begin(), ids.end());
    } else if (is_token_id(e)) {
      in.tokens.push_back(checked_id(e, vocab));
    } else {
      throw BadRequest("'prompt' items must be strings or token ids");
    }
    first = false;
  }
  in.text = tok.decode(in.tokens);
  if (in.tokens.empty()) in.tokens.push_back(tok.bos());  // nothing to condition on but BOS
  return in;
}
}  // namespace

std::vector<PromptInput> prompts_from_json(const json& prompt, const PromptVocab& vocab) {
  const char* shapes =
      "'prompt' must be a string, a list of token ids, a list of strings and token ids, or a list "
      "of those";
  if (prompt.is_string() || (prompt.is_array() && (all_token_ids(prompt) || mixed_text_and_ids(prompt))))
    return {one_prompt(prompt, vocab)};
  if (!prompt.is_array()) throw BadRequest(shapes);
  std::vector<PromptInput> out;
  for (auto& p : prompt) {
    if (!p.is_string() && !(p.is_array() && (all_token_ids(p) || mixed_text_and_ids(p))))
      throw BadRequest(shapes);
    out.push_back(one_prompt(p, vocab));
  }
  return out;
}

uint64_t shown_seed(int64_t seed) { return seed < 0 ? 4294967295u : static_cast<uint64_t>(seed); }

json generation_settings_json(const SamplingParams& p, int n_predict, const std::vector<std::string>& stop,
                              bool stream) {
  return {{"n_predict", n_predict},
          {"seed", shown_seed(p.seed)},
          {"temperature", p.temperature},
          {"dynatemp_range", 0.0},
          {"dynatemp_exponent", 1.0},
          {"top_k", p.top_k},
          {"top_p", p.top_p},
          {"min_p", p.min_p},
          {"xtc_probability", 0.0},
          {"xtc_threshold", 0.1},
          {"typical_p", 1.0},
          {"repeat_last_n", p.repeat_last_n},
          {"repeat_penalty", p.repeat_penalty},
          {"presence_penalty", 0.0},
          {"frequency_penalty", 0.0},
          {"dry_multiplier", 0.0},
          {"mirostat", 0},
          {"stop", stop},
          {"max_tokens", n_predict},
          {"n_keep", 0},
          {"n_discard", 0},
          {"ignore_eos", false},
          {"stream", stream},
          {"n_probs", 0},
          {"min_keep", 0},
          {"grammar", ""},
          {"samplers", {"penalties", "top_k", "top_p", "min_p", "temperature"}},
          {"timings_per_token", false},
          {"post_sampling_probs", false},
          {"lora", json::array()}};
}

}  // namespace mctr::infer

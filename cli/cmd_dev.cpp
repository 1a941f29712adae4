// `xsearch dev ...`: tools for checking parity with the reference implementation.
#include <iostream>
#include <string>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/full_exec.hpp"
#include "cli/output.hpp"
#include "xsearch/dev.hpp"
#include "xsearch/error.hpp"
#include "xsearch/library.hpp"
#include "xsearch/library_tools.hpp"
#include "xsearch/tokenizer.hpp"

namespace xsearch::cli {

namespace {

struct ForwardArgs {
  std::string model, inputs, out;
  bool interpolate = false;
  int threads = 0;
};

struct TokenizeArgs {
  std::string tokenizer;
  bool pad = false;
};

int run_tokenize(const TokenizeArgs& args) {
  const ClipTokenizer tokenizer = ClipTokenizer::load(args.tokenizer);
  std::vector<std::string> texts;
  std::string line;
  std::size_t line_no = 0;
  int status = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::string text;
    try {
      const auto j = nlohmann::json::parse(line);
      if (!j.is_string()) throw Error("expected a JSON string");
      text = j.get<std::string>();
    } catch (const std::exception& e) {
      const std::string cause = dynamic_cast<const nlohmann::json::exception*>(&e) ? "invalid JSON" : e.what();
      fmt::print(stderr, "xsearch: stdin:{}: {}\n", line_no, cause);
      status = 2;
      // Keep one output line per input line, so that outputs stay aligned with inputs.
      if (!args.pad) write_stdout(nlohmann::json{{"error", cause}}.dump() + "\n");
      continue;
    }
    if (args.pad) {
      texts.push_back(std::move(text));
    } else {
      write_stdout(nlohmann::json{{"ids", tokenizer.encode(text)}}.dump() + "\n");
    }
  }
  if (args.pad) {
    const TokenBatch batch = tokenizer.encode_batch(texts);
    write_stdout(nlohmann::json{{"input_ids", batch.input_ids}, {"attention_mask", batch.attention_mask}}.dump() + "\n");
  }
  return status;
}

// One JSON line per stored clip: its video's path, start, end and embedding (as stored: normalised), in
// export order. For comparing the embeddings of two ingests (scripts/gpu-check.sh: CUDA against the CPU)
// without an SQLite program.
int run_embeddings(const std::string& db_option) {
  const std::filesystem::path db = resolve_db(db_option);
  const std::vector<ExportedClip> clips = export_clips(db);
  const Library library = Library::open(db, false);
  for (const ExportedClip& c : clips)
    write_stdout(nlohmann::ordered_json{{"path", c.path}, {"start", c.start}, {"end", c.end}, {"embedding", library.clip_embedding(c.clip_id)}}
                     .dump() +
                 "\n");
  return clips.empty() ? 1 : 0;
}

}  // namespace

void add_dev_commands(CLI::App& app, Runner& run) {
  CLI::App* dev = app.add_subcommand("dev", "Developer tools: parity checks against the reference implementation");
  dev->require_subcommand(1);

  auto forward_args = std::make_shared<ForwardArgs>();
  CLI::App* forward = dev->add_subcommand("forward", "Run the model (float32, CPU) on a safetensors file of inputs");
  forward->add_option("--model", forward_args->model, "Model folder (config.json, model.safetensors)")->required();
  forward->add_option("--inputs", forward_args->inputs, "safetensors with input_ids, attention_mask, pixel_values")->required();
  forward->add_option("--out", forward_args->out, "safetensors file to write the outputs to")->required();
  forward->add_flag("--interpolate-pos-encoding", forward_args->interpolate,
                    "Accept frames of another size, resizing the position embeddings");
  forward->add_option("--threads", forward_args->threads, "Intra-op threads (default: all cores)");
  forward->callback([forward_args, &run] {
    run = [forward_args] {
#ifdef XSEARCH_FULL
      dev_forward(forward_args->model, forward_args->inputs, forward_args->out, forward_args->interpolate,
                  forward_args->threads);
      return 0;
#else
      return XSEARCH_FULL_ONLY(0);
#endif
    };
  });

  auto tokenize_args = std::make_shared<TokenizeArgs>();
  CLI::App* tokenize = dev->add_subcommand("tokenize", "Tokenize JSON-string lines from stdin: one {\"ids\": [...]} line each");
  tokenize->add_option("--tokenizer", tokenize_args->tokenizer, "Folder with vocab.json and merges.txt")->required();
  tokenize->add_flag("--pad", tokenize_args->pad, "Write one padded batch {\"input_ids\", \"attention_mask\"} instead");
  tokenize->callback([tokenize_args, &run] { run = [tokenize_args] { return run_tokenize(*tokenize_args); }; });

  auto embeddings_db = std::make_shared<std::string>();
  CLI::App* embeddings = dev->add_subcommand("embeddings", "Print every stored clip's embedding: one JSON line {path, start, end, embedding}");
  add_db_option(embeddings, *embeddings_db);
  embeddings->callback([embeddings_db, &run] { run = [embeddings_db] { return run_embeddings(*embeddings_db); }; });

  add_dev_video_commands(*dev, run);
}

}  // namespace xsearch::cli

// Model folders that ship only pytorch_model.bin, end to end through the executables: `dev forward` gives the
// reference tensors, `ingest` (xsearch-full) and `query` (the light xsearch, LibTorch-free) work from such a
// folder and give the same scores as from its safetensors twin; the light xsearch converts by itself too.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "loopback_hub.hpp"
#include "torch_bin_writer.hpp"
#include "xsearch/safetensors.hpp"

using namespace xsearch;
using xsearch::test::fixtures_dir;
using xsearch::test::quote;
using xsearch::test::Result;
using xsearch::test::xsearch_run;
namespace fs = std::filesystem;

namespace {

// A folder with the tiny full model's files, its weights only as pytorch_model.bin (torch.save's format).
fs::path bin_only_full_model(const fs::path& dir) {
  const auto full = fixtures_dir() / "xclip-tiny-full";
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(full))
    if (e.path().extension() != ".safetensors") fs::copy_file(e.path(), dir / e.path().filename());
  const SafetensorsFile weights(full / "model.safetensors");
  NamedTensors tensors;
  for (const auto& info : weights.tensors()) tensors.emplace_back(info.name, weights.read(info.name));
  test::write_state_dict_bin(dir / "pytorch_model.bin", tensors);
  return dir;
}

nlohmann::json run_json(const std::string& args) {
  const Result r = xsearch_run(args + " --json");
  INFO("xsearch " << args << "\nstderr: " << r.err);
  REQUIRE(r.status == 0);
  return nlohmann::json::parse(r.out);
}

}  // namespace

TEST_CASE("xsearch dev forward reads a folder that has only config.json and pytorch_model.bin", "[cli][model][checkpoint]") {
  test::TempDir tmp;
  const auto tiny = fixtures_dir() / "xclip-tiny";
  const auto dir = tmp / "model";
  fs::create_directories(dir);
  fs::copy_file(tiny / "config.json", dir / "config.json");
  fs::copy_file(tiny / "pytorch_model.bin", dir / "pytorch_model.bin");
  const Result r = xsearch_run("dev forward --model " + quote(dir.string()) + " --inputs " +
                               quote((tiny / "inputs.safetensors").string()) + " --out " + quote((tmp / "out.safetensors").string()));
  INFO(r.err);
  REQUIRE(r.status == 0);
  const SafetensorsFile expected(tiny / "expected.safetensors");
  const SafetensorsFile actual(tmp / "out.safetensors");
  REQUIRE(expected.tensors().size() >= 20);
  for (const auto& info : expected.tensors()) {
    INFO("tensor " << info.name);
    REQUIRE(actual.find(info.name));
    // Same tolerance as the parity tests (test_model_parity.cpp explains it); the weights are bit-identical.
    XSEARCH_CHECK_CLOSE(info.name, actual.read(info.name), expected.read(info.name), 1e-4, 1e-4);
  }
  CHECK(fs::exists(dir / "model.safetensors"));  // converted once, beside the .bin
}

TEST_CASE("ingest and query work from a model folder that has only pytorch_model.bin", "[cli][index][checkpoint]") {
  test::TempDir tmp;
  const auto full = fixtures_dir() / "xclip-tiny-full";
  const auto dir = bin_only_full_model(tmp / "bin-model");
  REQUIRE_FALSE(fs::exists(dir / "model.safetensors"));

  const auto videos = tmp / "videos";
  fs::create_directories(videos);
  test::ffmpeg("-f lavfi -i testsrc2=size=160x120:rate=15 -t 8 -c:v libx264 -preset ultrafast -pix_fmt yuv420p " +
               quote((videos / "a.mp4").string()));
  const std::string from_bin = " --db " + quote((tmp / "bin.db").string());
  const std::string from_st = " --db " + quote((tmp / "st.db").string());
  run_json("ingest " + quote(videos.string()) + from_bin + " --model " + quote(dir.string()));
  run_json("ingest " + quote(videos.string()) + from_st + " --model " + quote(full.string()));
  CHECK(fs::exists(dir / "model.safetensors"));

  const auto a = run_json("query 'a colorful test pattern'" + from_bin);
  const auto b = run_json("query 'a colorful test pattern'" + from_st);
  REQUIRE(a["results"].size() == b["results"].size());
  REQUIRE(!a["results"].empty());
  for (std::size_t i = 0; i < a["results"].size(); ++i) {
    // The same weights, bit for bit, through the same code: equal scores (to float printing).
    CHECK(a["results"][i]["score"].get<double>() == Approx(b["results"][i]["score"].get<double>()).margin(1e-6));
    CHECK(a["results"][i]["start"] == b["results"][i]["start"]);
  }

  // Without the conversion, the light xsearch makes it again (the same bytes: the library's model
  // fingerprint still matches) and answers the same.
  fs::remove(dir / "model.safetensors");
  const auto again = run_json("query 'a colorful test pattern'" + from_bin);
  CHECK(again["results"] == a["results"]);
  CHECK(fs::exists(dir / "model.safetensors"));
}

TEST_CASE("model pull falls back to pytorch_model.bin, converts it once beside the snapshots, and model list shows it",
          "[cli][hub][checkpoint]") {
  test::TempDir tmp;
  const auto served = bin_only_full_model(tmp / "served");
  test::LoopbackHub server(tmp, "", served);
  const Result first = xsearch_run("model pull test/bin-only");
  INFO(first.err);
  REQUIRE(first.status == 0);
  CHECK_THAT(first.err, Catch::Contains("pytorch_model.bin: downloaded") && Catch::Contains("pytorch_model.bin: converted to"));
  const fs::path repo = tmp / "hf" / "hub" / "models--test--bin-only";
  const std::string commit = test::read_file(repo / "refs" / "main");
  const fs::path snapshot = repo / "snapshots" / commit;
  const fs::path converted = repo / "xsearch" / commit / "model.safetensors";
  CHECK(first.out == snapshot.string() + "\n");
  CHECK(fs::is_symlink(snapshot / "pytorch_model.bin"));
  CHECK_FALSE(fs::exists(snapshot / "model.safetensors"));  // the hub's own layout is left as the hub makes it
  REQUIRE(fs::exists(converted));
  struct stat before {}, after {};
  ::stat(converted.c_str(), &before);

  // Again: nothing downloaded, nothing converted.
  const Result again = xsearch_run("model pull test/bin-only");
  INFO(again.err);
  REQUIRE(again.status == 0);
  CHECK_THAT(again.err, Catch::Contains("pytorch_model.bin: up to date") && Catch::Contains("model.safetensors: up to date"));
  CHECK_THAT(again.err, !Catch::Contains("downloaded") && !Catch::Contains("converted to"));
  ::stat(converted.c_str(), &after);
  CHECK(before.st_ino == after.st_ino);

  const auto list = run_json("model list");
  REQUIRE(list.size() == 1);
  CHECK(list[0]["id"] == "test/bin-only");
  CHECK(list[0]["ready"] == true);
  CHECK(list[0]["weights"] == "converted");
  CHECK(list[0]["weights_path"] == converted.string());
  CHECK(list[0]["patch_size"] == 32);
  CHECK(list[0]["num_frames"] == 8);
  CHECK(list[0]["image_size"] == 224);
  CHECK(list[0]["prompt_layers"] == 2);
  // On disk: the snapshot's files (the blobs they link to) and the conversion.
  int64_t expected = static_cast<int64_t>(fs::file_size(converted));
  for (const auto& e : fs::directory_iterator(snapshot)) expected += static_cast<int64_t>(fs::file_size(e.path()));
  CHECK(list[0]["bytes"] == expected);
  const Result human = xsearch_run("model list");
  CHECK_THAT(human.out, Catch::Contains("test/bin-only  ready (converted from .bin)  patch 32, 8 frames, 224 px, 2 prompt layers"));

  // The id works for ingest and query.
  const auto videos = tmp / "videos";
  fs::create_directories(videos);
  test::ffmpeg("-f lavfi -i testsrc2=size=160x120:rate=15 -t 4 -c:v libx264 -preset ultrafast -pix_fmt yuv420p " +
               quote((videos / "a.mp4").string()));
  const std::string db = " --db " + quote((tmp / "lib.db").string());
  CHECK(run_json("ingest " + quote(videos.string()) + db + " --model test/bin-only")["clips"] == 1);
  CHECK(run_json("query 'a test pattern'" + db)["results"].size() == 1);
}

TEST_CASE("model list tells a .bin still to be converted from a ready model", "[cli][hub][checkpoint]") {
  test::TempDir tmp;
  const fs::path repo = tmp / "hf" / "hub" / "models--test--later";
  const fs::path snapshot = repo / "snapshots" / "0123456789012345678901234567890123456789";
  bin_only_full_model(snapshot);
  fs::create_directories(repo / "refs");
  test::write_file(repo / "refs" / "main", "0123456789012345678901234567890123456789");
  ::setenv("HF_HOME", (tmp / "hf").c_str(), 1);
  ::unsetenv("HF_HUB_CACHE");
  const auto list = run_json("model list");
  ::unsetenv("HF_HOME");
  REQUIRE(list.size() == 1);
  CHECK(list[0]["complete"] == true);
  CHECK(list[0]["ready"] == false);
  CHECK(list[0]["weights"] == "pytorch_model.bin");
  CHECK(list[0]["weights_path"] == "");
  CHECK_FALSE(fs::exists(repo / "xsearch"));  // listing converts nothing
}

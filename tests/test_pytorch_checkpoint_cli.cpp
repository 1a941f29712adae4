// Model folders that ship only pytorch_model.bin, end to end through the executables: `dev forward` gives the
// reference tensors, `ingest` (xsearch-full) and `query` (the light xsearch, LibTorch-free) work from such a
// folder and give the same scores as from its safetensors twin; the light xsearch converts by itself too.
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "torch_bin_writer.hpp"
#include "xsearch/safetensors.hpp"

using namespace xsearch;
using xsearch::test::fixtures_dir;
using xsearch::test::quote;
using xsearch::test::Result;
using xsearch::test::xsearch_run;
namespace fs = std::filesystem;

namespace {

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
  // The same model as xclip-tiny-full, its weights as torch.save writes them.
  const auto dir = tmp / "bin-model";
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(full))
    if (e.path().filename() != "model.safetensors" && e.path().extension() != ".safetensors") fs::copy_file(e.path(), dir / e.path().filename());
  const SafetensorsFile weights(full / "model.safetensors");
  NamedTensors tensors;
  for (const auto& info : weights.tensors()) tensors.emplace_back(info.name, weights.read(info.name));
  test::write_state_dict_bin(dir / "pytorch_model.bin", tensors);
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

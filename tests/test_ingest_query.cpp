// End to end through the xsearch executable with the tiny full model: ingest, query, the JSON schema,
// re-ingest after changes, kill -9 and resume, concurrent query, damaged database, --like, --rerank.
#include <signal.h>

#include <chrono>
#include <cmath>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_helpers.hpp"
#include "xsearch/safetensors.hpp"

using namespace xsearch;
using xsearch::test::fixtures_dir;
using xsearch::test::quote;
using xsearch::test::Result;
using xsearch::test::xsearch_run;
namespace fs = std::filesystem;

using xsearch::test::make_video;
using xsearch::test::model_arg;
using xsearch::test::run_json;
using xsearch::test::sqlite_value;

TEST_CASE("ingest indexes a folder, reports bad files, and query returns ranked segments", "[cli][index]") {
  test::TempDir tmp;
  const auto videos = tmp / "videos";
  make_video(videos / "a.mp4", "testsrc2", 10);
  make_video(videos / "sub" / "b.mkv", "mandelbrot", 6);
  make_video(videos / "name with spaces é.mp4", "smptebars", 5);
  make_video(videos / ".hidden" / "c.mp4", "testsrc", 5);
  make_video(videos / "noext", "rgbtestsrc", 4, "matroska");  // found by its content, not its name
  test::write_file(videos / "notes.txt", "not a video");
  test::write_file(videos / "broken.mp4", "this is not an mp4");
  const std::string db = " --db " + quote((tmp / "lib.db").string());

  const Result r = xsearch_run("ingest " + quote(videos.string()) + db + model_arg() + " --json");
  INFO(r.err);
  CHECK(r.status == 3);  // done, but one file failed (2 is kept for a command that failed)
  CHECK_THAT(r.err, Catch::Contains("broken.mp4: not a readable video"));
  const auto summary = nlohmann::json::parse(r.out);
  CHECK(summary["indexed"] == 4);
  CHECK(summary["failed"] == 1);
  // 10 s: [0,4) [4,8) [8,10); 6 s: [0,4) [4,6); 5 s: [0,4) (the 1 s tail is under half a window); 4 s: one.
  CHECK(summary["clips"] == 3 + 2 + 1 + 1);
  CHECK(summary["failures"][0]["path"].get<std::string>().find("broken.mp4") != std::string::npos);
  // The default batch follows the device: 4 clips on a CPU (a stop waits for at most one batch), 8 on CUDA.
  const std::string device = summary["device"];
  CHECK(summary["batch"] == (device.rfind("cuda", 0) == 0 ? 8 : 4));

  const auto info = run_json("info" + db, 0);
  CHECK(info["videos"] == 4);
  CHECK(info["failed"] == 1);
  CHECK(info["clips"] == summary["clips"]);
  CHECK(info["model"].get<std::string>().find("xclip-tiny-full") != std::string::npos);

  const auto q = run_json("query 'a colorful test pattern'" + db, 0);
  CHECK(q["query"] == "a colorful test pattern");
  CHECK(q["model"] == info["model"]);
  REQUIRE(q["results"].size() >= 4);
  double previous = 1e9;
  for (std::size_t i = 0; i < q["results"].size(); ++i) {
    const auto& hit = q["results"][i];
    CHECK(hit["rank"] == i + 1);
    CHECK(fs::path(hit["path"].get<std::string>()).is_absolute());
    CHECK(fs::exists(hit["path"].get<std::string>()));
    CHECK(hit["start"].get<double>() < hit["end"].get<double>());
    CHECK(hit["score"].get<double>() <= previous);
    previous = hit["score"].get<double>();
  }
  // Clips of one video that touch were merged: segments of a video never overlap or touch.
  for (const auto& a : q["results"])
    for (const auto& b : q["results"])
      if (&a != &b && a["path"] == b["path"])
        CHECK((a["end"].get<double>() < b["start"].get<double>() || b["end"].get<double>() < a["start"].get<double>()));
  CHECK(run_json("query 'a colorful test pattern' -k 1" + db, 0)["results"].size() == 1);
  const auto filtered = run_json("query pattern --path '*/sub/*'" + db, 0);
  REQUIRE_FALSE(filtered["results"].empty());  // the loop below checks something
  for (const auto& hit : filtered["results"]) CHECK(hit["path"].get<std::string>().find("/sub/") != std::string::npos);
  CHECK(run_json("query pattern --min-score 1.5" + db, 1)["results"].empty());  // nothing found: exit 1

  const Result human = xsearch_run("query pattern -k 2" + db);
  CHECK(human.status == 0);
  CHECK_THAT(human.out, Catch::Contains("  1  ") && Catch::Contains(videos.string()));

  const auto exported = run_json("export" + db, 0);
  CHECK(exported["clips"].size() == summary["clips"].get<std::size_t>());
}

TEST_CASE("re-ingest skips touched files, re-embeds changed ones, follows renames and sweeps deletions", "[cli][index]") {
  test::TempDir tmp;
  const auto videos = tmp / "videos";
  make_video(videos / "a.mp4", "testsrc2", 8);
  make_video(videos / "b.mp4", "mandelbrot", 8);
  make_video(videos / "c.mp4", "smptebars", 8);
  const std::string db = " --db " + quote((tmp / "lib.db").string());
  const std::string ingest = "ingest " + quote(videos.string()) + db + model_arg();
  const auto first = run_json(ingest + " --batch 3", 0);
  CHECK(first["indexed"] == 3);
  CHECK(first["batch"] == 3);  // --batch wins over the device's default
  CHECK(first["device"] == "cpu");
  const auto first_ids = sqlite_value(tmp / "lib.db", "SELECT group_concat(id) FROM clips WHERE video_id = (SELECT id FROM videos WHERE path LIKE '%c.mp4')");

  fs::last_write_time(videos / "a.mp4", fs::file_time_type::clock::now() + std::chrono::hours(1));  // touched only
  make_video(videos / "b.mp4", "rgbtestsrc", 4);                                                   // new content
  fs::rename(videos / "c.mp4", videos / "c-renamed.mp4");
  auto s = run_json(ingest, 0);
  CHECK(s["indexed"] == 1);  // b only
  CHECK(s["unchanged"] == 1);
  CHECK(s["moved"] == 1);
  CHECK(s["removed"] == 0);
  // The renamed video kept its clips (not re-embedded).
  CHECK(sqlite_value(tmp / "lib.db", "SELECT group_concat(id) FROM clips WHERE video_id = (SELECT id FROM videos WHERE path LIKE '%c-renamed.mp4')") == first_ids);

  fs::remove(videos / "a.mp4");
  s = run_json(ingest, 0);
  CHECK(s["removed"] == 1);
  CHECK(s["indexed"] == 0);
  // Nothing to embed: the model was never loaded (its device and batch are those of a run without one).
  CHECK(s["device"] == "");
  CHECK(s["batch"] == 0);
  const auto info = run_json("info" + db, 0);
  CHECK(info["videos"] == 2);
  CHECK(info["clips"] == 1 + 2);  // b: 4 s, one clip; c: 8 s, two
  // Another model is refused.
  test::TempDir other;
  fs::copy(fixtures_dir() / "xclip-tiny-full", other.path(), fs::copy_options::recursive);
  auto cfg = nlohmann::json::parse(test::read_file(other / "config.json"));
  cfg["logit_scale_init_value"] = 1.0;  // a different config: a different model
  test::write_file(other / "config.json", cfg.dump());
  const Result refused = xsearch_run("ingest " + quote(videos.string()) + db + " --model " + quote(other.path().string()));
  CHECK(refused.status == 2);
  CHECK_THAT(refused.err, Catch::Contains("different model"));
  // remove
  const auto removed = run_json("remove " + quote((videos / "b.mp4").string()) + db, 0);
  CHECK(removed["removed"] == 1);
  CHECK(run_json("info" + db, 0)["videos"] == 1);
}

TEST_CASE("kill -9 during ingest, then ingest again: nothing lost, nothing duplicated, database intact", "[cli][index]") {
  test::TempDir tmp;
  const auto videos = tmp / "videos";
  const char* sources[] = {"testsrc2", "mandelbrot", "smptebars", "rgbtestsrc", "testsrc", "yuvtestsrc"};
  for (int i = 0; i < 12; ++i) make_video(videos / ("v" + std::to_string(i) + ".mp4"), sources[i % 6], 12);
  const auto db = tmp / "lib.db";
  const std::string ingest = "ingest " + quote(videos.string()) + " --db " + quote(db.string()) + model_arg() + " --batch 2";
  const std::string cmd = quote(XSEARCH_BINARY) + " " + ingest + " >/dev/null 2>&1 & echo $!";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  long pid = 0;
  REQUIRE(fscanf(p, "%ld", &pid) == 1);
  pclose(p);
  // Kill it once some videos are committed and others are not.
  for (int i = 0; i < 500; ++i) {
    if (fs::exists(db) && sqlite_value(db, "SELECT count(*) FROM videos") >= "2") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(static_cast<pid_t>(pid), SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::string committed = sqlite_value(db, "SELECT count(*) FROM videos");
  INFO("videos committed before the kill: " << committed);
  const auto s = run_json(ingest, 0);
  CHECK(s["indexed"].get<int>() + s["unchanged"].get<int>() == 12);
  CHECK(sqlite_value(db, "PRAGMA integrity_check") == "ok");
  CHECK(sqlite_value(db, "SELECT count(*) FROM videos") == "12");
  CHECK(sqlite_value(db, "SELECT count(*) FROM clips") == "36");  // 12 s: three 4 s clips each
  CHECK(sqlite_value(db, "SELECT count(*) FROM (SELECT video_id FROM clips GROUP BY video_id HAVING count(*) != 3)") == "0");
  CHECK(sqlite_value(db, "SELECT count(*) FROM (SELECT video_id, start FROM clips GROUP BY video_id, start HAVING count(*) > 1)") == "0");
  const auto info = run_json("info --db " + quote(db.string()), 0);
  CHECK(info["clips"] == 36);
}

TEST_CASE("a query answers while an ingest is writing to the same library", "[cli][index]") {
  test::TempDir tmp;
  const auto videos = tmp / "videos";
  make_video(videos / "first.mp4", "testsrc2", 8);
  const std::string db = " --db " + quote((tmp / "lib.db").string());
  run_json("ingest " + quote(videos.string()) + db + model_arg(), 0);
  for (int i = 0; i < 6; ++i) make_video(videos / ("more" + std::to_string(i) + ".mp4"), "mandelbrot", 12);
  const pid_t ingest = test::spawn_shell("exec " + quote(XSEARCH_BINARY) + " ingest " + quote(videos.string()) + db + model_arg() +
                                         " >/dev/null 2>" + quote((tmp / "ingest.err").string()));
  for (int i = 0; i < 5; ++i) {
    const Result r = xsearch_run("query 'a test pattern'" + db + " --json");
    INFO(r.err);
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    CHECK(!nlohmann::json::parse(r.out)["results"].empty());
  }
  // The ingest that ran meanwhile succeeded and stored every video.
  const test::ChildEnd end = test::wait_child(ingest);
  INFO(test::read_file(tmp / "ingest.err"));
  CHECK(end.status == 0);
  CHECK(run_json("info" + db, 0)["videos"] == 7);
}

TEST_CASE("a damaged or newer library database gives a clear error", "[cli][index]") {
  test::TempDir tmp;
  test::write_file(tmp / "lib.db", std::string(8192, '\x42'));
  const std::string db = " --db " + quote((tmp / "lib.db").string());
  for (const std::string& cmd : std::vector<std::string>{"info", "query anything", "ingest " + quote(tmp.path().string()) + model_arg()}) {
    const Result r = xsearch_run(cmd + db);
    INFO(cmd);
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::StartsWith("xsearch: " + (tmp / "lib.db").string()) && Catch::Contains("not a database"));
  }
  const Result missing = xsearch_run("query anything --db " + quote((tmp / "none.db").string()));
  CHECK(missing.status == 2);
  CHECK_THAT(missing.err, Catch::Contains("no library here yet"));
}

TEST_CASE("query with --like finds the clip itself first", "[cli][index]") {
  test::TempDir tmp;
  const auto videos = tmp / "videos";
  make_video(videos / "a.mp4", "testsrc2", 12);
  make_video(videos / "b.mp4", "mandelbrot", 12);
  const std::string db = " --db " + quote((tmp / "lib.db").string());
  run_json("ingest " + quote(videos.string()) + db + model_arg(), 0);
  const auto r = run_json("query --like " + quote((videos / "b.mp4").string() + "@5.5") + db + " -k 3", 0);
  const auto& top = r["results"][0];
  CHECK(top["path"] == (videos / "b.mp4").string());
  CHECK(top["start"].get<double>() <= 5.5);
  CHECK(top["end"].get<double>() > 5.5);
  CHECK(top["score"].get<double>() == Approx(1.0).margin(1e-4));
  CHECK(xsearch_run("query --like /nowhere.mp4@3" + db).status == 2);
}

TEST_CASE("query scores equal the reference's cosine, and --rerank its exact prompted logits", "[cli][index][model]") {
  // The fixture video as one clip (window longer than the video) holds exactly the classify fixture's
  // frames, so the scores can be checked against the reference's numbers for the label "eating spaghetti".
  test::TempDir tmp;
  const auto video = tmp / "videos" / "clip.mp4";
  fs::create_directories(video.parent_path());
  fs::copy_file(fixtures_dir() / "video" / "visible-640x360-h264.mp4", video);
  const std::string db = " --db " + quote((tmp / "lib.db").string());
  const auto s = run_json("ingest " + quote(video.parent_path().string()) + db + model_arg() + " --window 10 --store-prompts", 0);
  REQUIRE(s["clips"] == 1);
  const SafetensorsFile ref(fixtures_dir() / "xclip-tiny-full" / "visible-640x360-h264.classify.safetensors");
  const auto text = ref.read("text_embeds_raw").to_float();    // [3, 32]
  const auto video_e = ref.read("video_embeds_raw").to_float();  // [1, 32]
  const auto logits = ref.read("logits_per_video").to_float();   // [1, 3]
  double dot = 0, nt = 0, nv = 0;
  for (int d = 0; d < 32; ++d) {
    dot += text[32 + d] * video_e[d];
    nt += text[32 + d] * text[32 + d];
    nv += video_e[d] * video_e[d];
  }
  const double cosine = dot / std::sqrt(nt * nv);
  const auto plain = run_json("query 'eating spaghetti'" + db, 0);
  // Decoding and preprocessing reproduce the reference pixels to float rounding (test_video.cpp), and the
  // model is checked at 1e-4: 1e-3 on a cosine leaves room for both and still catches any real defect.
  CHECK(plain["results"][0]["score"].get<double>() == Approx(cosine).margin(1e-3));
  const auto reranked = run_json("query 'eating spaghetti' --rerank" + db, 0);
  CHECK(reranked["reranked"] == true);
  const SafetensorsFile weights(fixtures_dir() / "xclip-tiny-full" / "model.safetensors");
  const double scale = std::exp(weights.read("logit_scale").to_float()[0]);
  // Prompt tokens are stored in float16 (relative error 5e-4): the 0.01 on logits holds.
  CHECK(reranked["results"][0]["score"].get<double>() * scale == Approx(logits[1]).margin(0.01));
  // Without stored prompt tokens, --rerank says what to do.
  const auto db2 = " --db " + quote((tmp / "plain.db").string());
  run_json("ingest " + quote(video.parent_path().string()) + db2 + model_arg(), 0);
  const Result no_prompts = xsearch_run("query 'eating spaghetti' --rerank" + db2);
  CHECK(no_prompts.status == 2);
  CHECK_THAT(no_prompts.err, Catch::Contains("--store-prompts"));
}

TEST_CASE("ingest counts and names what it passes over: animated GIFs are videos, still ones are not", "[cli][index]") {
  test::TempDir tmp;
  const auto videos = tmp / "videos";
  make_video(videos / "a.mp4", "testsrc2", 4);
  test::ffmpeg("-f lavfi -i testsrc=size=160x120:rate=10 -t 5 " + quote((videos / "moving.gif").string()));
  test::ffmpeg("-f lavfi -i testsrc=size=160x120:rate=10 -frames:v 1 " + quote((videos / "still.gif").string()));
  test::ffmpeg("-f lavfi -i sine=sample_rate=8000 -t 2 " + quote((videos / "song.wav").string()));
  test::write_file(videos / "notes.txt", "not a video");
  test::write_file(videos / "broken.mp4", "this is not an mp4");
  const std::string db = " --db " + quote((tmp / "lib.db").string());
  const std::string ingest = "ingest " + quote(videos.string()) + db + model_arg();

  const Result first = xsearch_run(ingest + " --json");
  INFO(first.err);
  CHECK(first.status == 3);  // broken.mp4
  const auto s = nlohmann::json::parse(first.out);
  CHECK(s["indexed"] == 2);  // a.mp4 and the animated GIF
  CHECK(s["not_video"] == 3);
  std::set<std::string> passed;
  for (const auto& n : s["not_videos"]) passed.insert(fs::path(n["path"].get<std::string>()).filename().string());
  CHECK(passed == std::set<std::string>{"notes.txt", "song.wav", "still.gif"});
  // The still GIF looked like a video until decoded: it is named on stderr.
  CHECK_THAT(first.err, Catch::Contains("still.gif: ") && Catch::Contains("not a video"));
  const auto gif = run_json("query 'a test pattern' -k 10 --path moving.gif --no-thumbnails" + db, 0);
  CHECK(gif["results"].size() == 1);

  // Again: nothing changed. The broken file is not counted among the unchanged (searchable) videos; it is
  // named, counted and still makes the status 3.
  const Result again = xsearch_run(ingest);
  INFO(again.err);
  CHECK(again.status == 3);
  CHECK_THAT(again.err, Catch::Contains("broken.mp4: failed in an earlier run and unchanged since, not retried (not a readable video"));
  CHECK_THAT(again.out, Catch::Contains("2 unchanged") && Catch::Contains("1 failed before (unchanged, not retried)") &&
                            Catch::Contains("3 not videos (") && Catch::Contains("notes.txt"));
  const auto json = run_json(ingest, 3);
  CHECK(json["unchanged"] == 2);
  CHECK(json["failed"] == 0);
  CHECK(json["failed_unchanged"] == 1);
  CHECK(fs::path(json["failures_unchanged"][0]["path"].get<std::string>()).filename() == "broken.mp4");

  // info: the searchable videos, and the failed file apart from them.
  const Result info = xsearch_run("info" + db);
  CHECK_THAT(info.out, Catch::Contains("videos: 2 searchable; 1 more file failed to index"));

  // A library inside the walked folder: its database, index and thumbnails are not counted as not videos.
  const std::string inside = " --db " + quote((videos / "inside.db").string()) + model_arg();
  run_json("ingest " + quote(videos.string()) + inside, 3);
  REQUIRE(fs::exists(videos / "inside.db.thumbs"));
  CHECK(run_json("ingest " + quote(videos.string()) + inside, 3)["not_video"] == 3);
}

TEST_CASE("ingest of a root that is missing or not a video fails with 2, a bad root among good ones with 3", "[cli][index]") {
  test::TempDir tmp;
  make_video(tmp / "videos" / "a.mp4", "testsrc2", 4);
  test::write_file(tmp / "notes.txt", "not a video");
  test::ffmpeg("-f lavfi -i sine=sample_rate=8000 -t 2 " + quote((tmp / "song.wav").string()));
  const std::string db = " --db " + quote((tmp / "lib.db").string());
  // A mistyped path fails at once: no model is loaded, no library is made.
  const Result typo = xsearch_run("ingest " + quote((tmp / "vidoes").string()) + db + model_arg());
  CHECK(typo.status == 2);
  CHECK_THAT(typo.err, Catch::Contains((tmp / "vidoes").string() + ": no such file or folder (nothing to ingest)"));
  CHECK_FALSE(fs::exists(tmp / "lib.db"));
  for (const char* name : {"notes.txt", "song.wav"}) {
    const Result r = xsearch_run("ingest " + quote((tmp / name).string()) + db + model_arg() + " --json");
    INFO(name << ": " << r.err);
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains((tmp / name).string() + ": not a video") && Catch::Contains("nothing to ingest"));
    CHECK(nlohmann::json::parse(r.out)["not_video"] == 1);
  }
  const Result mixed = xsearch_run("ingest " + quote((tmp / "videos").string()) + " " + quote((tmp / "vidoes").string()) + db + model_arg());
  CHECK(mixed.status == 3);
  CHECK_THAT(mixed.err, Catch::Contains("vidoes: no such file or folder"));
}

TEST_CASE("a query longer than the model reads is searched with a warning naming what was cut", "[cli][index]") {
  test::TempDir tmp;
  make_video(tmp / "videos" / "a.mp4", "testsrc2", 4);
  const std::string db = " --db " + quote((tmp / "lib.db").string());
  run_json("ingest " + quote((tmp / "videos").string()) + db + model_arg(), 0);
  std::string words;
  for (int i = 0; i < 90; ++i) words += "dog ";
  words += "zebra";
  const Result r = xsearch_run("query " + quote(words) + " --json --no-thumbnails" + db);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["truncated"] == true);
  CHECK(j["query_tokens"] == 93);  // 91 words, one token each, with the start and end tokens
  CHECK_THAT(r.err, Catch::Contains("warning: the query is 93 tokens long and the model reads 77: searched without \"dog dog") &&
                        Catch::Contains("zebra\""));
  const auto short_query = run_json("query dog --no-thumbnails" + db, 0);
  CHECK(short_query["truncated"] == false);
  CHECK(short_query["query_tokens"] == 3);

  // model list names the library's model when it is a folder, even with an empty hub cache (it used to
  // print nothing and exit 1).
  test::TempDir hf;
  ::setenv("HF_HOME", hf.path().c_str(), 1);
  const Result empty_cache = xsearch_run("model list --db " + quote((tmp / "none.db").string()));
  const Result listed = xsearch_run("model list" + db);
  const Result listed_json = xsearch_run("model list --json" + db);
  ::unsetenv("HF_HOME");
  CHECK(empty_cache.status == 1);
  CHECK_THAT(empty_cache.err, Catch::Contains("no models in " + (hf.path() / "hub").string()));
  INFO(listed.err);
  CHECK(listed.status == 0);
  const std::string folder = (fixtures_dir() / "xclip-tiny-full").string();
  CHECK_THAT(listed.out, Catch::StartsWith(folder + "  ready") && Catch::Contains("(the library's model, a folder)"));
  const auto models = nlohmann::json::parse(listed_json.out);
  REQUIRE(models.size() == 1);
  CHECK(models[0]["library"] == true);
  CHECK(models[0]["folder"] == true);
  CHECK(models[0]["complete"] == true);
}

TEST_CASE("dev embeddings prints every stored clip's embedding, in export order", "[cli][index]") {
  test::TempDir tmp;
  const auto videos = tmp / "videos";
  make_video(videos / "a.mp4", "testsrc2", 9);
  make_video(videos / "b.mp4", "smptebars", 5);
  const std::string db = " --db " + quote((tmp / "lib.db").string());
  run_json("ingest " + quote(videos.string()) + db + model_arg(), 0);
  const auto exported = run_json("export" + db, 0)["clips"];
  const Result r = xsearch_run("dev embeddings" + db);
  INFO(r.err);
  REQUIRE(r.status == 0);
  std::vector<nlohmann::json> lines;
  std::istringstream out(r.out);
  for (std::string line; std::getline(out, line);) lines.push_back(nlohmann::json::parse(line));
  REQUIRE(lines.size() == exported.size());
  REQUIRE(lines.size() >= 2);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    CHECK(lines[i]["path"] == exported[i]["path"]);
    CHECK(lines[i]["start"] == exported[i]["start"]);
    CHECK(lines[i]["end"] == exported[i]["end"]);
    const auto e = lines[i]["embedding"].get<std::vector<float>>();
    CHECK(e.size() == 32);  // the tiny model's projection_dim
    double norm = 0;
    for (float x : e) norm += double(x) * x;
    CHECK(std::sqrt(norm) == Approx(1.0).margin(1e-5));  // stored normalised
  }
  // Clips of different content differ.
  CHECK(lines.front()["embedding"] != lines.back()["embedding"]);
}

TEST_CASE("a first ingest with nothing to embed leaves the library without a model, so a broken download never becomes its model", "[cli][index]") {
  test::TempDir tmp;
  fs::create_directories(tmp / "empty");
  // The tiny model with its weights cut short (a download that stopped): config.json still reads.
  test::TempDir broken;
  fs::copy(fixtures_dir() / "xclip-tiny-full", broken.path(), fs::copy_options::recursive);
  fs::resize_file(broken / "model.safetensors", fs::file_size(broken / "model.safetensors") / 2);
  const std::string db = " --db " + quote((tmp / "lib.db").string());
  const auto nothing = run_json("ingest " + quote((tmp / "empty").string()) + db + " --model " + quote(broken.path().string()), 0);
  CHECK(nothing["indexed"] == 0);
  CHECK(nothing["device"] == "");  // never loaded
  CHECK(sqlite_value(tmp / "lib.db", "SELECT count(*) FROM meta WHERE key = 'model_fingerprint'") == "0");
  // With a video to embed, the broken model fails to load, by name, and is not recorded either.
  make_video(tmp / "videos" / "a.mp4", "testsrc2", 4);
  const Result failed = xsearch_run("ingest " + quote((tmp / "videos").string()) + db + " --model " + quote(broken.path().string()));
  CHECK(failed.status == 2);
  CHECK_THAT(failed.err, Catch::Contains("model.safetensors"));
  CHECK(sqlite_value(tmp / "lib.db", "SELECT count(*) FROM meta WHERE key = 'model_fingerprint'") == "0");
  // The good model then becomes the library's.
  CHECK(run_json("ingest " + quote((tmp / "videos").string()) + db + model_arg(), 0)["indexed"] == 1);
  CHECK(sqlite_value(tmp / "lib.db", "SELECT count(*) FROM meta WHERE key = 'model_fingerprint'") == "1");
}

// The HTTP side of `xsearch serve`: cpp-httplib routes over a read-only library. Safe by default: one
// loopback address, a Host check against DNS rebinding, files reached by id only (README: "Search page").
#include "serve/server.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <memory>
#include <random>

#include <nlohmann/json.hpp>

#include "media/rendition.hpp"
#include "media/thumbnail.hpp"
#include "media/video_file.hpp"
#include "serve/api.hpp"
#include "serve/example_route.hpp"
#include "serve/guarded_server.hpp"
#include "xsearch/error.hpp"
#include "xsearch/media_cache.hpp"

namespace xsearch::serve {

namespace {

using json = nlohmann::ordered_json;

httplib::Server* running = nullptr;

void stop_on_signal(int sig) {
  std::signal(sig, SIG_DFL);  // a second Ctrl-C ends the process even while a rendition is being made
  if (running) running->stop();
}

// "HOST:PORT" -> whether HOST is an IPv4 or [IPv6] literal and PORT is `port`. DNS rebinding needs a host
// name, so an address literal is safe to accept: it lets a server bound to 0.0.0.0 or a LAN address be
// reached by that address.
bool ip_literal_with_port(const std::string& host, int port) {
  const std::string suffix = ":" + std::to_string(port);
  if (host.size() <= suffix.size() || host.compare(host.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  std::string name = host.substr(0, host.size() - suffix.size());
  unsigned char buf[sizeof(struct in6_addr)];
  if (name.size() > 2 && name.front() == '[' && name.back() == ']')
    return ::inet_pton(AF_INET6, name.substr(1, name.size() - 2).c_str(), buf) == 1;
  return ::inet_pton(AF_INET, name.c_str(), buf) == 1;
}

// A request that a page of another site made (its Sec-Fetch-Site says so): refused, except a plain
// navigation to the search page (a link to it). Browsers send the header on every request.
bool from_another_site(const httplib::Request& req) {
  const std::string site = req.get_header_value("Sec-Fetch-Site");
  if (site != "cross-site" && site != "same-site") return false;
  return !(req.get_header_value("Sec-Fetch-Mode") == "navigate" && req.path == "/");
}

void send_json(httplib::Response& res, const json& j, int status = 200) {
  res.status = status;
  res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json; charset=utf-8");
}

void send_error(httplib::Response& res, int status, const std::string& message) { send_json(res, {{"error", message}}, status); }

std::string video_type(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".mp4" || ext == ".m4v") return "video/mp4";
  if (ext == ".webm") return "video/webm";
  if (ext == ".mkv") return "video/x-matroska";
  if (ext == ".mov") return "video/quicktime";
  if (ext == ".ogv") return "video/ogg";
  if (ext == ".avi") return "video/x-msvideo";
  if (ext == ".ts" || ext == ".m2ts") return "video/mp2t";
  return "application/octet-stream";
}

// A positive id from a route's (\d+) capture `n`; -1 when it overflows.
int64_t id_of(const httplib::Request& req, std::size_t n = 1) {
  try {
    return std::stoll(req.matches[n]);
  } catch (...) {
    return -1;
  }
}

// A file answered in blocks from the descriptor that passed media::open_video_file's checks (never the
// name again, which could be swapped meanwhile): httplib applies Range (206 with those bytes), and only
// the requested range is read.
void send_file(httplib::Response& res, media::VideoFile opened, const std::string& type) {
  auto file = std::make_shared<media::VideoFile>(std::move(opened));
  res.set_header("Accept-Ranges", "bytes");
  res.set_content_provider(static_cast<size_t>(file->size()), type, [file](size_t offset, size_t length, httplib::DataSink& sink) {
    char buf[64 * 1024];
    const ssize_t got = ::pread(file->fd(), buf, std::min(length, sizeof buf), static_cast<off_t>(offset));
    if (got <= 0) return false;
    return sink.write(buf, static_cast<size_t>(got));
  });
}

// A request's parameter out of bounds: answered 400 with the message.
struct BadParameter : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A whole number, all of the parameter's text ("1e3" or "5x" is refused, not read as 1 or 5).
int64_t integer_param(const httplib::Request& req, const std::string& name) {
  const std::string v = req.get_param_value(name);
  std::size_t used = 0;
  int64_t n = 0;
  try {
    n = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (v.empty() || used != v.size()) throw BadParameter(name + ": expected a whole number, got \"" + v.substr(0, 40) + "\"");
  return n;
}

// A finite number, all of the parameter's text (nan and inf would compare false with every score).
double number_param(const httplib::Request& req, const std::string& name) {
  const std::string v = req.get_param_value(name);
  std::size_t used = 0;
  double x = 0;
  try {
    x = std::stod(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (v.empty() || used != v.size() || !std::isfinite(x)) throw BadParameter(name + ": expected a finite number, got \"" + v.substr(0, 40) + "\"");
  return x;
}

QueryOptions query_params(const httplib::Request& req) {
  QueryOptions q;
  if (req.has_param("k")) {
    const int64_t k = integer_param(req, "k");
    q.k = k < 0 || k > 1000 ? 0 : static_cast<int>(k);  // out of range: refused below
  }
  if (req.has_param("min_score") && !req.get_param_value("min_score").empty()) q.min_score = number_param(req, "min_score");
  if (req.has_param("path")) q.path_glob = req.get_param_value("path");
  // As the CLI's --group: one hit per video (k counts videos), each with its best moments.
  if (const std::string g = req.get_param_value("group"); g == "video") q.group_by_video = true;
  else if (!g.empty() && g != "segment") throw BadParameter("group: segment or video, got \"" + g.substr(0, 40) + "\"");
  if (q.k <= 0 || q.k > 1000) throw BadParameter("k must be between 1 and 1000");
  // fnmatch backtracks: its time grows as the path length to the power of the number of '*', so a
  // request could hold the query lock for hours. Four stars and 256 characters cover real filters.
  if (q.path_glob.size() > 256 || std::count(q.path_glob.begin(), q.path_glob.end(), '*') > 4)
    throw BadParameter("path: at most 256 characters and 4 '*'");
  return q;
}

bool is_drop(const httplib::Request& req) { return req.method == "POST" && req.path == "/api/example"; }

// A drop's parameters as a query (q, weight, k, ...) and the time `t` of a video; BadParameter when one
// is out of bounds.
std::pair<QueryOptions, double> drop_query(const httplib::Request& req) {
  QueryOptions q = query_params(req);
  q.text = req.get_param_value("q");
  if (req.has_param("weight")) q.weight = number_param(req, "weight");
  if (!(q.weight >= 0 && q.weight <= 1)) throw BadParameter("weight must be between 0 and 1");
  const double t = req.has_param("t") ? number_param(req, "t") : 0;
  if (t < 0) throw BadParameter("t: a time in seconds, 0 or more");
  return {q, t};
}

struct DropRefusal {
  int status = 0;  // 0: none
  std::string message;
  bool busy = false;  // answered with Retry-After
};

DropRefusal drop_busy() {
  return {503, "another dropped file is being searched with: drop this one again in a moment", true};
}

// A drop's own checks before its body is read: its parameters, a model helper, the private folder, a free
// slot. Run by its route, and before "100 Continue" (run_server).
DropRefusal drop_refusal(const httplib::Request& req, const Api& api, const UploadFolder* uploads, const std::string& no_uploads,
                         const ExampleSlots& slots) {
  try {
    drop_query(req);
  } catch (const BadParameter& e) {
    return {400, e.what()};
  }
  if (!api.options().embedder) return {501, "this server cannot embed examples (no model helper)"};
  if (!uploads) return {503, "dropped files cannot be stored: " + no_uploads};
  if (slots.full()) return drop_busy();
  return {};
}

void send_refusal(httplib::Response& res, const DropRefusal& r) {
  if (r.busy) res.set_header("Retry-After", kExampleRetrySeconds);
  send_error(res, r.status, r.message);
}

void add_routes(httplib::Server& svr, const std::shared_ptr<Api>& api, const std::shared_ptr<UploadFolder>& uploads,
                const std::string& no_uploads, const std::shared_ptr<ExampleSlots>& slots) {
  auto guarded = [](auto handler) {
    return [handler](const httplib::Request& req, httplib::Response& res) {
      try {
        handler(req, res);
      } catch (const BadParameter& e) {
        send_error(res, 400, e.what());
      } catch (const media::VideoFileError& e) {
        send_error(res, 404, e.what());
      } catch (const std::invalid_argument&) {
        send_error(res, 400, "bad parameter");
      } catch (const std::out_of_range&) {
        send_error(res, 400, "bad parameter");
      } catch (const std::exception& e) {
        send_error(res, 500, e.what());
      }
    };
  };
  svr.Get("/api/info", guarded([api](const httplib::Request&, httplib::Response& res) { send_json(res, api->info()); }));
  // The start page: the newest videos and a random sample of clips (n: 1 to 48; seed: any whole number).
  auto count_param = [](const httplib::Request& req) {
    const int64_t n = req.has_param("n") ? integer_param(req, "n") : 12;
    if (n < 1 || n > 48) throw BadParameter("n must be between 1 and 48");
    return static_cast<int>(n);
  };
  svr.Get("/api/recent", guarded([api, count_param](const httplib::Request& req, httplib::Response& res) {
            send_json(res, {{"results", api->recent(count_param(req))}});
          }));
  svr.Get("/api/sample", guarded([api, count_param](const httplib::Request& req, httplib::Response& res) {
            const int n = count_param(req);
            // Echoed, so that the page can keep its sample across reloads (a 32-bit draw stays exact in JS).
            const int64_t seed = req.has_param("seed") ? integer_param(req, "seed") : static_cast<int64_t>(std::random_device{}());
            send_json(res, {{"seed", seed}, {"results", api->sample(n, static_cast<uint64_t>(seed))}});
          }));
  svr.Get("/api/query", guarded([api](const httplib::Request& req, httplib::Response& res) {
            QueryOptions q = query_params(req);
            q.text = req.get_param_value("q");
            if (q.text.empty()) return send_error(res, 400, "q: give a text to search for");
            send_json(res, api->run(q));
          }));
  svr.Get("/api/like", guarded([api](const httplib::Request& req, httplib::Response& res) {
            QueryOptions q = query_params(req);
            const auto c = api->clip(req.has_param("clip") ? integer_param(req, "clip") : -1);
            if (!c) return send_error(res, 404, "no such clip");
            // The clip's middle picks exactly that clip in query()'s PATH@SECONDS lookup.
            char seconds[64];
            std::snprintf(seconds, sizeof seconds, "%.6f", (c->start + c->end) / 2);
            q.like = c->path + "@" + seconds;
            q.text = req.get_param_value("q");  // optional: a text combined with the clip (README: "Combining")
            if (req.has_param("weight")) q.weight = number_param(req, "weight");  // the clip's share with a text
            if (!(q.weight >= 0 && q.weight <= 1)) throw BadParameter("weight must be between 0 and 1");
            send_json(res, api->run(q));
          }));
  // A dropped image or video (the pre-routing handler checked its length and type): searched with as
  // `query --image` or `--video FILE@t` would, optionally with the text q weighed as /api/like weighs it.
  svr.Post("/api/example", [api, uploads, no_uploads, slots, guarded](const httplib::Request& req, httplib::Response& res,
                                                                      const httplib::ContentReader& reader) {
    // Whatever the answer, the connection ends with it: a refusal leaves the body unread.
    GuardedServer::close_after_reply(res);
    guarded([&](const httplib::Request&, httplib::Response&) {
      if (const DropRefusal r = drop_refusal(req, *api, uploads.get(), no_uploads, *slots); r.status != 0) return send_refusal(res, r);
      auto [q, t] = drop_query(req);
      const std::string name = shown_example_name(req.get_param_value("name"));
      const ReceivedExample upload(*uploads, reader);
      if (upload.too_slow()) return send_error(res, 408, "the file came too slowly (under 16 KiB/s): drop it again");
      if (upload.kind() == MediaKind::none)
        throw BadParameter(name + ": not an image or a video this server reads (" + kKnownMediaFormats + ")");
      char at[64];
      std::snprintf(at, sizeof at, "@%.6f", t);
      (upload.kind() == MediaKind::image ? q.image : q.video) = upload.file().string() + (upload.kind() == MediaKind::image ? "" : at);
      q.embedder = api->options().embedder;
      // Another drop may have taken the model since the check before the body.
      const ExampleSlots::Slot slot = slots->take();
      if (!slot) return send_refusal(res, drop_busy());
      json j;
      try {
        j = api->run(q);
      } catch (const ExampleTimedOut& e) {
        return send_error(res, 504, name + ": " + e.what());
      } catch (const Error& e) {
        // The helper's message names the private file: the user knows the file by its name.
        std::string why = e.what();
        for (std::size_t at_ = why.find(upload.file().string()); at_ != std::string::npos; at_ = why.find(upload.file().string()))
          why.replace(at_, upload.file().string().size(), name);
        throw BadParameter(why);
      }
      if (q.text.empty()) j["query"] = name;
      j["example"]["path"] = name;
      j["example"]["uploaded"] = true;
      send_json(res, j);
    })(req, res);
  });
  svr.Get(R"(/api/thumbnails/(\d+))", guarded([api](const httplib::Request& req, httplib::Response& res) {
            const auto c = api->clip(id_of(req));
            if (!c) return send_error(res, 404, "no such clip");
            const media::Thumbnail t = media::clip_thumbnail(api->library(), *c);
            res.set_header("Cache-Control", "private, max-age=86400");
            res.set_content(t.jpeg, "image/jpeg");
          }));
  svr.Get(R"(/api/videos/(\d+))", guarded([api](const httplib::Request& req, httplib::Response& res) {
            const auto v = api->video(id_of(req));
            if (!v) return send_error(res, 404, "no such video");
            // Before anything reads it: a FIFO, a device or a symlink to another file is refused (404).
            media::VideoFile file = media::open_video_file(v->path, media::IndexedFile{v->size, v->mtime_ns});
            const media::Playability p = api->playability(v->path);
            send_file(res, std::move(file), p.playable ? p.mime : video_type(v->path));
          }));
  // A segment of a video the browser cannot play, re-encoded (media/rendition.hpp); clips first-last.
  svr.Get(R"(/api/renditions/(\d+)-(\d+))", guarded([api](const httplib::Request& req, httplib::Response& res) {
            const auto first = api->clip(id_of(req, 1));
            const auto last = api->clip(id_of(req, 2));
            if (!first || !last) return send_error(res, 404, "no such clip");
            if (first->video_id != last->video_id || !(first->start < last->end))
              return send_error(res, 400, "the clips are not one segment of one video");
            // A symlink put in the video's place must not be re-encoded and served either (a missing file
            // may still have its rendition cached).
            std::error_code ec;
            const auto v = api->video(first->video_id);
            if (v && std::filesystem::symlink_status(v->path, ec).type() != std::filesystem::file_type::not_found)
              media::require_video_file(v->path, media::IndexedFile{v->size, v->mtime_ns});
            const media::Rendition r = media::segment_rendition(api->library(), *first, *last);
            res.set_header("Cache-Control", "private, max-age=86400");
            send_file(res, media::open_video_file(r.file), r.mime);
          }));
  // "Keep watching": the rendition after the rendition of clips FIRST-LAST ({} at the video's end).
  svr.Get(R"(/api/more/(\d+)-(\d+))", guarded([api](const httplib::Request& req, httplib::Response& res) {
            const auto first = api->clip(id_of(req, 1));
            const auto last = api->clip(id_of(req, 2));
            if (!first || !last) return send_error(res, 404, "no such clip");
            if (first->video_id != last->video_id || !(first->start < last->end))
              return send_error(res, 400, "the clips are not one segment of one video");
            send_json(res, api->more(*first, *last));
          }));
  auto page = [](const std::string& name) {
    return [name](const httplib::Request&, httplib::Response& res) {
      const WebAsset* a = find_web_asset(name);
      if (!a) return send_error(res, 404, "not found");
      res.set_content(reinterpret_cast<const char*>(a->data), a->size, a->content_type);
    };
  };
  svr.Get("/", page("index.html"));
  svr.Get("/app.js", page("app.js"));
  svr.Get("/drop.js", page("drop.js"));
  svr.Get("/style.css", page("style.css"));
}

}  // namespace

void run_server(const ServeOptions& options, const std::function<void(const std::string&)>& on_listening) {
  auto api = std::make_shared<Api>(options);
  const auto model = api->library().model();  // fails now, clearly, on a missing or damaged library
  (void)model;
  // Thumbnails and renditions a killed serve (of this host) was writing: its temporary files would stay
  // for good otherwise. Only provably dead writers' files go (xsearch/media_cache.hpp).
  remove_dead_temp_files(api->library().media_base());
  // Drops are written to a private folder; a killed serve's are removed here (serve/upload_folder.hpp).
  // A folder that cannot be made private (another user made it first on a shared /tmp) costs the drops
  // only: searches still work, and a drop says why it is refused (503).
  std::shared_ptr<UploadFolder> uploads;
  std::string no_uploads;
  try {
    uploads = std::make_shared<UploadFolder>(options.temp_root);
  } catch (const Error& e) {
    no_uploads = e.what();
  }
  GuardedServer svr(ConnectionLimits::from_environment());
  // Only a drop takes a request body (the pre-routing handler refuses any other unread, and a drop over
  // kMaxExampleBytes); it is streamed to a file, never held whole.
  svr.set_payload_max_length(static_cast<std::size_t>(kMaxExampleBytes));
  // httplib sets SO_REUSEPORT, with which a second server of this user binds a port already served and
  // the kernel splits the connections between the two: a taken port must fail, so that the next is tried.
  svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  int port = -1;
  if (options.port == 0) port = svr.bind_to_any_port(options.host);
  for (int i = 0; options.port > 0 && port < 0 && i < std::max(1, options.port_tries) && options.port + i <= 65535; ++i)
    if (svr.bind_to_port(options.host, options.port + i)) port = options.port + i;
  if (port <= 0) {
    const int last = std::min(65535, options.port + std::max(1, options.port_tries) - 1);
    throw Error("serve: cannot listen on " + options.host + ":" + std::to_string(options.port) +
                (last > options.port ? "-" + std::to_string(last) : "") + " (taken, or not an address of this machine; --port 0 takes a free one)");
  }
  const bool v6 = options.host.find(':') != std::string::npos;
  const std::string host_port = (v6 ? "[" + options.host + "]" : options.host) + ":" + std::to_string(port);
  const std::vector<std::string> allowed = {host_port, "localhost:" + std::to_string(port), "127.0.0.1:" + std::to_string(port),
                                            "[::1]:" + std::to_string(port)};
  // DNS rebinding: a page from another site that resolves its own name to us carries its name in Host.
  // Paths: no file is ever named by a URL, and a `..` is refused before routing all the same.
  auto before_body = [allowed, port](const httplib::Request& req, httplib::Response& res) {
    // Nothing we serve may be framed, sniffed into another type, or read by another site's page.
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Cross-Origin-Resource-Policy", "same-origin");
    res.set_header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    // Only GET and HEAD are served, and never with a body, except a dropped example (POST /api/example):
    // refused before a byte of it is read, and the connection closed (its unread body cannot be taken for
    // the next request).
    const bool drop = is_drop(req);
    const bool body = req.has_header("Transfer-Encoding") || (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0");
    auto refuse = [&](int status, const std::string& message) {
      if (body || drop) GuardedServer::close_after_reply(res);
      send_error(res, status, message);
      return httplib::Server::HandlerResponse::Handled;
    };
    if (body && !drop) return refuse(413, "request bodies are not accepted");
    if (req.method != "GET" && req.method != "HEAD" && !drop) {
      res.set_header("Allow", "GET, HEAD");
      return refuse(405, req.method + " is not served (GET only; POST /api/example for a dropped file)");
    }
    const std::string host = req.get_header_value("Host");
    const bool host_ok = std::find(allowed.begin(), allowed.end(), host) != allowed.end() || ip_literal_with_port(host, port);
    if (!host_ok) return refuse(403, "Host \"" + host + "\" is not the address this server serves");
    // A POST also says where its page came from (browsers always send Origin with one): the page itself only.
    const std::string origin = req.get_header_value("Origin");
    if (from_another_site(req) || (drop && !origin.empty() && origin != "http://" + host))
      return refuse(403, "requests from another site's page are refused");
    if (drop) {
      if (const auto [status, why] = example_refusal(req); status != 0) return refuse(status, why);
    }
    // The path, decoded or not; the query string may hold ".." ("wait...").
    const std::string raw_path = req.target.substr(0, req.target.find('?'));
    if (req.path.find("..") != std::string::npos || raw_path.find("..") != std::string::npos) {
      send_error(res, 403, "paths with .. are refused");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  };
  svr.set_pre_routing_handler(before_body);
  auto slots = std::make_shared<ExampleSlots>();
  // httplib answers "Expect: 100-continue" (curl sends it with a large file) before routing: told to
  // continue, the client sends the whole body even when the answer is a refusal. The checks that refuse a
  // request before its body run here first, and a refusal is the answer instead of "100 Continue".
  svr.set_expect_100_continue_handler([before_body, api, uploads, no_uploads, slots](const httplib::Request& req, httplib::Response& res) {
    httplib::Response refusal;  // when the request goes on, routing runs before_body again on `res`
    if (before_body(req, refusal) == httplib::Server::HandlerResponse::Unhandled) {
      if (!is_drop(req)) return 100;
      const DropRefusal r = drop_refusal(req, *api, uploads.get(), no_uploads, *slots);
      if (r.status == 0) return 100;
      GuardedServer::close_after_reply(refusal);
      send_refusal(refusal, r);
    }
    res = std::move(refusal);
    return res.status;
  });
  svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) send_error(res, res.status, res.status == 404 ? "not found" : "error");
  });
  add_routes(svr, api, uploads, no_uploads, slots);
  running = &svr;
  std::signal(SIGINT, stop_on_signal);
  std::signal(SIGTERM, stop_on_signal);
  on_listening("http://" + host_port + "/");
  svr.listen_after_bind();
  running = nullptr;
}

}  // namespace xsearch::serve

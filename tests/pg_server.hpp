// A real PostgreSQL server for the tests: Debian's server binaries (the postgresql package), a fresh cluster
// in a temporary folder under /tmp, reachable through a Unix socket only (no TCP port is opened), stopped and
// removed afterwards. One server serves the whole test binary (started by the first test that asks, stopped
// at exit); each test gets its own empty database.
//
//   const std::string conninfo = xsearch::test::pg_test_database();  // "host=/tmp/... port=... dbname=test_1 user=postgres"
//
// PostgreSQL refuses to run as root, and CI runs the tests as root: then initdb and pg_ctl run as the
// `postgres` user (created by the package) through runuser, in a folder chowned to that user. Missing
// binaries fail the test (CI installs them): a PostgreSQL test must never pass without a server.
#pragma once

#include <fcntl.h>
#include <glob.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "catch_compat.hpp"

namespace xsearch::test {

class PgServer {
 public:
  // The server of this test binary, started on first use. A start that fails fails the calling test (and
  // the next caller tries again).
  static PgServer& shared() {
    static PgServer server;
    return server;
  }

  // Starts a server of its own; FAILs the current test when it cannot.
  PgServer() {
    const std::string error = start();
    if (!error.empty()) {
      stop();
      FAIL(error);
    }
  }
  ~PgServer() { stop(); }
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // A new empty database (test_1, test_2, ...) owned by the superuser: its conninfo.
  std::string create_database() {
    const std::string name = "test_" + std::to_string(++databases_);
    PGconn* conn = PQconnectdb(conninfo("postgres").c_str());
    PGresult* r = PQstatus(conn) == CONNECTION_OK ? PQexec(conn, ("CREATE DATABASE " + name).c_str()) : nullptr;
    const bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    const std::string why = r ? PQresultErrorMessage(r) : PQerrorMessage(conn);
    PQclear(r);
    PQfinish(conn);
    if (!ok) FAIL("test PostgreSQL server: cannot create database " << name << ": " << why);
    return conninfo(name);
  }
  std::string conninfo(const std::string& dbname) const {
    return "host=" + dir_ + " port=" + std::to_string(port_) + " dbname=" + dbname + " user=postgres";
  }
  const std::string& socket_dir() const { return dir_; }
  int port() const { return port_; }

  // Replaces this server by a new cluster under the same socket folder and port, as a re-initdb does: the
  // old one is stopped and its data removed, initdb runs again (a new system identifier) and the new one
  // starts with no database of the tests yet. FAILs the current test when it cannot.
  void reinitialise() {
    const std::string log = dir_ + "/commands.log";
    if (run({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-m", "immediate", "-w", "stop"}, log) != 0) FAIL("pg_ctl stop failed:\n" << log_tail(log));
    std::error_code ec;
    std::filesystem::remove_all(dir_ + "/data", ec);
    const std::string error = ec ? "cannot remove " + dir_ + "/data: " + ec.message() : init_and_start();
    if (!error.empty()) FAIL(error);
    databases_ = 0;
  }

 private:
  // Debian's newest installed server (or $XSEARCH_PG_BIN): the folder holding initdb and pg_ctl.
  static std::string find_bin() {
    if (const char* env = std::getenv("XSEARCH_PG_BIN")) return env;
    glob_t g{};
    std::vector<std::string> found;
    if (glob("/usr/lib/postgresql/*/bin/pg_ctl", 0, nullptr, &g) == 0)
      for (std::size_t i = 0; i < g.gl_pathc; ++i) found.push_back(std::filesystem::path(g.gl_pathv[i]).parent_path());
    globfree(&g);
    auto version = [](const std::string& bin) { return std::atof(std::filesystem::path(bin).parent_path().filename().c_str()); };
    std::sort(found.begin(), found.end(), [&](const std::string& a, const std::string& b) { return version(a) < version(b); });
    return found.empty() ? std::string() : found.back();
  }

  // A port no one listens on. The server opens no TCP socket: the number only names the Unix socket file.
  static int free_port() {
    int port = 40000 + static_cast<int>(::getpid() % 20000);
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (s >= 0 && ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
    if (s >= 0) ::close(s);
    return port;
  }

  // Closes every descriptor above stderr in a child, so that the server inherits none of the test's.
  static void close_inherited() {
#ifdef SYS_close_range
    if (::syscall(SYS_close_range, 3u, ~0u, 0u) == 0) return;
#endif
    for (int fd = 3; fd < 1024; ++fd) ::close(fd);
  }

  // Runs argv (as the server user when we are root) in the server folder, output appended to log; the exit
  // status, or -1.
  int run(std::vector<std::string> argv, const std::string& log) const {
    if (as_postgres_) argv.insert(argv.begin(), {runuser_, "-u", "postgres", "--"});
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const pid_t pid = ::fork();
    if (pid == 0) {  // only async-signal-safe calls until exec
      const int in = ::open("/dev/null", O_RDONLY);
      if (in < 0 || out < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0 || ::chdir(dir_.c_str()) != 0) ::_exit(127);
      close_inherited();
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    if (out >= 0) ::close(out);
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string log_tail(const std::string& file) const {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    const std::string text = s.str();
    return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
  }

  std::string start() {
    bin_ = find_bin();
    if (bin_.empty() || ::access((bin_ + "/initdb").c_str(), X_OK) != 0)
      return "PostgreSQL's server binaries (/usr/lib/postgresql/*/bin/initdb, pg_ctl) are not installed: the [postgres] "
             "tests need a real server (install the postgresql package: scripts/setup.sh)";
    as_postgres_ = ::geteuid() == 0;
    const passwd* pw = as_postgres_ ? ::getpwnam("postgres") : nullptr;
    if (as_postgres_ && !pw) return "running as root, but there is no `postgres` user to run the test server as (install the postgresql package)";
    for (const char* r : {"/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"})
      if (runuser_.empty() && ::access(r, X_OK) == 0) runuser_ = r;
    if (as_postgres_ && runuser_.empty()) return "running as root, but runuser (util-linux) is missing to run the test server as `postgres`";
    // /tmp, not $TMPDIR: the server user must reach it, and a Unix socket path may not exceed 107 bytes.
    char tmpl[] = "/tmp/xsearch-pg-XXXXXX";
    if (!::mkdtemp(tmpl)) return std::string("cannot create a folder under /tmp for the test server: ") + std::strerror(errno);
    dir_ = tmpl;
    if (pw && ::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) return "cannot hand " + dir_ + " to the postgres user: " + std::strerror(errno);
    port_ = free_port();
    start_watchdog();
    return init_and_start();
  }

  // initdb in the server folder, then the server started on it: "" or why not.
  std::string init_and_start() {
    const std::string log = dir_ + "/commands.log";
    // Trust for local connections: the socket folder is private to the server user (and root).
    if (run({bin_ + "/initdb", "-D", dir_ + "/data", "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"}, log) != 0)
      return "initdb failed for the test server in " + dir_ + ":\n" + log_tail(log);
    // Durability is worthless here: fsync off keeps CREATE DATABASE and commits fast.
    const std::string options = "-k " + dir_ + " -c listen_addresses='' -p " + std::to_string(port_) +
                                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=30";
    if (run({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-l", dir_ + "/server.log", "-o", options, "-w", "-t", "60", "start"}, log) != 0)
      return "the test server did not start (pg_ctl start):\n" + log_tail(log) + "\nserver.log:\n" + log_tail(dir_ + "/server.log");
    return "";
  }

  // If this process dies without running its destructors (a crash, a kill on timeout), a detached
  // watchdog stops the server and removes the folder: it waits for the end of a pipe whose writing end
  // only this process holds (close-on-exec). Detached twice over so that killing this process's tree
  // spares it. After a normal stop() the folder is gone and it just exits.
  void start_watchdog() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    std::vector<std::string> argv = {"/bin/sh", "-c",
                                     "dir=$1; shift; read -r _; [ -d \"$dir\" ] || exit 0; \"$@\" >/dev/null 2>&1; rm -rf \"$dir\"",
                                     "xsearch-pg-watchdog", dir_};
    if (as_postgres_) argv.insert(argv.end(), {runuser_, "-u", "postgres", "--"});
    argv.insert(argv.end(), {bin_ + "/pg_ctl", "-D", dir_ + "/data", "-m", "immediate", "stop"});
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setsid();
      if (::fork() != 0) ::_exit(0);
      if (::dup2(fds[0], 0) < 0 || ::chdir("/") != 0) ::_exit(127);
      close_inherited();
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[0]);
    if (pid > 0) ::waitpid(pid, nullptr, 0);
    watchdog_fd_ = fds[1];
  }

  void stop() {
    // Also after a start that failed half-way: a postmaster.pid means a server may be running.
    std::error_code ec;
    if (!dir_.empty() && std::filesystem::exists(dir_ + "/data/postmaster.pid", ec)) run({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-m", "immediate", "-w", "stop"}, dir_ + "/commands.log");
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
    if (watchdog_fd_ >= 0) ::close(watchdog_fd_);
    watchdog_fd_ = -1;
  }

  std::string bin_, runuser_, dir_;
  bool as_postgres_ = false;
  int port_ = 0, databases_ = 0, watchdog_fd_ = -1;
};

// A fresh database on the test binary's server: its conninfo.
inline std::string pg_test_database() { return PgServer::shared().create_database(); }

}  // namespace xsearch::test

// The test support library itself: child processes, free ports, RSS, temp dirs and certificates,
// since other tests trust these helpers to tell the truth.

#include <catch2/catch.hpp>
#include <signal.h>

#include <filesystem>

#include "support/process.h"
#include "support/temp_dir.h"
#include "support/tls_certs.h"

using namespace std::chrono_literals;
namespace pt = podgate::test;

TEST_CASE("support: Process captures output and the exit code", "[support]") {
  pt::Process child({"/bin/sh", "-c", "echo out; echo err >&2; echo \"$PODGATE_TEST_VAR\"; exit 3"},
                    {"PODGATE_TEST_VAR=from-env"});
  auto code = child.wait_for(10s);
  REQUIRE(code.has_value());
  CHECK(*code == 3);
  CHECK(child.stdout_text() == "out\nfrom-env\n");
  CHECK(child.stderr_text() == "err\n");
  CHECK_FALSE(child.running());
}

TEST_CASE("support: Process signals, waits with a timeout and kills on destruction", "[support]") {
  pid_t pid = 0;
  {
    pt::Process sleeper({"/bin/sh", "-c", "echo ready >&2; exec sleep 30"});
    pid = sleeper.pid();
    CHECK(sleeper.wait_for_output("ready", 10s));
    CHECK_FALSE(sleeper.wait_for(100ms).has_value());
    CHECK(sleeper.running());
    sleeper.signal(SIGTERM);
    auto code = sleeper.wait_for(10s);
    REQUIRE(code.has_value());
    CHECK(*code == 128 + SIGTERM);
  }
  {
    pt::Process orphan({"/bin/sleep", "30"});
    pid = orphan.pid();
  }
  CHECK(::kill(pid, 0) != 0);  // killed and reaped: the pid no longer exists
  CHECK_THROWS(pt::Process({"/nonexistent/binary"}));
}

TEST_CASE("support: free_port, rss_kib, TempDir", "[support]") {
  CHECK(pt::free_port() > 0);
  CHECK(pt::rss_kib() > 1000);
  std::string path;
  {
    pt::TempDir dir;
    path = dir.path();
    pt::write_file_atomically(dir.file("a.txt"), "one");
    pt::write_file_atomically(dir.file("a.txt"), "two");
    CHECK(pt::read_file(dir.file("a.txt")) == "two");
    CHECK(std::filesystem::is_directory(path));
  }
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("support: issued certificates carry the requested serial and expiry", "[support]") {
  pt::CertificateAuthority ca;
  pt::CertificateRequest request;
  request.validFor = std::chrono::hours(2);
  auto leaf = ca.issue(request);
  CHECK(pt::certificate_serial(leaf.certPem) == leaf.serial);
  CHECK(pt::certificate_not_after(leaf.certPem) == leaf.notAfter);
  const long long now = static_cast<long long>(std::time(nullptr));
  CHECK(leaf.notAfter > now + 3600);
  CHECK(leaf.notAfter <= now + 2 * 3600 + 5);
  CHECK(ca.issue().serial != leaf.serial);
}

// The scan store's durability promise: when put() returns, the records survive kill -9. A child
// process imports as fast as it can and acknowledges each put on a pipe once put() has returned;
// the parent SIGKILLs it mid-import, reopens the database and finds every acknowledged record, whole,
// and no torn one. Three rounds on the same file, so WAL recovery runs on a file that has been
// through it before.

#include <catch2/catch.hpp>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "scan/store.h"
#include "support/digests.h"
#include "support/temp_dir.h"

using namespace podgate::scan;
using podgate::test::digest_of;

namespace {

// Everything but the digest follows from (scanner, scannedAt), so the parent can check any record
// it finds is whole without knowing which put wrote it.
ScanRecord make_record(std::uint64_t n, const std::string& scanner, std::int64_t scannedAt) {
  ScanRecord r;
  r.digest = digest_of(n);
  r.scanner = scanner;
  r.scannerVersion = "v" + std::to_string(scannedAt % 13);
  r.databaseVersion = "db" + std::to_string(scannedAt);
  r.scannedAt = scannedAt;
  r.artifact = "app:" + std::to_string(scannedAt);
  const int findings = static_cast<int>(scannedAt % 30);
  for (int i = 0; i < findings; ++i) {
    Finding f;
    f.kind = "vulnerability";
    f.id = "CVE-" + std::to_string(scannedAt) + "-" + std::to_string(i);
    f.package = "pkg" + std::to_string(i);
    f.installedVersion = "1.0." + std::to_string(i);
    f.fixedVersion = i % 2 ? "" : "1.1." + std::to_string(i);
    f.severity = static_cast<Severity>(i % 6);
    r.counts[static_cast<std::size_t>(i % 6)]++;
    r.findings.push_back(std::move(f));
  }
  return r;
}

ScanRecord expected_for(const ScanRecord& stored) {
  ScanRecord r = make_record(0, stored.scanner, stored.scannedAt);
  r.digest = stored.digest;
  return r;
}

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) _exit(3);
    done += static_cast<std::size_t>(n);
  }
}

// The child: imports until killed. Before each put it writes "B <put>", after it "A <n> <scanner>
// <scannedAt>" per stored record. Batches of 1-4 records, every 20th put 300 records (a long
// transaction for the kill to land in), and each put also replaces an earlier record with a newer scan.
[[noreturn]] void import_until_killed(const std::string& path, int fd, std::uint64_t base) {
  try {
    auto store = open_sqlite_store(path);
    const char* const scanners[] = {"trivy", "grype", "clamav"};
    std::uint64_t next = 0;
    for (std::int64_t put = 0;; ++put) {
      const std::int64_t scannedAt = static_cast<std::int64_t>(base) + put;
      std::vector<std::pair<std::uint64_t, std::string>> keys;
      const std::uint64_t size = put % 20 == 19 ? 300 : 1 + static_cast<std::uint64_t>(put % 4);
      for (std::uint64_t i = 0; i < size; ++i, ++next) keys.emplace_back(base + next, scanners[next % 3]);
      if (put > 0) keys.emplace_back(base + static_cast<std::uint64_t>(put) / 2, "trivy");
      std::vector<ScanRecord> batch;
      for (const auto& [n, scanner] : keys) batch.push_back(make_record(n, scanner, scannedAt));
      write_all(fd, "B " + std::to_string(put) + "\n");
      const auto outcomes = store->put(batch);
      std::string acks;
      for (std::size_t i = 0; i < outcomes.size(); ++i) {
        if (outcomes[i].stored) {
          acks += "A " + std::to_string(keys[i].first) + " " + keys[i].second + " " + std::to_string(scannedAt) + "\n";
        }
      }
      write_all(fd, acks);
    }
  } catch (const std::exception& e) {
    write_all(fd, std::string("E ") + e.what() + "\n");
    _exit(1);
  }
}

struct Round {
  std::map<std::pair<std::uint64_t, std::string>, std::int64_t> acked;  // latest acknowledged scannedAt
  long acks = 0;
  bool killedInsidePut = false;
  std::string childError;
};

Round run_round(const std::string& path, std::uint64_t base, std::chrono::milliseconds runFor) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    import_until_killed(path, fds[1], base);
  }
  ::close(fds[1]);

  Round round;
  std::string buffer;
  bool lastWasBegin = false;
  auto consume = [&](bool final) {
    std::size_t start = 0, end;
    while ((end = buffer.find('\n', start)) != std::string::npos) {
      std::istringstream line(buffer.substr(start, end - start));
      start = end + 1;
      std::string tag;
      line >> tag;
      if (tag == "B") {
        lastWasBegin = true;
      } else if (tag == "A") {
        std::uint64_t n = 0;
        std::string scanner;
        std::int64_t scannedAt = 0;
        line >> n >> scanner >> scannedAt;
        auto& latest = round.acked[{n, scanner}];
        latest = std::max(latest, scannedAt);
        ++round.acks;
        lastWasBegin = false;
      } else if (tag == "E") {
        round.childError = line.str();
      }
    }
    buffer.erase(0, start);
    // A partial last line after the kill: the child died inside a write of acknowledgements that
    // were already durable; the complete lines before it were counted.
    if (final) buffer.clear();
  };

  const auto deadline = std::chrono::steady_clock::now() + runFor;
  char chunk[65536];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n <= 0) break;  // the child exited: its error line says why
    buffer.append(chunk, static_cast<std::size_t>(n));
    consume(false);
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  // Acknowledgements written before the kill are still in the pipe: they count too.
  for (ssize_t n; (n = ::read(fds[0], chunk, sizeof chunk)) > 0;) buffer.append(chunk, static_cast<std::size_t>(n));
  consume(true);
  ::close(fds[0]);
  round.killedInsidePut = lastWasBegin;
  return round;
}

std::string pragma_text(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK ? sqlite3_step(stmt) : SQLITE_ERROR;
    if (rc == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    } else if (rc != SQLITE_DONE) {  // DONE: no row ("" for foreign_key_check means no violation)
      out = std::string("error: ") + sqlite3_errmsg(db);
    }
    sqlite3_finalize(stmt);
  } else {
    out = std::string("error: cannot open ") + path;
  }
  sqlite3_close(db);
  return out;
}

}  // namespace

TEST_CASE("every acknowledged put survives kill -9 of the importing process", "[scan-store][durability]") {
  podgate::test::TempDir dir("podgate-scan-durability");
  const std::string path = dir.file("scans.db");
  std::map<std::pair<std::uint64_t, std::string>, std::int64_t> acked;
  std::mt19937 random(std::random_device{}());
  int killsInsidePut = 0;

  // Three rounds, and up to five more while no kill has yet landed inside put(): on a loaded
  // machine the child can be descheduled between puts often enough to miss three times.
  for (int r = 0; r < 3 || (killsInsidePut == 0 && r < 8); ++r) {
    const auto runFor = std::chrono::milliseconds(1000 + random() % 800);
    const Round round = run_round(path, static_cast<std::uint64_t>(r + 1) * 1000000, runFor);
    INFO("round " << r << ": " << round.acks << " acknowledgements in " << runFor.count() << " ms");
    REQUIRE(round.childError.empty());
    CHECK(round.acks >= 20);  // the child really imported (each put is one fsync'd commit)
    killsInsidePut += round.killedInsidePut ? 1 : 0;
    for (const auto& [key, scannedAt] : round.acked) acked[key] = scannedAt;

    CHECK(pragma_text(path, "PRAGMA integrity_check") == "ok");
    CHECK(pragma_text(path, "PRAGMA foreign_key_check") == "");
    auto store = open_sqlite_store(path);
    CHECK(pragma_text(path, "PRAGMA journal_mode") == "wal");

    // Everything stored, read back through the Store once per digest: every record, acknowledged
    // or not (a put may have committed just before the kill), must be whole.
    const auto all = store->list(10000000, 0);
    CHECK(static_cast<std::size_t>(store->stats().records) == all.size());
    std::map<std::pair<std::string, std::string>, ScanRecord> stored;
    long torn = 0;
    for (const auto& summary : all) {
      if (stored.count({summary.digest, summary.scanner}) != 0) continue;
      for (auto& rec : store->get(summary.digest)) {
        if (!(rec == expected_for(rec))) ++torn;
        std::pair<std::string, std::string> key{rec.digest, rec.scanner};
        stored.emplace(std::move(key), std::move(rec));
      }
    }
    CHECK(torn == 0);
    CHECK(stored.size() == all.size());

    long missing = 0;
    for (const auto& [key, scannedAt] : acked) {
      const auto it = stored.find({digest_of(key.first), key.second});
      // A later put may have committed a newer scan before the kill without acknowledging it.
      if (it == stored.end() || it->second.scannedAt < scannedAt) {
        ++missing;
        UNSCOPED_INFO("lost: " << digest_of(key.first) << " " << key.second << " scannedAt " << scannedAt);
      }
    }
    CHECK(missing == 0);
    CHECK(all.size() >= acked.size());
  }
  // The child spends nearly all its time inside put() (fsync), so a kill that never once landed
  // there would mean the test is not testing what it says.
  CHECK(killsInsidePut >= 1);
}

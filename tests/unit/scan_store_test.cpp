// The scan store on SQLite (open_sqlite_store) and the admission path's CachedStore in front of it:
// round trips, latest-wins, all-or-nothing puts, persistence, schema versions, concurrent readers
// during an import, the cache's hits, misses, TTLs, LRU bound and put() updates. A hidden [.bench]
// case measures import throughput, cached lookup cost and the file size (bench/scan_store.sh).

#include <catch2/catch.hpp>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "scan/store.h"
#include "support/digests.h"
#include "support/temp_dir.h"

using namespace podgate::scan;
using namespace std::chrono_literals;
using podgate::test::digest_of;
using podgate::test::TempDir;

namespace {

ScanRecord make_record(const std::string& digest, const std::string& scanner, std::int64_t scannedAt,
                       int findings = 3) {
  ScanRecord r;
  r.digest = digest;
  r.scanner = scanner;
  r.scannerVersion = "0.50." + std::to_string(scannedAt % 7);
  r.databaseVersion = "db-" + std::to_string(scannedAt);
  r.scannedAt = scannedAt;
  r.artifact = "registry.example/app:" + std::to_string(scannedAt);
  for (int i = 0; i < findings; ++i) {
    Finding f;
    f.kind = i % 5 == 4 ? "secret" : "vulnerability";
    f.id = "CVE-2024-" + std::to_string(1000 + i) + "-" + std::to_string(scannedAt);
    f.package = i % 5 == 4 ? "" : "package-" + std::to_string(i % 11);
    f.installedVersion = "1." + std::to_string(i) + ".0-r0";
    f.fixedVersion = i % 3 == 0 ? "" : "1." + std::to_string(i) + ".1-r0";
    f.severity = static_cast<Severity>(i % static_cast<int>(kSeverityCount));
    r.counts[static_cast<std::size_t>(f.severity)]++;
    r.findings.push_back(std::move(f));
  }
  return r;
}

// Raw SQLite access for what the Store API does not show: PRAGMAs, row counts, tampering.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db_));
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  std::string text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db_));
    std::string out;
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
    return out;
  }
  long long integer(const std::string& sql) { return std::stoll(text(sql)); }
  void exec(const std::string& sql) {
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db_));
  }

 private:
  sqlite3* db_ = nullptr;
};

// A Store that counts get() calls and passes everything to another store: tells the cache's hits
// from its misses.
class CountingStore final : public Store {
 public:
  explicit CountingStore(Store& inner, std::atomic<int>& gets) : inner_(inner), gets_(gets) {}
  std::vector<PutOutcome> put(const std::vector<ScanRecord>& records) override { return inner_.put(records); }
  std::vector<ScanRecord> get(std::string_view digest) override {
    ++gets_;
    return inner_.get(digest);
  }
  std::vector<Summary> list(std::size_t limit, std::size_t offset) override { return inner_.list(limit, offset); }
  StoreStats stats() override { return inner_.stats(); }

 private:
  Store& inner_;
  std::atomic<int>& gets_;
};

int total(const std::array<int, kSeverityCount>& counts) {
  int sum = 0;
  for (int c : counts) sum += c;
  return sum;
}

}  // namespace

TEST_CASE("records with their findings come back exactly as put, every scanner of a digest", "[scan-store]") {
  const TempDir dir("podgate-scan-store");
  auto store = open_sqlite_store(dir.file("scans.db"));
  const std::string d1 = digest_of(1), d2 = digest_of(2);
  ScanRecord trivy = make_record(d1, "trivy", 1700000000, 25);
  ScanRecord grype = make_record(d1, "grype", 1700000100, 0);
  ScanRecord clamav = make_record(d1, "clamav", 1700000200, 1);
  clamav.malware = MalwareResult::Malicious;
  clamav.findings[0].kind = "malware";
  clamav.findings[0].package = "/usr/bin/evil";
  // Bytes SQLite must keep as they are: quotes, UTF-8, an embedded NUL, the longest allowed string.
  trivy.artifact = "it's \"quoted\" \xc3\xa9t\xc3\xa9 " + std::string(1, '\0') + " end";
  trivy.findings[1].package = std::string(4096, 'p');
  ScanRecord other = make_record(d2, "trivy", 1700000000, 2);

  const auto outcomes = store->put({trivy, grype, clamav, other});
  REQUIRE(outcomes.size() == 4);
  for (const auto& o : outcomes) CHECK(o.stored);
  CHECK(outcomes[2].digest == d1);
  CHECK(outcomes[2].scanner == "clamav");

  // Ordered by scanner.
  const std::vector<ScanRecord> expected{clamav, grype, trivy};
  CHECK(store->get(d1) == expected);
  CHECK(store->get(d2) == std::vector<ScanRecord>{other});
  CHECK(store->get(digest_of(3)).empty());
  CHECK(store->get("not a digest").empty());
  CHECK(store->lookup(d2)->size() == 1);
}

TEST_CASE("per (digest, scanner) the latest scan wins and replaces the findings", "[scan-store]") {
  const TempDir dir("podgate-scan-store");
  const std::string path = dir.file("scans.db");
  auto store = open_sqlite_store(path);
  const std::string d = digest_of(7);
  REQUIRE(store->put({make_record(d, "trivy", 200, 10), make_record(d, "grype", 100, 4)})[0].stored);

  SECTION("an older or equally old scan is skipped and reported") {
    ScanRecord older = make_record(d, "trivy", 150, 1);
    ScanRecord same = make_record(d, "trivy", 200, 2);
    const auto outcomes = store->put({older, same});
    REQUIRE(outcomes.size() == 2);
    CHECK_FALSE(outcomes[0].stored);
    CHECK_FALSE(outcomes[1].stored);
    const auto records = store->get(d);
    REQUIRE(records.size() == 2);
    CHECK(records[1] == make_record(d, "trivy", 200, 10));
  }

  SECTION("a newer scan replaces the old record and all its findings; other scanners stay") {
    const auto outcomes = store->put({make_record(d, "trivy", 300, 2)});
    REQUIRE(outcomes.size() == 1);
    CHECK(outcomes[0].stored);
    const auto records = store->get(d);
    REQUIRE(records.size() == 2);
    CHECK(records[0] == make_record(d, "grype", 100, 4));
    CHECK(records[1] == make_record(d, "trivy", 300, 2));
    // The replaced record's 10 findings are gone from the table, not just hidden.
    RawDb raw(path);
    CHECK(raw.integer("SELECT count(*) FROM findings") == 4 + 2);
    CHECK(raw.integer("SELECT count(*) FROM scans") == 2);
  }

  SECTION("within one put, later records for the same pair are judged against earlier ones") {
    const auto outcomes = store->put({make_record(d, "trivy", 400, 1), make_record(d, "trivy", 350, 1),
                                      make_record(d, "trivy", 500, 5)});
    REQUIRE(outcomes.size() == 3);
    CHECK(outcomes[0].stored);
    CHECK_FALSE(outcomes[1].stored);
    CHECK(outcomes[2].stored);
    CHECK(store->get(d)[1] == make_record(d, "trivy", 500, 5));
  }
}

TEST_CASE("a put with one bad record stores nothing, and says which record and why", "[scan-store]") {
  const TempDir dir("podgate-scan-store");
  const std::string path = dir.file("scans.db");
  auto store = open_sqlite_store(path);
  const std::string d1 = digest_of(1), d2 = digest_of(2), d3 = digest_of(3);
  store->put({make_record(d1, "trivy", 100, 3)});

  ScanRecord bad = make_record(d3, "trivy", 100, 1);
  std::string reason;
  SECTION("malformed digest") {
    bad.digest = "sha256:abc";
    reason = "digest";
  }
  SECTION("a bare 64-hex id (a config blob id, no algorithm)") {
    bad.digest = std::string(64, 'a');
    reason = "digest";
  }
  SECTION("empty scanner") {
    bad.scanner = "";
    reason = "scanner";
  }
  SECTION("upper-case scanner (one scanner, one name)") {
    bad.scanner = "Trivy";
    reason = "scanner";
  }
  SECTION("string over 4 KiB") {
    bad.artifact = std::string(4097, 'a');
    reason = "4096";
  }
  SECTION("finding string over 4 KiB") {
    bad.findings[0].id = std::string(4097, 'x');
    reason = "4096";
  }
  SECTION("more than 100000 findings") {
    const Finding one = bad.findings[0];
    bad.findings.assign(100001, one);
    reason = "100000";
  }
  SECTION("severity out of range") {
    bad.findings[0].severity = static_cast<Severity>(6);
    reason = "severity";
  }
  SECTION("malware result out of range") {
    bad.malware = static_cast<MalwareResult>(9);
    reason = "malware";
  }
  SECTION("negative count") {
    bad.counts[2] = -1;
    reason = "count";
  }
  SECTION("negative time") {
    bad.scannedAt = -5;
    reason = "scannedAt";
  }

  // Before the bad one: a new record, and a newer scan replacing d1's (whose old findings must come
  // back on rollback). After it: another new record.
  const std::vector<ScanRecord> batch{make_record(d2, "trivy", 100, 2), make_record(d1, "trivy", 200, 7), bad,
                                      make_record(digest_of(4), "grype", 100, 1)};
  try {
    store->put(batch);
    FAIL("put accepted a bad record");
  } catch (const StoreError& e) {
    const std::string message = e.what();
    CHECK_THAT(message, Catch::Contains(path));
    CHECK_THAT(message, Catch::Contains("record 2"));
    CHECK_THAT(message, Catch::Contains(reason));
  }
  CHECK(store->get(d2).empty());
  CHECK(store->get(digest_of(4)).empty());
  CHECK(store->get(d1) == std::vector<ScanRecord>{make_record(d1, "trivy", 100, 3)});
  CHECK(store->stats().records == 1);
  RawDb raw(path);
  CHECK(raw.integer("SELECT count(*) FROM findings") == 3);
  // The store still works after the rollback.
  CHECK(store->put({make_record(d2, "trivy", 100, 2)})[0].stored);
  CHECK(store->get(d2).size() == 1);
}

TEST_CASE("records persist across reopening, and two stores on one file see each other", "[scan-store]") {
  const TempDir dir("podgate-scan-store");
  const std::string path = dir.file("scans.db");
  const ScanRecord a = make_record(digest_of(10), "trivy", 1000, 12);
  {
    auto store = open_sqlite_store(path);
    store->put({a});
  }
  auto first = open_sqlite_store(path);
  CHECK(first->get(a.digest) == std::vector<ScanRecord>{a});
  auto second = open_sqlite_store(path);
  const ScanRecord b = make_record(digest_of(11), "grype", 2000, 1);
  second->put({b});
  CHECK(first->get(b.digest) == std::vector<ScanRecord>{b});
  CHECK(first->stats().records == 2);

  RawDb raw(path);
  CHECK(raw.text("PRAGMA journal_mode") == "wal");
  CHECK(raw.text("PRAGMA integrity_check") == "ok");
}

TEST_CASE("the schema version is recorded, and a newer database is refused", "[scan-store]") {
  const TempDir dir("podgate-scan-store");
  const std::string path = dir.file("scans.db");
  open_sqlite_store(path)->put({make_record(digest_of(1), "trivy", 1, 1)});
  {
    RawDb raw(path);
    CHECK(raw.integer("PRAGMA user_version") == 1);  // the migrations this build knows
    CHECK(raw.integer("PRAGMA application_id") == 0x706f6467);
    CHECK(raw.integer("SELECT count(*) FROM pragma_foreign_key_check") == 0);
    raw.exec("PRAGMA user_version=2");
  }
  try {
    open_sqlite_store(path);
    FAIL("a database from a newer podgate was opened");
  } catch (const StoreError& e) {
    CHECK_THAT(std::string(e.what()),
               Catch::Contains(path) && Catch::Contains("schema version 2") && Catch::Contains("newer"));
  }
  {
    RawDb raw(path);
    raw.exec("PRAGMA user_version=1");  // the refusal changed nothing
  }
  CHECK(open_sqlite_store(path)->get(digest_of(1)).size() == 1);
}

TEST_CASE("files that are not this store's database are refused with the path", "[scan-store]") {
  const TempDir dir("podgate-scan-store");
  SECTION("not SQLite at all") {
    const std::string path = dir.file("garbage.db");
    std::FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs("this is not a database, just some text long enough to have a header of sorts......", f);
    std::fclose(f);
    CHECK_THROWS_WITH(open_sqlite_store(path), Catch::Contains(path));
  }
  SECTION("another program's SQLite database") {
    const std::string path = dir.file("other.db");
    {
      RawDb raw(path);
      raw.exec("PRAGMA application_id=1234; CREATE TABLE t(x)");
    }
    CHECK_THROWS_WITH(open_sqlite_store(path), Catch::Contains("not a podgate scan database"));
    RawDb raw(path);
    CHECK(raw.text("PRAGMA journal_mode") == "delete");  // left as it was: not switched to WAL
    CHECK(raw.integer("SELECT count(*) FROM sqlite_schema WHERE name = 'scans'") == 0);
  }
  SECTION("a directory that does not exist") {
    const std::string path = dir.file("missing/scans.db");
    CHECK_THROWS_AS(open_sqlite_store(path), StoreError);
  }
}

TEST_CASE("list is newest first and pages, stats count pairs, digests and the time range", "[scan-store]") {
  const TempDir dir("podgate-scan-store");
  auto store = open_sqlite_store(dir.file("scans.db"));
  CHECK(store->list(10, 0).empty());
  const StoreStats empty = store->stats();
  CHECK(empty.records == 0);
  CHECK(empty.digests == 0);
  CHECK(empty.oldestScan == 0);
  CHECK(empty.newestScan == 0);

  std::vector<ScanRecord> records;
  for (int i = 0; i < 10; ++i) {
    // Two scanners for the even digests; scan times interleave.
    records.push_back(make_record(digest_of(static_cast<std::uint64_t>(i)), "trivy", 1000 + i * 10, 2));
    if (i % 2 == 0) records.push_back(make_record(digest_of(static_cast<std::uint64_t>(i)), "grype", 1005 + i * 10, 1));
  }
  records[0].malware = MalwareResult::Clean;
  store->put(records);

  const auto all = store->list(100, 0);
  REQUIRE(all.size() == 15);
  for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1].scannedAt > all[i].scannedAt);
  CHECK(all[0].scannedAt == 1090);
  CHECK(all[0].scanner == "trivy");
  CHECK(all[1].scannedAt == 1085);
  CHECK(all[1].scanner == "grype");
  const Summary& last = all.back();
  CHECK(last.digest == records[0].digest);
  CHECK(last.scannedAt == 1000);
  CHECK(last.malware == MalwareResult::Clean);
  CHECK(last.counts == records[0].counts);
  CHECK(last.scannerVersion == records[0].scannerVersion);
  CHECK(last.artifact == records[0].artifact);

  const auto page = store->list(4, 3);
  REQUIRE(page.size() == 4);
  for (std::size_t i = 0; i < page.size(); ++i) {
    CHECK(page[i].digest == all[3 + i].digest);
    CHECK(page[i].scanner == all[3 + i].scanner);
  }
  CHECK(store->list(5, 14).size() == 1);
  CHECK(store->list(5, 15).empty());

  const StoreStats stats = store->stats();
  CHECK(stats.records == 15);
  CHECK(stats.digests == 10);
  CHECK(stats.oldestScan == 1000);
  CHECK(stats.newestScan == 1090);
}

TEST_CASE("readers are not blocked by a long import and see whole records", "[scan-store][concurrency]") {
  const TempDir dir("podgate-scan-store");
  const std::string path = dir.file("scans.db");
  auto store = open_sqlite_store(path);
  constexpr int kKnown = 50;
  std::vector<ScanRecord> known;
  for (int i = 0; i < kKnown; ++i) known.push_back(make_record(digest_of(static_cast<std::uint64_t>(i)), "trivy", 100, 5));
  store->put(known);

  std::atomic<bool> importing{false}, stop{false};
  std::atomic<long> readsDuringImport{0}, badReads{0};
  auto reader = [&](int seed) {
    std::uint64_t n = static_cast<std::uint64_t>(seed);
    while (!stop.load()) {
      const bool during = importing.load();
      n = n * 6364136223846793005ull + 1442695040888963407ull;
      const auto records = store->get(digest_of((n >> 33) % kKnown));
      // Every record is whole: a snapshot of one commit, findings matching the counts.
      if (records.size() != 1 || static_cast<int>(records[0].findings.size()) != total(records[0].counts) ||
          records[0].findings.size() != (records[0].scannedAt == 100 ? 5u : 2u)) {
        ++badReads;
      }
      if ((n >> 40) % 16 == 0) store->list(20, 0);
      if ((n >> 40) % 16 == 1) store->stats();
      // Counted only if the import was under way before the read began and still is after it.
      if (during && importing.load()) ++readsDuringImport;
    }
  };
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) readers.emplace_back(reader, t + 1);

  // Small imports, each also replacing some known records (their finding count changes 5 -> 2).
  for (int round = 0; round < 20; ++round) {
    std::vector<ScanRecord> batch;
    for (int i = 0; i < 20; ++i) {
      batch.push_back(make_record(digest_of(1000 + static_cast<std::uint64_t>(round * 20 + i)), "grype", 50, 3));
    }
    batch.push_back(make_record(digest_of(static_cast<std::uint64_t>(round)), "trivy", 200 + round, 2));
    store->put(batch);
  }
  // One long import: 10,000 findings in one transaction (~100 ms here, ~1 s under TSan; the second
  // writer below waits for it, so it must stay well inside the 5 s busy timeout).
  constexpr int kBig = 500;
  std::vector<ScanRecord> big;
  for (int i = 0; i < kBig; ++i) big.push_back(make_record(digest_of(100000 + static_cast<std::uint64_t>(i)), "trivy", 10, 20));
  // A second writer on another connection to the same file must wait (busy timeout), not fail.
  auto otherProcess = open_sqlite_store(path);
  std::string secondError;
  importing = true;
  const auto importStart = std::chrono::steady_clock::now();
  std::thread second([&] {
    try {
      otherProcess->put({make_record(digest_of(999999), "clamav", 1, 0)});
    } catch (const std::exception& e) {
      secondError = e.what();
    }
  });
  const auto outcomes = store->put(big);
  importing = false;
  const auto importTime = std::chrono::steady_clock::now() - importStart;
  second.join();
  stop = true;
  for (auto& t : readers) t.join();

  INFO("long import: " << std::chrono::duration_cast<std::chrono::milliseconds>(importTime).count() << " ms, "
                       << readsDuringImport.load() << " reads completed during it");
  CHECK(outcomes.size() == big.size());
  CHECK(secondError.empty());
  CHECK(badReads.load() == 0);
  // Readers made progress while the import held the write lock. With a rollback journal they would
  // have waited for the commit; WAL lets them read the last committed state.
  CHECK(readsDuringImport.load() > 0);
  CHECK(store->stats().records == kKnown + 20 * 20 + kBig + 1);
  CHECK(store->get(big.back().digest) == std::vector<ScanRecord>{big.back()});
}

TEST_CASE("CachedStore: hits come from memory, misses read the store once", "[scan-store][cache]") {
  const TempDir dir("podgate-scan-store");
  auto sqlite = open_sqlite_store(dir.file("scans.db"));
  std::atomic<int> gets{0};
  CachedStore cache(std::make_unique<CountingStore>(*sqlite, gets), 100, 64u << 20, 10s, 10s);
  const ScanRecord a = make_record(digest_of(1), "trivy", 100, 20);
  sqlite->put({a});

  CHECK(cache.get(a.digest) == std::vector<ScanRecord>{a});
  CHECK(gets == 1);
  CHECK(cache.get(a.digest) == std::vector<ScanRecord>{a});
  const auto shared1 = cache.lookup(a.digest);
  const auto shared2 = cache.lookup(a.digest);
  CHECK(shared1.get() == shared2.get());  // the cached vector itself, not a copy
  CHECK(gets == 1);
  CHECK(cache.get(digest_of(2)).empty());
  CHECK(cache.get(digest_of(2)).empty());
  CHECK(gets == 2);
  CHECK(cache.cached_entries() == 2);
  CHECK(cache.stats().records == 1);
  CHECK(cache.list(10, 0).size() == 1);
}

TEST_CASE("CachedStore: entries expire after their TTL, negative ones after theirs", "[scan-store][cache]") {
  const TempDir dir("podgate-scan-store");
  auto sqlite = open_sqlite_store(dir.file("scans.db"));
  std::atomic<int> gets{0};
  CachedStore cache(std::make_unique<CountingStore>(*sqlite, gets), 100, 64u << 20, 1000ms, 300ms);
  const std::string d = digest_of(5);
  using Clock = std::chrono::steady_clock;

  auto filled = Clock::now();
  CHECK(cache.get(d).empty());
  CHECK(gets == 1);
  // Another process (or a put not through this cache) stores a scan: not seen until the negative
  // entry expires. (The checks inside `if` are skipped when a descheduled test is already past the
  // TTL; the ones after the sleeps always run.)
  sqlite->put({make_record(d, "trivy", 100, 1)});
  if (Clock::now() - filled < 250ms) {
    CHECK(cache.get(d).empty());
    CHECK(gets == 1);
  }
  std::this_thread::sleep_for(350ms);
  REQUIRE(cache.get(d).size() == 1);
  filled = Clock::now();
  const int afterRefill = gets.load();

  // The positive entry lives `ttl`: a newer scan written behind the cache's back is seen only after.
  sqlite->put({make_record(d, "trivy", 200, 2)});
  std::this_thread::sleep_for(350ms);  // past the negative TTL, well inside the positive one
  const auto stale = cache.get(d);
  if (Clock::now() - filled < 900ms) {
    CHECK(stale[0].scannedAt == 100);
    CHECK(gets == afterRefill);
  }
  std::this_thread::sleep_for(700ms);
  CHECK(cache.get(d)[0].scannedAt == 200);
  CHECK(gets == afterRefill + 1);
}

TEST_CASE("CachedStore: bounded by maxEntries, least recently used out first", "[scan-store][cache]") {
  const TempDir dir("podgate-scan-store");
  auto sqlite = open_sqlite_store(dir.file("scans.db"));
  std::atomic<int> gets{0};
  CachedStore cache(std::make_unique<CountingStore>(*sqlite, gets), 3, 64u << 20, 10s, 10s);
  const std::string a = digest_of(1), b = digest_of(2), c = digest_of(3), d = digest_of(4);
  sqlite->put({make_record(a, "trivy", 1, 1), make_record(b, "trivy", 1, 1)});
  cache.get(a);
  cache.get(b);
  cache.get(c);  // negative entries count too
  CHECK(gets == 3);
  cache.get(a);  // a is now the most recent; b the least
  CHECK(gets == 3);
  cache.get(d);  // evicts b
  CHECK(gets == 4);
  CHECK(cache.cached_entries() == 3);
  cache.get(a);
  cache.get(c);
  cache.get(d);
  CHECK(gets == 4);
  cache.get(b);
  CHECK(gets == 5);
  CHECK(cache.cached_entries() == 3);

  SECTION("maxEntries 0 caches nothing") {
    CachedStore none(std::make_unique<CountingStore>(*sqlite, gets), 0, 64u << 20, 10s, 10s);
    none.get(a);
    none.get(a);
    CHECK(gets == 7);
    CHECK(none.cached_entries() == 0);
  }
  SECTION("a large cache is split into shards and still bounded") {
    CachedStore large(std::make_unique<CountingStore>(*sqlite, gets), 5000, 64u << 20, 10s, 10s);
    for (std::uint64_t i = 0; i < 20000; ++i) large.get(digest_of(100 + i));
    CHECK(large.cached_entries() <= 5000);
    CHECK(large.cached_entries() >= 4000);  // shards evict separately, but none stays empty
  }
}

TEST_CASE("CachedStore: bounded by maxBytes as well, so scans with many findings cannot fill memory", "[scan-store][cache]") {
  const TempDir dir("podgate-scan-store");
  auto sqlite = open_sqlite_store(dir.file("scans.db"));
  std::atomic<int> gets{0};
  // 300 findings is an ordinary Trivy scan of a Debian-based image.
  std::vector<ScanRecord> big;
  for (std::uint64_t i = 0; i < 40; ++i) big.push_back(make_record(digest_of(i), "trivy", 1700000000, 300));
  sqlite->put(big);

  CachedStore probe(std::make_unique<CountingStore>(*sqlite, gets), 100, 64u << 20, 10s, 10s);
  probe.get(digest_of(0));
  const std::size_t one = probe.cached_bytes();
  // The estimate counts the findings' heap: 300 findings with 5 strings each are well over 300 x 160 B.
  CHECK(one > 300 * sizeof(Finding));
  CHECK(one < 300 * 1024);

  // Room for about 10 such entries (one shard: small caches are not split), and 100 by count.
  CachedStore cache(std::make_unique<CountingStore>(*sqlite, gets), 100, one * 10 + one / 2, 10s, 10s);
  for (std::uint64_t i = 0; i < 40; ++i) cache.get(digest_of(i));
  CHECK(cache.cached_entries() == 10);
  CHECK(cache.cached_bytes() <= one * 10 + one / 2);
  // Least recently used out first: the last 10 are hits, the first is a miss.
  const int before = gets;
  for (std::uint64_t i = 30; i < 40; ++i) cache.get(digest_of(i));
  CHECK(gets == before);
  cache.get(digest_of(0));
  CHECK(gets == before + 1);

  SECTION("an entry larger than the whole budget is answered but not kept") {
    CachedStore tiny(std::make_unique<CountingStore>(*sqlite, gets), 100, one / 2, 10s, 10s);
    CHECK(tiny.get(digest_of(1)).at(0).findings.size() == 300);
    CHECK(tiny.cached_entries() == 0);
    CHECK(tiny.cached_bytes() == 0);
  }
  SECTION("put() that grows a cached entry keeps the byte count and the bound") {
    cache.put({make_record(digest_of(39), "grype", 1700000100, 300)});
    CHECK(cache.get(digest_of(39)).size() == 2);
    CHECK(cache.cached_bytes() <= one * 10 + one / 2);
  }
}

TEST_CASE("CachedStore: put() updates memory at once", "[scan-store][cache]") {
  const TempDir dir("podgate-scan-store");
  auto sqlite = open_sqlite_store(dir.file("scans.db"));
  std::atomic<int> gets{0};
  CachedStore cache(std::make_unique<CountingStore>(*sqlite, gets), 100, 64u << 20, 60s, 60s);
  const std::string d = digest_of(1), fresh = digest_of(2);
  cache.put({make_record(d, "trivy", 100, 3)});
  REQUIRE(cache.get(d).size() == 1);
  CHECK(gets == 1);
  CHECK(cache.get(fresh).empty());
  CHECK(gets == 2);

  // A newer scan replaces the cached one, another scanner joins it; neither costs a read.
  const auto before = cache.lookup(d);
  const auto outcomes = cache.put({make_record(d, "trivy", 200, 1), make_record(d, "clamav", 150, 0),
                                   make_record(d, "trivy", 50, 9)});
  CHECK(outcomes[0].stored);
  CHECK(outcomes[1].stored);
  CHECK_FALSE(outcomes[2].stored);
  const std::vector<ScanRecord> expected{make_record(d, "clamav", 150, 0), make_record(d, "trivy", 200, 1)};
  CHECK(cache.get(d) == expected);
  CHECK(gets == 2);
  CHECK(sqlite->get(d) == expected);
  // A lookup already handed out keeps what it saw.
  CHECK(*before == std::vector<ScanRecord>{make_record(d, "trivy", 100, 3)});

  // A "never scanned" answer is dropped by a put for that digest.
  cache.put({make_record(fresh, "grype", 10, 2)});
  CHECK(cache.get(fresh) == std::vector<ScanRecord>{make_record(fresh, "grype", 10, 2)});
  CHECK(gets == 3);

  // A refused put changes nothing.
  ScanRecord bad = make_record(d, "trivy", 300, 1);
  bad.digest = "sha256:short";
  CHECK_THROWS_AS(cache.put({make_record(d, "trivy", 300, 1), bad}), StoreError);
  CHECK(cache.get(d) == expected);
}

TEST_CASE("CachedStore: a store error reaches the caller and is not cached", "[scan-store][cache]") {
  class FailingStore final : public Store {
   public:
    int calls = 0;
    std::vector<PutOutcome> put(const std::vector<ScanRecord>&) override { throw StoreError("put failed"); }
    std::vector<ScanRecord> get(std::string_view) override {
      if (++calls == 1) throw StoreError("disk on fire");
      return {};
    }
    std::vector<Summary> list(std::size_t, std::size_t) override { return {}; }
    StoreStats stats() override { return {}; }
  };
  auto failing = std::make_unique<FailingStore>();
  FailingStore* raw = failing.get();
  CachedStore cache(std::move(failing), 10, 64u << 20, 10s, 10s);
  CHECK_THROWS_WITH(cache.get(digest_of(1)), "disk on fire");
  CHECK(cache.cached_entries() == 0);
  CHECK(cache.get(digest_of(1)).empty());
  CHECK(raw->calls == 2);
  CHECK_THROWS_WITH(cache.put({make_record(digest_of(1), "trivy", 1, 0)}), "put failed");
}

TEST_CASE("CachedStore: many threads look up while puts go through it", "[scan-store][cache][concurrency]") {
  const TempDir dir("podgate-scan-store");
  auto sqlite = open_sqlite_store(dir.file("scans.db"));
  std::atomic<int> gets{0};
  // Small enough that lookups also evict and refill; a short negative TTL so misses recur.
  CachedStore cache(std::make_unique<CountingStore>(*sqlite, gets), 40, 64u << 20, 60s, 1ms);
  constexpr int kDigests = 60;
  std::vector<ScanRecord> initial;
  for (int i = 0; i < kDigests; i += 2) initial.push_back(make_record(digest_of(static_cast<std::uint64_t>(i)), "trivy", 1, 3));
  cache.put(initial);

  std::atomic<bool> stop{false};
  std::atomic<long> bad{0}, lookups{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      std::uint64_t n = static_cast<std::uint64_t>(t) + 1;
      while (!stop.load()) {
        n = n * 6364136223846793005ull + 1442695040888963407ull;
        const auto records = cache.lookup(digest_of((n >> 33) % kDigests));
        for (const auto& r : *records) {
          if (static_cast<int>(r.findings.size()) != total(r.counts)) ++bad;
        }
        ++lookups;
      }
    });
  }
  // Newer scans for every digest, several times over, and a second scanner.
  for (int round = 2; round < 40; ++round) {
    std::vector<ScanRecord> batch;
    for (int i = round % 3; i < kDigests; i += 3) {
      batch.push_back(make_record(digest_of(static_cast<std::uint64_t>(i)), round % 2 ? "grype" : "trivy", round, round % 5));
    }
    cache.put(batch);
  }
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(bad.load() == 0);
  CHECK(lookups.load() > 0);
  CHECK(cache.cached_entries() <= 40);
  // Whatever raced, the cache ends up agreeing with the database.
  for (int i = 0; i < kDigests; ++i) {
    const std::string d = digest_of(static_cast<std::uint64_t>(i));
    CHECK(cache.get(d) == sqlite->get(d));
  }
}

// ---------------------------------------------------------------------------------------------
// Benchmark (hidden): bench/scan_store.sh runs it from a RelWithDebInfo build.

namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
long env_or(const char* name, long fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::stol(value) : fallback;
}
}  // namespace

TEST_CASE("scan store benchmark", "[.bench]") {
  const TempDir dir("podgate-scan-store");
  constexpr int kFindings = 20;
  std::uint64_t next = 1;

  // Import throughput: one record per put (one fsync'd commit each) and 100 per put.
  for (const int batchSize : {1, 100}) {
    const std::string path = dir.file("import-" + std::to_string(batchSize) + ".db");
    auto store = open_sqlite_store(path);
    const long target = batchSize == 1 ? env_or("PODGATE_BENCH_SINGLE_PUTS", 2000) : 20000;
    long stored = 0;
    const auto start = std::chrono::steady_clock::now();
    while (stored < target && seconds_since(start) < 20) {
      std::vector<ScanRecord> batch;
      for (int i = 0; i < batchSize; ++i) batch.push_back(make_record(digest_of(next++), "trivy", 1700000000, kFindings));
      store->put(batch);
      stored += batchSize;
    }
    const double elapsed = seconds_since(start);
    std::printf("import batch=%-3d records=%-6ld %8.0f records/s %8.3f ms/put\n", batchSize, stored, stored / elapsed,
                elapsed * 1000 / (static_cast<double>(stored) / batchSize));
  }

  // Lookups: uncached (SQLite read) and through a warm CachedStore.
  {
    const std::string path = dir.file("lookup.db");
    auto sqlite = open_sqlite_store(path);
    constexpr int kHot = 1000;
    std::vector<std::string> digests;
    std::vector<ScanRecord> batch;
    for (int i = 0; i < kHot; ++i) {
      digests.push_back(digest_of(next++));
      batch.push_back(make_record(digests.back(), "trivy", 1700000000, kFindings));
    }
    sqlite->put(batch);
    constexpr int kUncached = 20000;
    auto start = std::chrono::steady_clock::now();
    std::size_t sink = 0;
    for (int i = 0; i < kUncached; ++i) sink += sqlite->get(digests[static_cast<std::size_t>(i) % kHot]).size();
    std::printf("lookup sqlite (uncached)      %8.0f ns/lookup (%d findings each)\n",
                seconds_since(start) * 1e9 / kUncached, kFindings);
    CachedStore cache(open_sqlite_store(path));
    for (const auto& d : digests) cache.lookup(d);
    constexpr int kLookups = 1000000;
    start = std::chrono::steady_clock::now();
    for (int i = 0; i < kLookups; ++i) sink += cache.lookup(digests[static_cast<std::size_t>(i) % kHot])->size();
    std::printf("lookup cached lookup() warm   %8.1f ns/lookup (shared vector, no copy)\n",
                seconds_since(start) * 1e9 / kLookups);
    start = std::chrono::steady_clock::now();
    for (int i = 0; i < kLookups; ++i) sink += cache.get(digests[static_cast<std::size_t>(i) % kHot]).size();
    std::printf("lookup cached get() warm      %8.1f ns/lookup (copies %d findings)\n",
                seconds_since(start) * 1e9 / kLookups, kFindings);
    // Two threads on one warm cache (the machine has two cores).
    start = std::chrono::steady_clock::now();
    std::atomic<std::size_t> shared{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        std::size_t local = 0;
        for (int i = 0; i < kLookups; ++i) local += cache.lookup(digests[static_cast<std::size_t>(i * 7 + t) % kHot])->size();
        shared += local;
      });
    }
    for (auto& t : threads) t.join();
    std::printf("lookup cached lookup() 2 thr  %8.1f ns/lookup per thread\n", seconds_since(start) * 1e9 / kLookups);
    // Every lookup found its one record (and keeps the loops from being optimised away).
    CHECK(sink + shared.load() == static_cast<std::size_t>(kUncached) + 4 * static_cast<std::size_t>(kLookups));
  }

  // Size on disk for N stored scans of kFindings findings each.
  {
    const long scans = env_or("PODGATE_BENCH_SCANS", 100000);
    const std::string path = dir.file("size.db");
    {
      auto store = open_sqlite_store(path);
      const auto start = std::chrono::steady_clock::now();
      for (long done = 0; done < scans;) {
        std::vector<ScanRecord> batch;
        for (int i = 0; i < 1000 && done < scans; ++i, ++done) {
          batch.push_back(make_record(digest_of(next++), "trivy", 1700000000 + done, kFindings));
        }
        store->put(batch);
      }
      std::printf("size: imported %ld scans in batches of 1000 in %.1f s\n", scans, seconds_since(start));
      CHECK(store->stats().records == scans);
    }
    // The last connection's close checkpoints the WAL into the database file and removes it.
    const auto bytes = std::filesystem::file_size(path);
    std::error_code noWal;
    const auto wal = std::filesystem::exists(path + "-wal") ? std::filesystem::file_size(path + "-wal", noWal) : 0;
    std::printf("size: %ld scans x %d findings: %.1f MiB (%.0f bytes/scan), wal %ju bytes\n", scans, kFindings,
                static_cast<double>(bytes) / (1024 * 1024), static_cast<double>(bytes) / static_cast<double>(scans),
                static_cast<std::uintmax_t>(wal));
    // What `podgate scans list` and the import path's stats() cost on a store this size.
    auto store = open_sqlite_store(path);
    auto start = std::chrono::steady_clock::now();
    const StoreStats stats = store->stats();
    std::printf("stats() on %ld scans: %.2f ms (first call)\n", static_cast<long>(stats.records),
                seconds_since(start) * 1000);
    start = std::chrono::steady_clock::now();
    for (int i = 0; i < 10; ++i) store->stats();
    std::printf("stats() on %ld scans: %.2f ms (warm)\n", static_cast<long>(stats.records), seconds_since(start) * 100);
    start = std::chrono::steady_clock::now();
    const auto page = store->list(50, static_cast<std::size_t>(scans / 2));
    std::printf("list(50, offset %ld): %.2f ms\n", scans / 2, seconds_since(start) * 1000);
    CHECK(page.size() == std::min<std::size_t>(50, static_cast<std::size_t>(scans - scans / 2)));
  }
}

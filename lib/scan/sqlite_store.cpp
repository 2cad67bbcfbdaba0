// The scan cache on SQLite: one writer connection behind a mutex, a pool of reader connections,
// WAL so readers keep reading the last committed state while an import writes.

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "image/reference.h"
#include "scan/store.h"

namespace podgate::scan {
namespace {

// The enums are stored as integers, so their values are part of the file format: reordering
// either enum would silently change what existing databases mean.
static_assert(static_cast<int>(Severity::Unknown) == 0 && static_cast<int>(Severity::Critical) == 5 &&
              kSeverityCount == 6);
static_assert(static_cast<int>(MalwareResult::None) == 0 && static_cast<int>(MalwareResult::Clean) == 1 &&
              static_cast<int>(MalwareResult::Malicious) == 2 && static_cast<int>(MalwareResult::Error) == 3);

// Bounds on one record: far above any real report (Trivy's largest images have a few thousand
// findings, versions and ids are tens of bytes), low enough that one bad import cannot fill the
// disk or the admission cache.
constexpr std::size_t kMaxFindings = 100000;
constexpr std::size_t kMaxStringBytes = 4096;
constexpr std::size_t kMaxScannerBytes = 64;
constexpr std::int64_t kMaxScannedAt = 253402300799;  // 9999-12-31T23:59:59Z
// Idle reader connections kept open; busier moments open more and close them afterwards.
constexpr std::size_t kMaxIdleReaders = 8;
constexpr int kBusyTimeoutMs = 5000;
// PRAGMA application_id: "podg". Refuses to migrate some other program's database.
constexpr int kApplicationId = 0x706f6467;

// Schema migrations, in order: migration i brings user_version from i to i+1. Never edit one that
// has shipped; append a new one.
//
// Findings reference their scan by an integer id rather than by (digest, scanner): a digest is 71
// bytes, and repeating it in every finding row and its index would triple the file size.
// findings is WITHOUT ROWID with (scan_id, seq) as its key, so a scan's findings are stored
// together in report order and need no separate index.
// Enums are integers (Severity 0..5 as in scan.h, MalwareResult none=0 clean=1 malicious=2 error=3).
const char* const kMigrations[] = {
    // v1
    R"sql(
CREATE TABLE scans (
  id               INTEGER PRIMARY KEY,
  digest           TEXT    NOT NULL,
  scanner          TEXT    NOT NULL,
  scanner_version  TEXT    NOT NULL,
  database_version TEXT    NOT NULL,
  scanned_at       INTEGER NOT NULL,
  count_unknown    INTEGER NOT NULL CHECK (count_unknown >= 0),
  count_negligible INTEGER NOT NULL CHECK (count_negligible >= 0),
  count_low        INTEGER NOT NULL CHECK (count_low >= 0),
  count_medium     INTEGER NOT NULL CHECK (count_medium >= 0),
  count_high       INTEGER NOT NULL CHECK (count_high >= 0),
  count_critical   INTEGER NOT NULL CHECK (count_critical >= 0),
  malware          INTEGER NOT NULL CHECK (malware BETWEEN 0 AND 3),
  artifact         TEXT    NOT NULL,
  imported_at      INTEGER NOT NULL,
  UNIQUE (digest, scanner)
);
CREATE INDEX scans_by_time ON scans (scanned_at DESC, digest, scanner);
CREATE TABLE findings (
  scan_id           INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
  seq               INTEGER NOT NULL,
  kind              TEXT    NOT NULL,
  id                TEXT    NOT NULL,
  package           TEXT    NOT NULL,
  installed_version TEXT    NOT NULL,
  fixed_version     TEXT    NOT NULL,
  severity          INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 5),
  PRIMARY KEY (scan_id, seq)
) WITHOUT ROWID;
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

class Connection;

// A prepared statement borrowed from a connection's cache; reset (and its bindings cleared) when
// it goes out of scope so the next user starts clean.
class Stmt {
 public:
  Stmt(Connection& conn, sqlite3_stmt* stmt) : conn_(conn), stmt_(stmt) {}
  ~Stmt() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int index, std::string_view text);
  Stmt& bind(int index, std::int64_t value);
  // True while there is a row; false when done. Throws on error.
  bool step();
  void run() {
    while (step()) {
    }
  }
  // Ready to run again with new bindings.
  void reset() { sqlite3_reset(stmt_); }
  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string text(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return data == nullptr ? std::string() : std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
  }

 private:
  Connection& conn_;
  sqlite3_stmt* stmt_;
};

class Connection {
 public:
  enum class Role { Writer, Reader };

  Connection(const std::string& path, Role role) : path_(path) {
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                      (role == Role::Writer ? SQLITE_OPEN_CREATE : 0);
    // Each connection is used by one thread at a time (the store's mutex or the pool hands it
    // out), so a per-connection mutex inside SQLite (FULLMUTEX) would only cost time.
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close_v2(db_);
      db_ = nullptr;
      throw StoreError("scan store " + path + ": cannot open: " + message);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    try {
      // FULL syncs the WAL at every commit: what makes an acknowledged put() survive power loss,
      // not just kill -9.
      exec("PRAGMA synchronous=FULL");
      exec("PRAGMA foreign_keys=ON");
      // Readers only read; this turns a programming error into an error rather than a write
      // outside the writer's mutex.
      if (role == Role::Reader) exec("PRAGMA query_only=ON");
    } catch (...) {
      close();
      throw;
    }
  }
  ~Connection() { close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // WAL is a property of the file (persistent), set once by the writer.
  void use_wal() {
    const std::string mode = query_text("PRAGMA journal_mode=WAL");
    if (mode != "wal") {
      throw StoreError("scan store " + path_ + ": cannot use the WAL journal (journal_mode is \"" + mode + "\")");
    }
  }

  // A cached prepared statement for `sql` (a string literal: cached by address).
  Stmt prepare(const char* sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
        fail(std::string("cannot prepare \"") + sql + "\"");
      }
      it = statements_.emplace(sql, stmt).first;
    }
    return Stmt(*this, it->second);
  }

  void exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error != nullptr ? error : sqlite3_errmsg(db_);
      sqlite3_free(error);
      throw StoreError("scan store " + path_ + ": " + message);
    }
  }

  std::string query_text(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) fail(sql);
    std::string result;
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      if (data != nullptr) result = data;
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) fail(sql);
    return result;
  }
  std::int64_t query_integer(const char* sql) {
    const std::string text = query_text(sql);
    return text.empty() ? 0 : std::stoll(text);
  }

  // Throws StoreError naming the path, what was being done, and SQLite's message.
  [[noreturn]] void fail(const std::string& doing) const {
    throw StoreError("scan store " + path_ + ": " + doing + ": " + sqlite3_errmsg(db_));
  }
  const std::string& path() const { return path_; }

 private:
  void close() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    statements_.clear();
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = nullptr;
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> statements_;
};

Stmt& Stmt::bind(int index, std::string_view text) {
  // SQLITE_TRANSIENT: SQLite copies, so the caller's buffer may go away before the step.
  if (sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT) != SQLITE_OK) {
    conn_.fail("cannot bind a parameter");
  }
  return *this;
}

Stmt& Stmt::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) conn_.fail("cannot bind a parameter");
  return *this;
}

bool Stmt::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  conn_.fail(std::string("\"") + sqlite3_sql(stmt_) + "\"");
}

// A transaction rolled back unless committed (also when an exception leaves the scope).
class Transaction {
 public:
  Transaction(Connection& conn, const char* begin) : conn_(conn) { conn_.exec(begin); }
  ~Transaction() {
    if (!done_) {
      try {
        conn_.exec("ROLLBACK");
      } catch (const StoreError&) {
        // SQLite may already have rolled back (after an I/O error or a full disk): nothing to undo.
      }
    }
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    conn_.exec("COMMIT");
    done_ = true;
  }

 private:
  Connection& conn_;
  bool done_ = false;
};

bool valid_scanner(std::string_view scanner) {
  if (scanner.empty() || scanner.size() > kMaxScannerBytes) return false;
  for (char c : scanner) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Why `record` may not be stored, or "" when it may.
std::string record_problem(const ScanRecord& record) {
  if (!image::is_valid_digest(record.digest)) return "digest is not sha256:<64 hex> or sha512:<128 hex>";
  if (!valid_scanner(record.scanner)) return "scanner must be 1-64 characters of a-z 0-9 . _ -";
  if (record.scannerVersion.size() > kMaxStringBytes || record.databaseVersion.size() > kMaxStringBytes ||
      record.artifact.size() > kMaxStringBytes) {
    return "a string field is longer than 4096 bytes";
  }
  if (record.scannedAt < 0 || record.scannedAt > kMaxScannedAt) return "scannedAt is out of range";
  for (int count : record.counts) {
    if (count < 0) return "a severity count is negative";
  }
  const int malware = static_cast<int>(record.malware);
  if (malware < 0 || malware > static_cast<int>(MalwareResult::Error)) return "malware result is out of range";
  if (record.findings.size() > kMaxFindings) return "more than 100000 findings";
  for (const Finding& f : record.findings) {
    if (f.kind.size() > kMaxStringBytes || f.id.size() > kMaxStringBytes || f.package.size() > kMaxStringBytes ||
        f.installedVersion.size() > kMaxStringBytes || f.fixedVersion.size() > kMaxStringBytes) {
      return "a finding has a string longer than 4096 bytes";
    }
    const int severity = static_cast<int>(f.severity);
    if (severity < 0 || severity >= static_cast<int>(kSeverityCount)) return "a finding's severity is out of range";
  }
  return {};
}

Severity severity_from(std::int64_t value, const Connection& conn) {
  if (value < 0 || value >= static_cast<std::int64_t>(kSeverityCount)) {
    throw StoreError("scan store " + conn.path() + ": stored severity " + std::to_string(value) + " is out of range");
  }
  return static_cast<Severity>(value);
}

MalwareResult malware_from(std::int64_t value, const Connection& conn) {
  if (value < 0 || value > static_cast<std::int64_t>(MalwareResult::Error)) {
    throw StoreError("scan store " + conn.path() + ": stored malware result " + std::to_string(value) +
                     " is out of range");
  }
  return static_cast<MalwareResult>(value);
}

// The columns a ScanRecord and a Summary share, in the order read_scan_columns reads them.
// prepare() caches statements by address, so the statements built from it are built once.
constexpr std::string_view kScanColumns =
    "scanner, scanner_version, scanned_at, count_unknown, count_negligible, count_low, count_medium, count_high, "
    "count_critical, malware, artifact";
const std::string kGetScansSql =
    "SELECT id, database_version, " + std::string(kScanColumns) + " FROM scans WHERE digest = ?1 ORDER BY scanner";
const std::string kListScansSql = "SELECT digest, " + std::string(kScanColumns) +
                                  " FROM scans ORDER BY scanned_at DESC, digest, scanner LIMIT ?1 OFFSET ?2";

template <typename Scan>  // ScanRecord or Summary
void read_scan_columns(Stmt& row, int first, const Connection& conn, Scan& out) {
  out.scanner = row.text(first);
  out.scannerVersion = row.text(first + 1);
  out.scannedAt = row.integer(first + 2);
  for (std::size_t s = 0; s < kSeverityCount; ++s) out.counts[s] = static_cast<int>(row.integer(first + 3 + static_cast<int>(s)));
  out.malware = malware_from(row.integer(first + 9), conn);
  out.artifact = row.text(first + 10);
}

// Makes a new file's directory entry durable: SQLite syncs the directory for its journal and WAL
// files but not for the database file it creates.
void sync_parent_directory(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw StoreError("scan store " + path + ": cannot open its directory: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) throw StoreError("scan store " + path + ": cannot sync its directory: " + std::strerror(error));
}

// Refuses a database this build cannot use; returns its schema version.
std::int64_t check_version(Connection& conn) {
  const std::int64_t version = conn.query_integer("PRAGMA user_version");
  const std::int64_t appId = conn.query_integer("PRAGMA application_id");
  if (version > kSchemaVersion) {
    throw StoreError("scan store " + conn.path() + ": the database has schema version " + std::to_string(version) +
                     ", newer than this podgate knows (" + std::to_string(kSchemaVersion) +
                     "); use a newer podgate or another file");
  }
  if (appId != 0 && appId != kApplicationId) {
    throw StoreError("scan store " + conn.path() + ": not a podgate scan database (application_id " +
                     std::to_string(appId) + ")");
  }
  if (version < 0) throw StoreError("scan store " + conn.path() + ": negative schema version");
  return version;
}

void migrate(Connection& conn) {
  // The common case, an up-to-date file, takes no write lock: opening must not wait for another
  // process's long import.
  if (check_version(conn) == kSchemaVersion) return;
  // IMMEDIATE, and the version read again inside: two processes opening an old or fresh file at
  // once must not both run a migration.
  Transaction txn(conn, "BEGIN IMMEDIATE");
  const std::int64_t version = check_version(conn);
  for (std::int64_t v = version; v < kSchemaVersion; ++v) conn.exec(kMigrations[v]);
  if (version < kSchemaVersion) {
    // PRAGMA takes no bound parameters; the values are our own constants.
    conn.exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
    conn.exec(("PRAGMA application_id=" + std::to_string(kApplicationId)).c_str());
  }
  txn.commit();
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const std::string& path) : path_(path) {
    // "" and ":memory:" would give every pooled connection a database of its own.
    if (path.empty() || path == ":memory:") throw StoreError("scan store \"" + path + "\": needs a file path");
    struct stat st {};
    const bool existed = ::stat(path.c_str(), &st) == 0;
    writer_ = std::make_unique<Connection>(path, Connection::Role::Writer);
    // Before anything is written: another program's database or a newer schema is left as it is.
    check_version(*writer_);
    writer_->use_wal();
    migrate(*writer_);
    if (!existed) sync_parent_directory(path);
  }

  ~SqliteStore() override = default;

  std::vector<PutOutcome> put(const std::vector<ScanRecord>& records) override {
    std::vector<PutOutcome> outcomes;
    if (records.empty()) return outcomes;
    outcomes.reserve(records.size());
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    std::lock_guard lock(writeMutex_);
    Connection& conn = *writer_;
    // IMMEDIATE takes the write lock up front (waiting up to the busy timeout for another
    // importer), so the latest-wins comparison below cannot race with another process's write.
    Transaction txn(conn, "BEGIN IMMEDIATE");
    for (std::size_t i = 0; i < records.size(); ++i) {
      const ScanRecord& r = records[i];
      // Checked as each record is written, so a bad record after good ones takes the same
      // rollback path as a failure inside SQLite.
      if (std::string problem = record_problem(r); !problem.empty()) {
        throw RecordRefused("scan store " + path_ + ": record " + std::to_string(i) + " (" +
                         r.digest.substr(0, 80) + ", " + r.scanner.substr(0, 80) + ") refused: " + problem);
      }
      PutOutcome& outcome = outcomes.emplace_back();
      outcome.digest = r.digest;
      outcome.scanner = r.scanner;
      std::optional<std::pair<std::int64_t, std::int64_t>> stored;  // (id, scanned_at)
      {
        Stmt existing = conn.prepare("SELECT id, scanned_at FROM scans WHERE digest = ?1 AND scanner = ?2");
        existing.bind(1, r.digest).bind(2, r.scanner);
        if (existing.step()) stored.emplace(existing.integer(0), existing.integer(1));
      }
      if (stored) {
        if (stored->second >= r.scannedAt) continue;
        Stmt remove = conn.prepare("DELETE FROM scans WHERE id = ?1");  // findings: ON DELETE CASCADE
        remove.bind(1, stored->first).run();
      }
      Stmt insert = conn.prepare(
          "INSERT INTO scans (digest, scanner, scanner_version, database_version, scanned_at, count_unknown, "
          "count_negligible, count_low, count_medium, count_high, count_critical, malware, artifact, imported_at) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) RETURNING id");
      insert.bind(1, r.digest).bind(2, r.scanner).bind(3, r.scannerVersion).bind(4, r.databaseVersion);
      insert.bind(5, r.scannedAt);
      for (std::size_t s = 0; s < kSeverityCount; ++s) insert.bind(6 + static_cast<int>(s), std::int64_t{r.counts[s]});
      insert.bind(12, static_cast<std::int64_t>(r.malware)).bind(13, r.artifact).bind(14, now);
      if (!insert.step()) conn.fail("INSERT returned no id");
      const std::int64_t scanId = insert.integer(0);
      insert.run();
      Stmt finding = conn.prepare(
          "INSERT INTO findings (scan_id, seq, kind, id, package, installed_version, fixed_version, severity) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
      std::int64_t seq = 0;
      for (const Finding& f : r.findings) {
        finding.bind(1, scanId).bind(2, seq++).bind(3, f.kind).bind(4, f.id).bind(5, f.package);
        finding.bind(6, f.installedVersion).bind(7, f.fixedVersion).bind(8, static_cast<std::int64_t>(f.severity));
        finding.run();
        finding.reset();
      }
      outcome.stored = true;
    }
    txn.commit();
    return outcomes;
  }

  std::vector<ScanRecord> get(std::string_view digest) override {
    std::vector<ScanRecord> records;
    if (digest.size() > kMaxStringBytes) return records;  // cannot have been stored
    Reader reader(*this);
    Connection& conn = reader.conn();
    // One read transaction: the scans and their findings come from the same snapshot even when an
    // import commits in between.
    Transaction txn(conn, "BEGIN");
    std::vector<std::int64_t> ids;
    {
      Stmt scans = conn.prepare(
          kGetScansSql.c_str());
      scans.bind(1, digest);
      while (scans.step()) {
        ScanRecord& r = records.emplace_back();
        ids.push_back(scans.integer(0));
        r.digest = std::string(digest);
        r.databaseVersion = scans.text(1);
        read_scan_columns(scans, 2, conn, r);
      }
    }
    for (std::size_t i = 0; i < records.size(); ++i) {
      Stmt findings = conn.prepare(
          "SELECT kind, id, package, installed_version, fixed_version, severity FROM findings "
          "WHERE scan_id = ?1 ORDER BY seq");
      findings.bind(1, ids[i]);
      while (findings.step()) {
        Finding& f = records[i].findings.emplace_back();
        f.kind = findings.text(0);
        f.id = findings.text(1);
        f.package = findings.text(2);
        f.installedVersion = findings.text(3);
        f.fixedVersion = findings.text(4);
        f.severity = severity_from(findings.integer(5), conn);
      }
    }
    txn.commit();
    return records;
  }

  std::vector<Summary> list(std::size_t limit, std::size_t offset) override {
    std::vector<Summary> summaries;
    Reader reader(*this);
    Connection& conn = reader.conn();
    Stmt rows = conn.prepare(
        kListScansSql.c_str());
    rows.bind(1, clamp(limit)).bind(2, clamp(offset));
    while (rows.step()) {
      Summary& s = summaries.emplace_back();
      s.digest = rows.text(0);
      read_scan_columns(rows, 1, conn, s);
    }
    return summaries;
  }

  StoreStats stats() override {
    Reader reader(*this);
    Connection& conn = reader.conn();
    // Four queries in one snapshot rather than one aggregate: in a single SELECT, SQLite counts
    // the distinct digests through a temporary B-tree (160 ms at 100,000 scans); apart, each walks
    // an index in order (about 10 ms together) and min/max are one index probe each.
    Transaction txn(conn, "BEGIN");
    StoreStats stats;
    auto one = [&](const char* sql) {
      Stmt row = conn.prepare(sql);
      return row.step() ? row.integer(0) : 0;
    };
    stats.records = one("SELECT count(*) FROM scans");
    stats.digests = one("SELECT count(DISTINCT digest) FROM scans");
    stats.oldestScan = one("SELECT coalesce(min(scanned_at), 0) FROM scans");
    stats.newestScan = one("SELECT coalesce(max(scanned_at), 0) FROM scans");
    txn.commit();
    return stats;
  }

 private:
  // A reader connection borrowed from the pool for one call (opened when none is idle).
  class Reader {
   public:
    explicit Reader(SqliteStore& store) : store_(store) {
      {
        std::lock_guard lock(store_.poolMutex_);
        if (!store_.idle_.empty()) {
          conn_ = std::move(store_.idle_.back());
          store_.idle_.pop_back();
        }
      }
      if (!conn_) conn_ = std::make_unique<Connection>(store_.path_, Connection::Role::Reader);
    }
    ~Reader() {
      std::lock_guard lock(store_.poolMutex_);
      if (store_.idle_.size() < kMaxIdleReaders) store_.idle_.push_back(std::move(conn_));
    }
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    Connection& conn() { return *conn_; }

   private:
    SqliteStore& store_;
    std::unique_ptr<Connection> conn_;
  };

  static std::int64_t clamp(std::size_t n) {
    constexpr auto kMax = static_cast<std::size_t>(INT64_MAX);
    return static_cast<std::int64_t>(n > kMax ? kMax : n);
  }

  const std::string path_;
  std::mutex writeMutex_;
  std::unique_ptr<Connection> writer_;
  std::mutex poolMutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path) {
  return std::make_unique<SqliteStore>(path);
}

}  // namespace podgate::scan

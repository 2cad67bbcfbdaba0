// `podgate scans import|show|list`: the scan cache from the command line, on the database file
// the config names (scans.database), or on the cluster's ImageScans (scans.store: kubernetes, or
// --kubeconfig). Imports to the file are seen by a running podgate when its in-memory entries
// expire (docs/operations.md), or at once through POST /v1/scans; ImageScans by every replica
// through its watch.

#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "image/reference.h"
#include "policy/sources.h"
#include "scan/kube_store.h"
#include "scan/present.h"
#include "scan/report.h"
#include "scan/store.h"
#include "util/time.h"

namespace podgate::cli {

namespace {

// The store a scans command works on, and the cluster client behind it (kept alive with it).
struct OpenStore {
  std::shared_ptr<kube::Client> cluster;
  std::shared_ptr<scan::Store> store;
  explicit operator bool() const { return store != nullptr; }
  scan::Store* operator->() const { return store.get(); }
};

OpenStore open_store(config::Config cfg, const char* command) {
  OpenStore open;
  try {
    if (!kubeconfig_flag().empty()) cfg.scans.store = config::ScanStore::Kubernetes;
    if (cfg.scans.store != config::ScanStore::Kubernetes) {
      open.store = scan::open_sqlite_store(cfg.scans.database);
      return open;
    }
    cfg.scans.trivyOperator = false;  // these commands are about podgate's own scans
    open.cluster = policy::make_kube_client(cfg, "", nullptr, nullptr);
    auto store = policy::open_scan_store(cfg, open.cluster.get());
    auto kube_store = std::static_pointer_cast<scan::KubeStore>(store);
    policy::start_scan_store(store);
    // The index of every ImageScan first: an import skips what is no newer, list and show read it.
    if (!kube_store->wait_synced(cfg.scans.syncTimeout))
      throw scan::StoreError("cannot read ImageScans from " + open.cluster->config().source + " within scans.syncTimeout: " +
                             kube_store->sync_error());
    open.store = std::move(store);
  } catch (const std::exception& e) {
    std::cerr << "podgate scans " << command << ": " << e.what() << "\n";
    open.store.reset();
  }
  return open;
}

// Reads at most kMaxReportBytes + 1 bytes (one more tells the caller it was too large), in
// pieces: allocating the whole bound up front cost every small report a 64 MiB page-in.
bool read_report(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.clear();
  char piece[64 * 1024];
  while (out.size() <= scan::kMaxReportBytes && in.read(piece, sizeof piece).gcount() > 0) {
    out.append(piece, static_cast<std::size_t>(in.gcount()));
    if (!in) break;
  }
  if (out.size() > scan::kMaxReportBytes + 1) out.resize(scan::kMaxReportBytes + 1);
  return !in.bad();
}

}  // namespace

int scans_import(const std::string& config_path, const std::vector<std::string>& reports) {
  auto loaded = load_config_or_report("scans import", config_path);
  if (!loaded) return 2;
  auto store = open_store(*loaded, "import");
  if (!store) return 2;
  int failed = 0;
  for (const auto& path : reports) {
    std::string text;
    if (!read_report(path, text)) {
      std::cerr << path << ": cannot read\n";
      ++failed;
      continue;
    }
    if (text.size() > scan::kMaxReportBytes) {
      std::cerr << path << ": larger than " << scan::kMaxReportBytes << " bytes\n";
      ++failed;
      continue;
    }
    const scan::ParsedReport report = scan::parse_report(text, path);
    if (!report) {
      std::cerr << report.error << "\n";  // already names the file
      ++failed;
      continue;
    }
    try {
      // One report, one transaction: a report is stored whole or not at all.
      const auto outcomes = store->put(report.records);
      for (std::size_t i = 0; i < report.records.size(); ++i) {
        const auto& r = report.records[i];
        std::cout << path << ": " << scan::to_string(report.format) << " " << r.digest << " " << r.scanner << " "
                  << util::rfc3339(r.scannedAt) << " " << r.findings.size() << " findings: "
                  << (outcomes[i].stored ? "stored" : "unchanged (an equal or newer scan is stored)") << "\n";
      }
    } catch (const std::exception& e) {
      std::cerr << path << ": not stored: " << e.what() << "\n";
      ++failed;
    }
  }
  return failed > 0 ? 1 : 0;
}

int scans_show(const std::string& config_path, const std::string& digest) {
  auto loaded = load_config_or_report("scans show", config_path);
  if (!loaded) return 2;
  if (!image::is_valid_digest(digest)) {
    std::cerr << "podgate scans show: expected a digest sha256:<64 hex>, got " << digest << "\n";
    return 2;
  }
  auto store = open_store(*loaded, "show");
  if (!store) return 2;
  const auto records = store->get(digest);
  if (records.empty()) {
    std::cerr << "podgate scans show: no scan of " << digest << "\n";
    return 1;
  }
  std::cout << scan::records_json(digest, records) << "\n";
  return 0;
}

int scans_list(const std::string& config_path, std::size_t limit) {
  auto loaded = load_config_or_report("scans list", config_path);
  if (!loaded) return 2;
  auto store = open_store(*loaded, "list");
  if (!store) return 2;
  const auto stats = store->stats();
  std::cout << "DIGEST  SCANNER  SCANNED  CRITICAL HIGH MEDIUM LOW  MALWARE  ARTIFACT\n";
  for (const auto& s : store->list(limit, 0)) {
    std::cout << s.digest << "  " << s.scanner << (s.scannerVersion.empty() ? "" : " " + s.scannerVersion) << "  "
              << util::rfc3339(s.scannedAt) << "  " << s.counts[static_cast<int>(scan::Severity::Critical)] << " "
              << s.counts[static_cast<int>(scan::Severity::High)] << " "
              << s.counts[static_cast<int>(scan::Severity::Medium)] << " "
              << s.counts[static_cast<int>(scan::Severity::Low)] << "  " << scan::to_string(s.malware) << "  "
              << s.artifact << "\n";
  }
  std::cerr << stats.records << " scans of " << stats.digests << " digests";
  if (stats.records > 0)
    std::cerr << ", oldest " << util::rfc3339(stats.oldestScan) << ", newest " << util::rfc3339(stats.newestScan);
  std::cerr << "\n";
  return 0;
}

}  // namespace podgate::cli

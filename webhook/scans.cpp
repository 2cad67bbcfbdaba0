// `podgate scans import|show|list|wanted`: the scan cache from the command line, on the database
// file the config names (scans.database), or on the cluster's ImageScans (scans.store: kubernetes,
// or --kubeconfig). Imports to the file are seen by a running podgate when its in-memory entries
// expire (docs/operations.md), or at once through POST /v1/scans; ImageScans by every replica
// through its watch. `wanted` also lists the cluster's Pods, once.

#include <rapidjson/document.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <system_error>

#include "audit/pod_cache.h"
#include "audit/wanted.h"
#include "commands.h"
#include "image/reference.h"
#include "policy/sources.h"
#include "scan/kube_store.h"
#include "scan/present.h"
#include "scan/report.h"
#include "scan/store.h"
#include "util/json.h"
#include "util/json_depth.h"
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
// False with `why` set (the errno text) when the file cannot be read.
bool read_report(const std::string& path, std::string& out, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = std::generic_category().message(errno);
    return false;
  }
  out.clear();
  char piece[64 * 1024];
  while (out.size() <= scan::kMaxReportBytes && in.read(piece, sizeof piece).gcount() > 0) {
    out.append(piece, static_cast<std::size_t>(in.gcount()));
    if (!in) break;
  }
  if (out.size() > scan::kMaxReportBytes + 1) out.resize(scan::kMaxReportBytes + 1);
  if (in.bad()) why = std::generic_category().message(errno);
  return !in.bad();
}

// Deeper than any Pod needs (a list page adds two levels), as the reflector bounds it.
constexpr unsigned kMaxPodListDepth = 100;

const rapidjson::Value* member(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject()) return nullptr;
  const auto it = v.FindMember(name);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

std::string list_continue(const rapidjson::Document& page) {
  const rapidjson::Value* meta = member(page, "metadata");
  const rapidjson::Value* token = meta ? member(*meta, "continue") : nullptr;
  return token && token->IsString() ? std::string(token->GetString(), token->GetStringLength()) : std::string();
}

using Projections = std::vector<std::shared_ptr<const audit::PodProjection>>;

// Adds a list page's Pods, projected as the audit's Pod cache keeps them (Pods that do not run and
// exempt namespaces left out, as the cache leaves them out). Gives the continue token.
std::string add_pod_page(const std::string& body, const std::vector<std::string>& skipNamespaces, Projections& pods) {
  rapidjson::Document page;
  std::string why;
  if (!util::parse_depth_limited(body, page, kMaxPodListDepth, &why))
    throw std::runtime_error("list pods: the answer is not JSON: " + why);
  const rapidjson::Value* items = member(page, "items");
  if (!items || !items->IsArray()) throw std::runtime_error("list pods: the answer is not a list");
  for (const auto& item : items->GetArray()) {
    rapidjson::StringBuffer buffer;
    util::JsonWriter writer(buffer);
    item.Accept(writer);
    std::string error;
    auto pod = audit::project_pod(std::string_view(buffer.GetString(), buffer.GetSize()), &error);
    if (!pod) {
      if (!error.empty()) std::cerr << "podgate scans wanted: an object of the Pod list left out: " << error << "\n";
      continue;
    }
    if (std::find(skipNamespaces.begin(), skipNamespaces.end(), pod->namespace_) != skipNamespaces.end()) continue;
    pods.push_back(std::make_shared<const audit::PodProjection>(std::move(*pod)));
  }
  return list_continue(page);
}

// Every Pod of the cluster, page by page (limit/continue, as the reflector lists: memory bounded by
// a page plus the projections). An expired continue token (410) starts the list again.
Projections list_pods(kube::Client& client, const std::vector<std::string>& skipNamespaces) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    Projections pods;
    std::string continueToken;
    bool expired = false;
    do {
      std::string target = "/api/v1/pods?limit=500";
      if (!continueToken.empty()) target += "&continue=" + kube::query_escape(continueToken);
      const kube::Response page = client.request({"list", "pods"}, "GET", target);
      if (page.status == 410 && !continueToken.empty()) {
        expired = true;
        break;
      }
      if (!page.ok()) throw std::runtime_error("list pods at " + client.config().source + ": " + page.describe());
      continueToken = add_pod_page(page.body, skipNamespaces, pods);
    } while (!continueToken.empty());
    if (!expired) return pods;
  }
  throw std::runtime_error("list pods: the continue token kept expiring");
}

// The scans the scan rule judges with (policy::open_scan_cache: the configured store, Trivy
// Operator's reports included), opened even while the rule is off: what wants a scan is the same.
// --kubeconfig selects the cluster's ImageScans, as for every `scans` command.
std::shared_ptr<scan::Store> open_wanted_store(config::Config cfg, kube::Client* cluster) {
  if (!kubeconfig_flag().empty()) cfg.scans.store = config::ScanStore::Kubernetes;
  if (cfg.rules.images.scan.action == config::Action::Off) cfg.rules.images.scan.action = config::Action::Warn;
  return policy::open_scan_cache(cfg, cluster);
}

std::string hours_or_seconds(std::chrono::milliseconds d) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  return s % 3600 == 0 ? std::to_string(s / 3600) + "h" : std::to_string(s) + "s";
}

}  // namespace

int scans_import(const std::string& config_path, const std::vector<std::string>& reports) {
  auto loaded = load_config_or_report("scans import", config_path);
  if (!loaded) return 2;
  auto store = open_store(*loaded, "import");
  if (!store) return 2;
  int failed = 0;
  for (const auto& path : reports) {
    std::string text, why;
    if (!read_report(path, text, why)) {
      std::cerr << path << ": cannot read: " << why << "\n";
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

int scans_wanted(const std::string& config_path, const std::string& output, std::size_t limit) {
  auto loaded = load_config_or_report("scans wanted", config_path);
  if (!loaded) return 2;
  std::vector<audit::RunningImage> running;
  std::vector<audit::WantedImage> wanted;
  std::size_t podCount = 0;
  try {
    std::shared_ptr<kube::Client> cluster = policy::make_kube_client(*loaded, "", nullptr, nullptr);
    const Projections pods = list_pods(*cluster, loaded->exemptions.namespaces);
    podCount = pods.size();
    running = audit::running_images(pods);
    auto store = open_wanted_store(*loaded, cluster.get());
    // Only what runs: what a replica admitted is in its own memory (GET /v1/scans/wanted has it).
    wanted = audit::wanted_images(running, {}, *store, loaded->rules.images.scan.maxScanAge,
                                  static_cast<std::int64_t>(std::time(nullptr)), limit);
  } catch (const std::exception& e) {
    std::cerr << "podgate scans wanted: " << e.what() << "\n";
    return 2;
  }
  if (output == "json") {
    std::cout << audit::wanted_json(wanted) << "\n";
  } else {
    for (const auto& w : wanted)
      std::cout << w.digest << "  " << w.reference << "  since=" << util::rfc3339(w.since)
                << " scanned=" << (w.scannedAt == 0 ? std::string("never") : util::rfc3339(w.scannedAt))
                << " pods=" << w.pods << "\n";
  }
  std::cerr << wanted.size() << (wanted.size() == limit ? " (--limit reached)" : "") << " of " << running.size()
            << " running digests (" << podCount << " Pods) have no scan younger than rules.images.scan.maxScanAge ("
            << hours_or_seconds(loaded->rules.images.scan.maxScanAge) << ")\n";
  return 0;
}

}  // namespace podgate::cli

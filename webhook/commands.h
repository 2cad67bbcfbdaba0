#pragma once
// The podgate subcommands. Each returns the process exit code.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "kube/client.h"
#include "registry/digest_cache.h"
#include "scan/store.h"
#include "trust/verifier.h"

namespace podgate::cli {

// Flags that override the config file for `serve`.
struct ServeOverrides {
  std::string listen, metricsListen, tlsCert, tlsKey, logLevel;
};

// The --kubeconfig flag every command takes (set by main before a command runs): load_config puts
// it in kubernetes.kubeconfig, and for `scans` commands it also selects the kubernetes store.
void set_kubeconfig_flag(std::string path);
const std::string& kubeconfig_flag();

// Loads --config FILE, or the embedded defaults when it is empty, with --kubeconfig applied.
// Throws config::ConfigError.
config::Config load_config(const std::string& path);
// The same for the one-shot commands: a bad file prints "podgate <command>: <why>" on stderr and
// gives nullopt (they then exit 2).
std::optional<config::Config> load_config_or_report(const char* command, const std::string& path);

// What the image rules of a one-shot command judge with: the image resolver and the scan cache,
// each null when its rule is off (policy::make_image_resolver, policy::open_scan_cache).
struct ImageSources {
  std::shared_ptr<kube::Client> cluster;  // when the config needs it (policy::needs_cluster); outlives scans
  std::shared_ptr<registry::DigestCache> images;
  std::shared_ptr<trust::SignatureVerifier> signatures;  // null without rules.images.signatures
  std::shared_ptr<scan::Store> scans;
};
// Opens them for `podgate <command>`, without metrics or logs. Unusable registry credentials or
// scan database: prints "podgate <command>: <why>" on stderr and gives nullopt (the command then
// exits 2).
std::optional<ImageSources> open_image_sources_or_report(const char* command, const config::Config& cfg);

int serve(const std::string& config_path, const ServeOverrides& overrides);
int review(const std::string& config_path, const std::string& input, bool audit_route);
int scans_import(const std::string& config_path, const std::vector<std::string>& reports);
int scans_show(const std::string& config_path, const std::string& digest);
int scans_list(const std::string& config_path, std::size_t limit);
// The digests running in the cluster (its Pods, listed once) with no scan younger than
// rules.images.scan.maxScanAge, oldest first; `output` "text" or "json" (audit::wanted_json).
int scans_wanted(const std::string& config_path, const std::string& output, std::size_t limit);
int resolve(const std::string& config_path, const std::vector<std::string>& images);
// `podgate resolve --pin -f FILE`: FILE ("-": stdin) printed with its pod-bearing objects' images
// pinned to their digests; exit 1 when an image was left unpinned, 2 on bad input.
int resolve_pin(const std::string& config_path, const std::string& path, const std::string& default_namespace);
// `output` is "text", "json", "sarif" or "junit" (lib/check_report).
int check(const std::string& config_path, const std::vector<std::string>& paths, const std::string& default_namespace,
          const std::string& output);
// `namespace_` "" = every namespace; `output` "text" or "json".
int audit(const std::string& config_path, const std::string& namespace_, const std::string& output);

}  // namespace podgate::cli

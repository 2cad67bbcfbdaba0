// What the subcommands share: config loading (--config FILE, or the embedded defaults) and the
// image rules' sources for the one-shot commands.

#include <iostream>

#include "commands.h"
#include "policy/sources.h"

namespace podgate::cli {

namespace {
std::string& kubeconfig_flag_storage() {
  static std::string path;
  return path;
}
}  // namespace

void set_kubeconfig_flag(std::string path) { kubeconfig_flag_storage() = std::move(path); }
const std::string& kubeconfig_flag() { return kubeconfig_flag_storage(); }

config::Config load_config(const std::string& path) {
  config::Config cfg = path.empty() ? config::Config{} : config::load_file(path);
  if (!kubeconfig_flag().empty()) cfg.kubernetes.kubeconfig = kubeconfig_flag();
  // The signature keys are read now, so a bad one stops every command with the config's own error.
  try {
    policy::check_signature_keys(cfg.rules.images);
  } catch (const std::runtime_error& e) {
    throw config::ConfigError((path.empty() ? std::string("embedded defaults") : path) + ": " + e.what());
  }
  return cfg;
}

std::optional<config::Config> load_config_or_report(const char* command, const std::string& path) {
  try {
    return load_config(path);
  } catch (const std::exception& e) {
    std::cerr << "podgate " << command << ": " << e.what() << "\n";
    return std::nullopt;
  }
}

std::optional<ImageSources> open_image_sources_or_report(const char* command, const config::Config& cfg) {
  try {
    ImageSources sources;
    const bool scan_rule = cfg.rules.images.scan.action != config::Action::Off;
    if (scan_rule && (cfg.scans.store == config::ScanStore::Kubernetes || cfg.scans.trivyOperator))
      sources.cluster = policy::make_kube_client(cfg, "", nullptr, nullptr);
    auto services = policy::make_image_services(cfg, nullptr, nullptr);
    sources.images = std::move(services.digests);
    sources.signatures = std::move(services.signatures);
    sources.scans = policy::open_scan_cache(cfg, sources.cluster.get());
    return sources;
  } catch (const std::exception& e) {
    std::cerr << "podgate " << command << ": " << e.what() << "\n";
    return std::nullopt;
  }
}

}  // namespace podgate::cli

// What the subcommands share: config loading (--config FILE, or the embedded defaults) and the
// image rules' sources for the one-shot commands.

#include <iostream>

#include "commands.h"
#include "policy/sources.h"

namespace podgate::cli {

config::Config load_config(const std::string& path) {
  return path.empty() ? config::Config{} : config::load_file(path);
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
    return ImageSources{policy::make_image_resolver(cfg, nullptr, nullptr), policy::open_scan_cache(cfg)};
  } catch (const std::exception& e) {
    std::cerr << "podgate " << command << ": " << e.what() << "\n";
    return std::nullopt;
  }
}

}  // namespace podgate::cli

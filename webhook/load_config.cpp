// Config loading shared by every subcommand: --config FILE, or the embedded defaults.

#include <iostream>

#include "commands.h"

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

}  // namespace podgate::cli

#pragma once
// The podgate subcommands. Each returns the process exit code.

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"

namespace podgate::cli {

// Flags that override the config file for `serve`.
struct ServeOverrides {
  std::string listen, metricsListen, tlsCert, tlsKey, logLevel;
};

// Loads --config FILE, or the embedded defaults when it is empty. Throws config::ConfigError.
config::Config load_config(const std::string& path);
// The same for the one-shot commands: a bad file prints "podgate <command>: <why>" on stderr and
// gives nullopt (they then exit 2).
std::optional<config::Config> load_config_or_report(const char* command, const std::string& path);

int serve(const std::string& config_path, const ServeOverrides& overrides);
int review(const std::string& config_path, const std::string& input, bool audit_route);
int scans_import(const std::string& config_path, const std::vector<std::string>& reports);
int scans_show(const std::string& config_path, const std::string& digest);
int scans_list(const std::string& config_path, std::size_t limit);
int resolve(const std::string& config_path, const std::vector<std::string>& images);
int check(const std::string& config_path, const std::vector<std::string>& paths, const std::string& default_namespace);

}  // namespace podgate::cli

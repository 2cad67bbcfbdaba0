// config::parse, the YAML loader (`podgate serve --config`, hot reload). Invariants: bad input is
// a ConfigError (no other exception, no crash); an accepted config renders with to_yaml() to text
// that parses back to an equal Config, so `podgate config defaults`-style output is always loadable.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "config/config.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using podgate::config::Config;
  using podgate::config::ConfigError;
  Config config;
  try {
    config = podgate::config::parse(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  } catch (const ConfigError& e) {
    FUZZ_CHECK(std::string(e.what()).starts_with("fuzz.yaml: "));
    return 0;
  }
  const std::string yaml = podgate::config::to_yaml(config);
  Config again;
  try {
    again = podgate::config::parse(yaml, "rendered.yaml");
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "to_yaml output refused: %s\n--- rendered ---\n%s\n", e.what(), yaml.c_str());
    FUZZ_CHECK(false);
  }
  if (!(again == config)) std::fprintf(stderr, "--- rendered ---\n%s\n", yaml.c_str());
  FUZZ_CHECK(again == config);
  return 0;
}

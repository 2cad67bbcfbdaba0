// `podgate resolve`: the registry client and its settings, from the command line, for debugging
// credentials, CA files and what a tag points at right now.

#include <future>
#include <iostream>

#include "commands.h"
#include "image/reference.h"
#include "registry/client.h"

namespace podgate::cli {

int resolve(const std::string& config_path, const std::vector<std::string>& images) {
  auto loaded = load_config_or_report("resolve", config_path);
  if (!loaded) return 2;
  const config::Config& cfg = *loaded;

  std::vector<image::Reference> refs;
  for (const auto& text : images) {
    auto parsed = image::parse(text);
    if (!parsed) {
      std::cerr << "podgate resolve: " << text << ": " << parsed.error << "\n";
      return 2;
    }
    refs.push_back(*parsed.reference);
  }

  std::unique_ptr<registry::Client> client;
  try {
    client = std::make_unique<registry::Client>(cfg.registries, registry::client_options(cfg.rules.images.resolve),
                                                 nullptr, nullptr);
  } catch (const std::exception& e) {
    std::cerr << "podgate resolve: " << e.what() << "\n";
    return 2;
  }

  // All at once, as admission resolves the images of one pod; printed in the order given.
  std::vector<std::promise<registry::Resolution>> promises(refs.size());
  std::vector<std::future<registry::Resolution>> futures;
  for (auto& p : promises) futures.push_back(p.get_future());
  for (std::size_t i = 0; i < refs.size(); ++i)
    client->resolve(refs[i], [&promises, i](registry::Resolution r) { promises[i].set_value(std::move(r)); });

  int failures = 0;
  for (std::size_t i = 0; i < refs.size(); ++i) {
    const registry::Resolution r = futures[i].get();
    const std::string name = refs[i].canonical();
    if (!r.ok()) {
      ++failures;
      std::cerr << name << ": " << registry::to_string(r.failure) << ": " << r.error << "\n";
      continue;
    }
    std::cout << name << " " << r.digest << "\n";
    for (const auto& child : r.children) std::cout << "  " << child.platform << " " << child.digest << "\n";
  }
  return failures > 0 ? 1 : 0;
}

}  // namespace podgate::cli

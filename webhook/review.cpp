// `podgate review`: one AdmissionReview in, the server's exact response out. No network needed
// while the image rules are off.

#include <cerrno>
#include <fstream>
#include <iostream>
#include <memory>
#include <system_error>

#include "commands.h"
#include "policy/review.h"

namespace podgate::cli {

namespace {

// Reads at most `limit` bytes; the same bound the server applies to a request body.
bool read_bounded(std::istream& in, std::size_t limit, std::string& out) {
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    out.append(buf, static_cast<std::size_t>(in.gcount()));
    if (out.size() > limit) return false;
  }
  return true;
}

}  // namespace

int review(const std::string& config_path, const std::string& input, bool audit_route) {
  auto loaded = load_config_or_report("review", config_path);
  if (!loaded) return 2;
  config::Config cfg = std::move(*loaded);
  const std::size_t limit = cfg.server.limits.maxBodyBytes;

  std::string body;
  bool within_limit = true;
  if (input == "-") {
    within_limit = read_bounded(std::cin, limit, body);
  } else {
    std::ifstream file(input, std::ios::binary);
    if (!file) {
      std::cerr << "podgate review: cannot read " << input << ": " << std::generic_category().message(errno) << "\n";
      return 2;
    }
    within_limit = read_bounded(file, limit, body);
  }
  if (!within_limit) {
    std::cerr << "podgate review: input is larger than server.limits.maxBodyBytes (" << limit << " bytes)\n";
    return 2;
  }

  const auto deadline = std::chrono::steady_clock::now() + cfg.server.defaultReviewTimeout;
  auto sources = open_image_sources_or_report("review", cfg);
  if (!sources) return 2;
  policy::Reviewer reviewer(std::make_shared<const policy::Evaluator>(std::move(cfg)), nullptr, nullptr,
                            std::move(sources->images), std::move(sources->scans));
  reviewer.set_signature_verifier(std::move(sources->signatures));
  auto outcome = reviewer.review(std::move(body), audit_route ? policy::Route::Audit : policy::Route::Validate, deadline);
  if (outcome.httpStatus != 200) {
    // The body is already one line naming the problem.
    std::cerr << "podgate review: " << outcome.body;
    return 2;
  }
  std::cout << outcome.body << "\n";
  return 0;
}

}  // namespace podgate::cli

// image::parse and Reference::canonical, the grammar every image rule trusts. Invariants: a refusal
// says why; an accepted reference is fully normalised, and its canonical() form parses back to the
// same Reference (and so to the same canonical string); repository() parses to the same repository.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "image/reference.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = podgate::image::parse(text);
  if (!parsed) {
    FUZZ_CHECK(!parsed.error.empty());
    return 0;
  }
  const auto& ref = *parsed.reference;
  FUZZ_CHECK(!ref.domain.empty());
  FUZZ_CHECK(!ref.path.empty());
  FUZZ_CHECK(!ref.tag.empty() || !ref.digest.empty());
  FUZZ_CHECK(ref.digest.empty() || podgate::image::is_valid_digest(ref.digest));
  FUZZ_CHECK(!ref.manifest_reference().empty());

  const std::string canonical = ref.canonical();
  const auto again = podgate::image::parse(canonical);
  FUZZ_CHECK(again);
  FUZZ_CHECK(*again.reference == ref);
  FUZZ_CHECK(again.reference->canonical() == canonical);

  const std::string repository = ref.repository();
  FUZZ_CHECK(canonical.starts_with(repository));
  const auto repo = podgate::image::parse(repository);
  FUZZ_CHECK(repo);
  FUZZ_CHECK(repo.reference->domain == ref.domain && repo.reference->path == ref.path);
  FUZZ_CHECK(repo.reference->repository() == repository);
  return 0;
}

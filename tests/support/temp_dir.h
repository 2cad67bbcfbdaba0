#pragma once
// A temporary directory removed (with its contents) when the object goes away.

#include <string>
#include <string_view>

namespace podgate::test {

class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "podgate-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name (no check that it exists).
  std::string file(std::string_view name) const;
  // Writes `content` to path()/name (see write_file) and returns that path.
  std::string write(std::string_view name, std::string_view content) const;

 private:
  std::string path_;
};

// Writes `content` to `path` (truncating), throwing std::runtime_error on failure.
void write_file(const std::string& path, std::string_view content);
// Writes to a temporary name in the same directory, then renames it over `path`, so a reader
// sees either the old or the new file, never a partial one (how Kubernetes' atomic writer works).
void write_file_atomically(const std::string& path, std::string_view content);
std::string read_file(const std::string& path);

}  // namespace podgate::test

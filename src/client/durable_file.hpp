// Writing small and large files so that a crash leaves the old version or the new one, never a
// torn file: temp file, fsync, rename, fsync of the directory. Private to the library.
#pragma once

#include <string>
#include <string_view>

#include "gencontrol/status.hpp"

namespace gencontrol::client {

// Temporary files start with this, so listings can skip unfinished writes.
inline constexpr std::string_view kTempPrefix = ".gencontrol-tmp-";

// Creates missing parent directories (each fsynced into its parent).
Status write_file_durably(const std::string& path, std::string_view data);
Status remove_file_durably(const std::string& path);           // a missing file is fine
Result<std::string> read_whole_file(const std::string& path);  // kNotFound when absent
Status make_directories(const std::string& path);
Status fsync_directory(const std::string& path);

}  // namespace gencontrol::client

// The object store a node writes its tenants to: put, get, list by prefix, delete a batch.
// One interface; the local-directory backend here, S3 or others plug in behind it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gencontrol/status.hpp"

namespace gencontrol::client {

// Keys are '/'-separated relative paths without empty, "." or ".." segments. Every call is
// thread-safe. Objects are immutable once put (a put of an existing key replaces it whole).
class ObjectStore {
public:
    virtual ~ObjectStore() = default;

    // After success the object is durable and whole; a crash mid-put leaves it absent or whole
    // (the previous version when it replaced one).
    virtual Status put(std::string_view key, std::string_view data) = 0;
    // kNotFound when absent.
    virtual Result<std::string> get(std::string_view key) = 0;
    // Every key that starts with `prefix`, sorted; never an unfinished put.
    virtual Result<std::vector<std::string>> list(std::string_view prefix) = 0;
    // Deleting a missing key succeeds, as on S3.
    virtual Status delete_objects(const std::vector<std::string>& keys) = 0;
};

// Objects are files under `root` (created if missing). A put writes a temporary file in the
// target directory, fsyncs it, renames it into place and fsyncs the directory.
Result<std::unique_ptr<ObjectStore>> open_local_directory_store(const std::string& root);

}  // namespace gencontrol::client

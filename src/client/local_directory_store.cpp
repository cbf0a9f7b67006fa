// The local-directory object store: one file per object under a root directory, each put atomic
// and durable (temp file, fsync, rename, fsync of the directory), unlike Neon's LocalFs.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <functional>

#include "durable_file.hpp"
#include "gencontrol/object_store.hpp"

namespace gencontrol::client {
namespace {

// Refuses keys that could escape the root or collide with a temporary file.
Status check_key(std::string_view key) {
    if (key.empty() || key.size() > 1024) return Status::invalid_argument("object key is empty or too long");
    std::size_t start = 0;
    while (start <= key.size()) {
        std::size_t end = key.find('/', start);
        if (end == std::string_view::npos) end = key.size();
        std::string_view segment = key.substr(start, end - start);
        if (segment.empty() || segment == "." || segment == ".." || segment.starts_with(kTempPrefix)) {
            return Status::invalid_argument("object key has an empty, '.', '..' or reserved segment: " +
                                            std::string(key.substr(0, 200)));
        }
        if (segment.find('\0') != std::string_view::npos)
            return Status::invalid_argument("NUL in object key");
        start = end + 1;
    }
    return Status::ok();
}

class LocalDirectoryStore final : public ObjectStore {
public:
    explicit LocalDirectoryStore(std::string root) : root_(std::move(root)) {}

    Status put(std::string_view key, std::string_view data) override {
        if (auto s = check_key(key); !s.is_ok()) return s;
        return write_file_durably(path_of(key), data);
    }

    Result<std::string> get(std::string_view key) override {
        if (auto s = check_key(key); !s.is_ok()) return s;
        auto r = read_whole_file(path_of(key));
        if (!r.is_ok() && r.status().code() == Status::Code::kNotFound) {
            return Status::not_found("no object " + std::string(key));
        }
        return r;
    }

    Result<std::vector<std::string>> list(std::string_view prefix) override {
        std::vector<std::string> keys;
        // Walk only the deepest directory the prefix names completely; filter the rest by prefix.
        std::string dir_part(
            prefix.substr(0, prefix.rfind('/') == std::string_view::npos ? 0 : prefix.rfind('/')));
        std::string start = dir_part.empty() ? root_ : root_ + "/" + dir_part;
        Status status = walk(start, dir_part, prefix, keys);
        if (!status.is_ok()) return status;
        std::sort(keys.begin(), keys.end());
        return keys;
    }

    Status delete_objects(const std::vector<std::string>& keys) override {
        for (const auto& key : keys) {
            if (auto s = check_key(key); !s.is_ok()) return s;
            if (auto s = remove_file_durably(path_of(key)); !s.is_ok()) return s;
        }
        return Status::ok();
    }

private:
    std::string path_of(std::string_view key) const { return root_ + "/" + std::string(key); }

    Status walk(const std::string& dir, const std::string& key_dir, std::string_view prefix,
                std::vector<std::string>& out) {
        DIR* d = ::opendir(dir.c_str());
        if (d == nullptr) return Status::ok();  // nothing under a missing directory
        Status status;
        while (dirent* entry = ::readdir(d)) {
            std::string_view name = entry->d_name;
            if (name == "." || name == ".." || name.starts_with(kTempPrefix)) continue;
            std::string key = key_dir.empty() ? std::string(name) : key_dir + "/" + std::string(name);
            std::string path = dir + "/" + std::string(name);
            struct stat st;
            if (::lstat(path.c_str(), &st) != 0) continue;  // deleted while we listed
            if (S_ISDIR(st.st_mode)) {
                // Descend only where keys with the prefix can be.
                std::string as_dir = key + "/";
                if (as_dir.starts_with(prefix) || prefix.starts_with(as_dir)) {
                    status = walk(path, key, prefix, out);
                    if (!status.is_ok()) break;
                }
            } else if (S_ISREG(st.st_mode) && key.starts_with(prefix)) {
                out.push_back(std::move(key));
            }
        }
        ::closedir(d);
        return status;
    }

    std::string root_;
};

}  // namespace

Result<std::unique_ptr<ObjectStore>> open_local_directory_store(const std::string& root) {
    if (root.empty()) return Status::invalid_argument("object store root is empty");
    std::string trimmed = root;
    while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
    if (auto s = make_directories(trimmed); !s.is_ok()) return s;
    return std::unique_ptr<ObjectStore>(std::make_unique<LocalDirectoryStore>(trimmed));
}

}  // namespace gencontrol::client

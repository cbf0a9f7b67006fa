// Crash-safe file writes for the local object store, the deletion queue and the attach marker:
// every write goes to a temporary file that is fsynced and renamed into place.
#include "durable_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace gencontrol::client {
namespace {

std::string errno_text(const std::string& what, const std::string& path) {
    return what + " " + path + ": " + std::strerror(errno);
}

std::string parent_of(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

}  // namespace

Status fsync_directory(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::io_error(errno_text("open directory", path));
    int rc = ::fsync(fd);
    int saved = errno;
    ::close(fd);
    errno = saved;
    if (rc != 0) return Status::io_error(errno_text("fsync directory", path));
    return Status::ok();
}

Status make_directories(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) {
        return S_ISDIR(st.st_mode) ? Status::ok() : Status::io_error(path + " is not a directory");
    }
    std::string parent = parent_of(path);
    if (parent != path) {
        if (auto s = make_directories(parent); !s.is_ok()) return s;
    }
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
        return Status::io_error(errno_text("mkdir", path));
    }
    // The new entry must survive a crash, or files renamed into it later could vanish with it.
    return fsync_directory(parent);
}

Status write_file_durably(const std::string& path, std::string_view data) {
    static std::atomic<unsigned long> counter{0};
    std::string dir = parent_of(path);
    if (auto s = make_directories(dir); !s.is_ok()) return s;
    std::string temp =
        dir + "/" + std::string(kTempPrefix) + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Status::io_error(errno_text("create", temp));
    const char* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            Status s = Status::io_error(errno_text("write", temp));
            ::close(fd);
            ::unlink(temp.c_str());
            return s;
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
        Status s = Status::io_error(errno_text("fsync", temp));
        ::close(fd);
        ::unlink(temp.c_str());
        return s;
    }
    ::close(fd);
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        Status s = Status::io_error(errno_text("rename to", path));
        ::unlink(temp.c_str());
        return s;
    }
    return fsync_directory(dir);
}

Status remove_file_durably(const std::string& path) {
    if (::unlink(path.c_str()) != 0) {
        if (errno == ENOENT) return Status::ok();
        return Status::io_error(errno_text("unlink", path));
    }
    return fsync_directory(parent_of(path));
}

Result<std::string> read_whole_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return Status::not_found(path + " does not exist");
        return Status::io_error(errno_text("open", path));
    }
    std::string out;
    char buf[1 << 16];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            Status s = Status::io_error(errno_text("read", path));
            ::close(fd);
            return s;
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

}  // namespace gencontrol::client

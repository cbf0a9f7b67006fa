// The `attaching` marker that makes attach crash-safe: present from before the first download
// until every layer was checked, so a restart redoes an attach that was cut short.
#include "gencontrol/attach_marker.hpp"

#include <sys/stat.h>

#include "durable_file.hpp"

namespace gencontrol::client {

Status begin_attach(const std::string& tenant_dir) {
    return write_file_durably(tenant_dir + "/attaching", "");
}

Status finish_attach(const std::string& tenant_dir) {
    return remove_file_durably(tenant_dir + "/attaching");
}

bool attach_interrupted(const std::string& tenant_dir) {
    struct stat st;
    return ::stat((tenant_dir + "/attaching").c_str(), &st) == 0;
}

}  // namespace gencontrol::client

// Crash-safe attach: an `attaching` marker in a tenant shard's local directory while its index
// and layers are downloaded and checked, so a restart knows the local copy is incomplete.
#pragma once

#include <string>

#include "gencontrol/status.hpp"

namespace gencontrol::client {

// Creates the directory if needed and writes {tenant_dir}/attaching durably.
Status begin_attach(const std::string& tenant_dir);
// Removes the marker durably: the local copy is complete.
Status finish_attach(const std::string& tenant_dir);
// True when an attach started and never finished: discard the local copy and attach again.
bool attach_interrupted(const std::string& tenant_dir);

}  // namespace gencontrol::client

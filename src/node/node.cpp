// The reference node's life: open the store and queues, start up by docs/design.md's order, take
// location changes, and in the background publish progress and drain the deletion queue.
#include "node.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "log.hpp"

namespace gencontrol::node {

Node::Node(NodeConfig config) : config_(std::move(config)) {}

Status Node::open() {
    auto store = client::open_local_directory_store(config_.remote_storage);
    if (!store.is_ok()) return store.status();
    store_ = std::move(store).value();
    if (!config_.no_generations) {
        std::unique_ptr<client::GenerationClient> inner;
        if (!config_.control_plane_api.empty()) {
            client::HttpClientOptions options;
            options.base_url = config_.control_plane_api;
            options.ca_file = config_.control_plane_ca_file;
            if (!config_.control_plane_token_file.empty()) {
                std::ifstream file(config_.control_plane_token_file);
                if (!file) return Status::io_error("cannot read " + config_.control_plane_token_file);
                std::getline(file, options.bearer_token, '\0');
                while (!options.bearer_token.empty() &&
                       std::isspace(static_cast<unsigned char>(options.bearer_token.back()))) {
                    options.bearer_token.pop_back();
                }
            }
            inner = client::make_http_generation_client(std::move(options), stop_);
        } else {
            inner = client::make_sql_generation_client(config_.control_plane_database_url, stop_);
        }
        generations_ = std::make_unique<CountingGenerationClient>(std::move(inner), stop_);
        generations_->set_retry_observer([](const Status& s, unsigned attempt) {
            log_line("generation service call failed (attempt " + std::to_string(attempt) +
                     "), retrying: " + s.message());
        });
    }
    auto deletions = client::DeletionQueue::open(config_.workdir, *store_, generations_.get());
    if (!deletions.is_ok()) return deletions.status();
    deletions_ = std::move(deletions).value();
    services_.reset(new NodeServices{*store_, *deletions_, generations_.get(), config_.workdir, stop_});
    return Status::ok();
}

Status Node::start_up() {
    std::map<std::string, Generation> attached;
    std::map<std::string, std::shared_ptr<TenantShard>> held;
    if (generations_) {
        client::NodeRegistration me{config_.node_id,     config_.listen_host, config_.listen_port,
                                    config_.listen_host, config_.listen_port, "local"};
        auto shards = generations_->re_attach(me);
        if (!shards.is_ok()) return shards.status();
        for (const auto& shard : shards.value()) {
            if (shard.mode == "Secondary" || !shard.generation) {
                held[shard.tenant_shard_id] = TenantShard::secondary(*services_, shard.tenant_shard_id);
                continue;
            }
            auto tenant = TenantShard::attach(*services_, shard.tenant_shard_id, Mode::kAttachedSingle,
                                              *shard.generation);
            if (!tenant.is_ok()) {
                // Left detached and logged: one broken shard must not keep the node from starting.
                log_line("attach of " + shard.tenant_shard_id + " failed: " + tenant.status().message());
                continue;
            }
            held[shard.tenant_shard_id] = tenant.value();
            attached[shard.tenant_shard_id] = *shard.generation;
        }
        log_line("re-attached " + std::to_string(attached.size()) + " tenant shards");
    }
    // Local state of shards the service did not return belongs to an attachment that is over.
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(config_.workdir + "/tenants", ec)) {
        auto id = entry.path().filename().string();
        if (!attached.contains(id)) std::filesystem::remove_all(entry.path(), ec);
    }
    if (auto s = deletions_->recover(attached); !s.is_ok()) return s;
    {
        std::lock_guard lock(tenants_mutex_);
        tenants_ = std::move(held);
    }
    ready_ = true;
    log_line("ready: serving tenant routes");
    return Status::ok();
}

std::shared_ptr<TenantShard> Node::tenant(const std::string& id) {
    std::lock_guard lock(tenants_mutex_);
    auto it = tenants_.find(id);
    return it == tenants_.end() ? nullptr : it->second;
}

Status Node::set_location(const std::string& id, Mode mode, std::optional<Generation> generation) {
    std::lock_guard location(location_mutex_);
    auto current = tenant(id);
    auto replace = [&](std::shared_ptr<TenantShard> shard) {
        std::lock_guard lock(tenants_mutex_);
        if (shard) {
            tenants_[id] = std::move(shard);
        } else {
            tenants_.erase(id);
        }
    };
    // Whatever replaces an attached shard here ends its attachment: deletions it held back will
    // never run, and are counted as dropped.
    auto end_attachment = [&] {
        if (!current || current->mode() == Mode::kSecondary) return;
        if (auto n = current->discard_held_deletions(); n > 0) {
            log_line("dropped " + std::to_string(n) + " held-back deletions of " + id + " (generation " +
                     std::to_string(current->generation()) + "): its attachment ended");
        }
    };
    if (mode == Mode::kDetached || mode == Mode::kSecondary) {
        end_attachment();
        if (current) current->remove_local_state();
        replace(mode == Mode::kSecondary ? TenantShard::secondary(*services_, id) : nullptr);
        return Status::ok();
    }
    if (!generation) return Status::invalid_argument("generation is required for an attached mode");
    if (current && current->mode() != Mode::kSecondary) {
        if (*generation < current->generation()) {
            return Status::conflict("generation " + std::to_string(*generation) + " is lower than the held " +
                                    std::to_string(current->generation()));
        }
        if (*generation == current->generation()) {
            current->set_mode(mode);
            return Status::ok();
        }
        // A newer generation: attach again from the store under it. Records in memory, which no
        // visible LSN covers, are dropped; deletions held back are dropped too (a leak at worst).
    }
    auto attached = TenantShard::attach(*services_, id, mode, *generation);
    if (!attached.is_ok()) return attached.status();
    end_attachment();
    replace(attached.value());
    return Status::ok();
}

Status Node::flush_deletions(bool execute) {
    return deletions_->flush(execute);
}

void Node::run_background() {
    while (!stop_.wait_for(std::chrono::seconds(1))) {
        if (!ready_) continue;
        std::vector<std::shared_ptr<TenantShard>> shards;
        {
            std::lock_guard lock(tenants_mutex_);
            for (auto& [_, t] : tenants_) shards.push_back(t);
        }
        for (auto& t : shards) t->confirm_progress();
        if (deletions_->pending_keys() > 0) {
            Status s = deletions_->flush(true);
            if (!s.is_ok() && s.code() != Status::Code::kCancelled)
                log_line("deletion queue flush: " + s.message());
        }
    }
}

std::string Node::metrics_text() {
    auto c = deletions_->counters();
    std::ostringstream out;
    auto counter = [&](const char* name, const char* help, std::uint64_t value) {
        out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " counter\n"
            << name << ' ' << value << '\n';
    };
    counter("gencontrol_node_deletion_queue_submitted_total", "Keys pushed to the deletion queue.",
            c.submitted);
    counter("gencontrol_node_deletion_queue_validated_total", "Keys whose generation was confirmed current.",
            c.validated);
    counter("gencontrol_node_deletion_queue_executed_total", "Keys deleted from the object store.",
            c.executed);
    counter("gencontrol_node_deletion_queue_dropped_total", "Keys never deleted: their generation was stale.",
            c.dropped);
    out << "# HELP gencontrol_node_validations_total Validate outcomes: per shard checked, or per failed "
           "call.\n"
        << "# TYPE gencontrol_node_validations_total counter\n";
    std::uint64_t valid = generations_ ? generations_->valid.load() : 0;
    std::uint64_t invalid = generations_ ? generations_->invalid.load() : 0;
    std::uint64_t error = generations_ ? generations_->error.load() : 0;
    out << "gencontrol_node_validations_total{result=\"valid\"} " << valid << '\n'
        << "gencontrol_node_validations_total{result=\"invalid\"} " << invalid << '\n'
        << "gencontrol_node_validations_total{result=\"error\"} " << error << '\n';
    std::size_t held;
    {
        std::lock_guard lock(tenants_mutex_);
        held = tenants_.size();
    }
    out << "# HELP gencontrol_node_tenant_shards Tenant shards held (attached or secondary).\n"
        << "# TYPE gencontrol_node_tenant_shards gauge\ngencontrol_node_tenant_shards " << held << '\n'
        << "# HELP gencontrol_node_deletion_queue_pending Keys queued, neither executed nor dropped.\n"
        << "# TYPE gencontrol_node_deletion_queue_pending gauge\ngencontrol_node_deletion_queue_pending "
        << deletions_->pending_keys() << '\n';
    return out.str();
}

}  // namespace gencontrol::node

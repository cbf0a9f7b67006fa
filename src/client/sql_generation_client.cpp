// The generation service client over SQL, with libpq: node_register, gen_re_attach and the batch
// gen_validate of the gencontrol extension, on one connection reopened after any failure.
#include <libpq-fe.h>

#include <mutex>

#include "gencontrol/generation_client.hpp"
#include "tenant_shard_id.hpp"

namespace gencontrol::client {
namespace {

using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

class SqlGenerationClient final : public GenerationClient {
public:
    SqlGenerationClient(std::string conninfo, const StopSignal& stop, double backoff_scale)
        : GenerationClient(stop, backoff_scale), conninfo_(std::move(conninfo)) {}
    ~SqlGenerationClient() override {
        if (conn_) PQfinish(conn_);
    }

    Result<std::vector<ReAttachedShard>> re_attach_once(const NodeRegistration& node) override {
        std::lock_guard lock(mutex_);
        std::string id = std::to_string(node.node_id), http_port = std::to_string(node.listen_http_port),
                    pg_port = std::to_string(node.listen_pg_port);
        auto registered = exec(
            "SELECT gencontrol.node_register($1::bigint, $2, $3::integer, $4, $5::integer, NULLIF($6, ''))",
            {id.c_str(), node.listen_http_addr.c_str(), http_port.c_str(), node.listen_pg_addr.c_str(),
             pg_port.c_str(), node.availability_zone_id.c_str()});
        if (!registered.is_ok()) return registered.status();
        auto rows = exec(
            "SELECT tenant::text, generation, mode, coalesce(stripe_size, 0) FROM "
            "gencontrol.gen_re_attach($1::bigint)",
            {id.c_str()});
        if (!rows.is_ok()) return rows.status();
        PGresult* r = rows.value().get();
        std::vector<ReAttachedShard> shards;
        for (int i = 0; i < PQntuples(r); ++i) {
            ReAttachedShard shard;
            shard.tenant_shard_id = PQgetvalue(r, i, 0);
            if (!PQgetisnull(r, i, 1))
                shard.generation = static_cast<Generation>(std::stoul(PQgetvalue(r, i, 1)));
            shard.mode = PQgetvalue(r, i, 2);
            shard.stripe_size = std::stoi(PQgetvalue(r, i, 3));
            shards.push_back(std::move(shard));
        }
        return shards;
    }

    Result<std::vector<Validity>> validate_once(const std::vector<GenerationCheck>& checks) override {
        std::string ids = "{", generations = "{";
        for (std::size_t i = 0; i < checks.size(); ++i) {
            // Checked here so an array literal can never be bent by what the caller passed.
            if (!parse_tenant_shard_id(checks[i].tenant_shard_id).id) {
                return Status::invalid_argument("not a tenant shard id: " +
                                                checks[i].tenant_shard_id.substr(0, 64));
            }
            ids += (i ? "," : "") + checks[i].tenant_shard_id;
            generations += (i ? "," : "") + std::to_string(checks[i].generation);
        }
        ids += "}";
        generations += "}";
        std::lock_guard lock(mutex_);
        auto rows = exec(
            "SELECT tenant::text, valid FROM gencontrol.gen_validate($1::gencontrol.tenant_shard_id[], "
            "$2::integer[])",
            {ids.c_str(), generations.c_str()});
        if (!rows.is_ok()) return rows.status();
        PGresult* r = rows.value().get();
        std::vector<Validity> out;
        for (int i = 0; i < PQntuples(r); ++i) {
            out.push_back({PQgetvalue(r, i, 0), !PQgetisnull(r, i, 1) && PQgetvalue(r, i, 1)[0] == 't'});
        }
        return out;
    }

private:
    Result<ResultPtr> exec(const char* sql, const std::vector<const char*>& params) {
        if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
            if (conn_) PQfinish(conn_);
            // connect_timeout first, so a value in the caller's conninfo wins over ours.
            const char* keys[] = {"connect_timeout", "dbname", nullptr};
            const char* values[] = {"10", conninfo_.c_str(), nullptr};
            conn_ = PQconnectdbParams(keys, values, 1);
            if (PQstatus(conn_) != CONNECTION_OK) {
                std::string error = PQerrorMessage(conn_);
                PQfinish(conn_);
                conn_ = nullptr;
                return Status::unavailable("cannot connect to the generation database: " + error);
            }
        }
        ResultPtr r(PQexecParams(conn_, sql, static_cast<int>(params.size()), nullptr, params.data(), nullptr,
                                 nullptr, 0),
                    PQclear);
        if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
            std::string error = PQresultErrorMessage(r.get());
            const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
            // A broken connection is reopened on the next attempt; a refusal is retried as it is.
            if (PQstatus(conn_) != CONNECTION_OK) {
                PQfinish(conn_);
                conn_ = nullptr;
            }
            return Status::unavailable(std::string("SQL ") + (state ? state : "?????") + ": " + error);
        }
        return r;
    }

    std::string conninfo_;
    std::mutex mutex_;
    PGconn* conn_ = nullptr;
};

}  // namespace

std::unique_ptr<GenerationClient> make_sql_generation_client(std::string conninfo, const StopSignal& stop,
                                                             double backoff_scale) {
    return std::make_unique<SqlGenerationClient>(std::move(conninfo), stop, backoff_scale);
}

}  // namespace gencontrol::client

// Saved SPI plans for the extension's SQL, prepared once per backend and kept across calls.
// Parameter types are spelled as letters so the statements read like the SQL they run.
#pragma once

#include "pg.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace gencontrol::spi {

// Parameter type letters: T tenant_shard_id, A tenant_shard_id[], i integer, I integer[],
// b bigint, t text.
class Statement {
public:
    Statement(std::string sql, const char* params) : sql_(std::move(sql)), params_(params) {}

    // Runs the statement and returns SPI_processed; rows are read with value()/is_null().
    // A valid snapshot runs it against that snapshot instead of the current one.
    std::uint64_t run(const Datum* values, const char* nulls, bool read_only,
                      Snapshot snapshot = InvalidSnapshot);

private:
    SPIPlanPtr plan();

    std::string sql_;
    const char* params_;
    SPIPlanPtr plan_ = nullptr;
    std::uint64_t epoch_ = 0;
};

void connect();
void finish();

// Column values of row `row` of the last result (columns count from 1).
Datum value(std::uint64_t row, int column, bool* is_null);
std::optional<std::int32_t> int32_value(std::uint64_t row, int column);
std::optional<std::int64_t> int64_value(std::uint64_t row, int column);
bool bool_value(std::uint64_t row, int column);

// The current OID of gencontrol.tenant_shard_id, cached until pg_type changes.
Oid tenant_shard_id_type();

// Registers the pg_type invalidation callback; called once from _PG_init.
void register_type_invalidation();

}  // namespace gencontrol::spi

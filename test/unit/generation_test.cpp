// Unit tests for the generation rules in src/common: first issue, min_generation, exhaustion.
#include "generation.hpp"

#include <gtest/gtest.h>

using gencontrol::is_valid_generation;
using gencontrol::kMaxGeneration;
using gencontrol::next_generation;

TEST(Generation, FirstAttachIssuesOne) {
    EXPECT_EQ(next_generation(std::nullopt, std::nullopt), 1);
}

TEST(Generation, IncrementsByOne) {
    EXPECT_EQ(next_generation(7, std::nullopt), 8);
}

TEST(Generation, MinGenerationRaisesButNeverLowers) {
    EXPECT_EQ(next_generation(7, 100), 100);
    EXPECT_EQ(next_generation(7, 3), 8);
    EXPECT_EQ(next_generation(7, 8), 8);
    EXPECT_EQ(next_generation(std::nullopt, 50), 50);
}

TEST(Generation, ExhaustionIsEmptyNeverAWrap) {
    EXPECT_EQ(next_generation(kMaxGeneration - 1, std::nullopt), kMaxGeneration);
    EXPECT_FALSE(next_generation(kMaxGeneration, std::nullopt).has_value());
    EXPECT_FALSE(next_generation(kMaxGeneration, kMaxGeneration).has_value());
}

TEST(Generation, ValidRange) {
    EXPECT_FALSE(is_valid_generation(0));
    EXPECT_FALSE(is_valid_generation(-1));
    EXPECT_TRUE(is_valid_generation(1));
    EXPECT_TRUE(is_valid_generation(kMaxGeneration));
    EXPECT_FALSE(is_valid_generation(kMaxGeneration + 1));
    EXPECT_FALSE(is_valid_generation(4294967295LL));
}

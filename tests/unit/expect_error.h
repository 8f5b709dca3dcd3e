// EXPECT_THROW plus the message: the reason matters, not only the refusal,
// and a user sees it as one line.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "util/error.h"

#define EXPECT_ERROR(stmt, text)                                                      \
  try {                                                                               \
    stmt;                                                                             \
    ADD_FAILURE() << #stmt " did not throw";                                          \
  } catch (const mctr::Error& e) {                                                    \
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();       \
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "not one line"; \
  }

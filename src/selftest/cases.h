/* The selftest cases, in the order they run. One line per kernel file in src/selftest/. */
LVK_SELFTEST_CASE(copy)
LVK_SELFTEST_CASE(add)

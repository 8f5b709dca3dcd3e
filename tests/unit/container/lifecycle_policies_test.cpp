// The pure parts of issue 22's lifecycle work: restart policies and their
// back-off (Docker's restart manager), health check flags and the health
// state machine (Docker's handleProbeResult), and the events' filters and
// times.
#include <gtest/gtest.h>

#include "container/events.h"
#include "container/health.h"
#include "container/restart.h"
#include "expect_error.h"
#include "util/error.h"

using mctr::Error;
namespace c = mctr::container;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RestartPolicy, ParsesDockerForms) {
  EXPECT_EQ(c::parse_restart_policy("").name, c::RestartName::kNo);
  EXPECT_EQ(c::parse_restart_policy("no").name, c::RestartName::kNo);
  EXPECT_EQ(c::parse_restart_policy("always").name, c::RestartName::kAlways);
  EXPECT_EQ(c::parse_restart_policy("unless-stopped").name, c::RestartName::kUnlessStopped);
  auto p = c::parse_restart_policy("on-failure:3");
  EXPECT_EQ(p.name, c::RestartName::kOnFailure);
  EXPECT_EQ(p.max_retries, 3);
  EXPECT_EQ(c::parse_restart_policy("on-failure").max_retries, 0);
  EXPECT_EQ(c::restart_policy_text(p), "on-failure:3");
  EXPECT_ERROR(c::parse_restart_policy("sometimes"), "unknown policy");
  EXPECT_ERROR(c::parse_restart_policy("always:3"), "only be used with 'on-failure'");
  EXPECT_ERROR(c::parse_restart_policy("on-failure:x"), "positive integer");
  EXPECT_ERROR(c::parse_restart_policy("on-failure:-1"), "positive integer");
}

TEST(RestartManager, BackoffDoublesFrom100msUpToAMinute) {
  c::RestartManager m;
  const c::RestartPolicy always{c::RestartName::kAlways, 0};
  std::vector<long> delays;
  for (int i = 0; i < 12; ++i) delays.push_back(m.after_exit(always, 1, false, milliseconds(5))->count());
  EXPECT_EQ(delays[0], 100);
  EXPECT_EQ(delays[1], 200);
  EXPECT_EQ(delays[2], 400);
  EXPECT_EQ(delays[9], 51200);
  EXPECT_EQ(delays[10], 60000);
  EXPECT_EQ(delays[11], 60000);
  EXPECT_EQ(m.restart_count(), 12);
  // Ten seconds of running start the back-off over.
  EXPECT_EQ(m.after_exit(always, 0, false, seconds(10))->count(), 100);
  EXPECT_EQ(m.after_exit(always, 0, false, seconds(9))->count(), 200);
}

TEST(RestartManager, PoliciesDecide) {
  const c::RestartPolicy no{c::RestartName::kNo, 0}, always{c::RestartName::kAlways, 0},
      unless{c::RestartName::kUnlessStopped, 0};
  const c::RestartPolicy on_failure{c::RestartName::kOnFailure, 2};
  c::RestartManager m;
  EXPECT_FALSE(m.after_exit(no, 1, false, milliseconds(0)));
  EXPECT_TRUE(m.after_exit(always, 0, false, milliseconds(0)));
  EXPECT_TRUE(m.after_exit(unless, 0, false, milliseconds(0)));
  // A stop or kill by the user ends every policy (minictr has no daemon restart).
  EXPECT_FALSE(m.after_exit(always, 137, true, milliseconds(0)));
  EXPECT_FALSE(m.after_exit(unless, 137, true, milliseconds(0)));
  c::RestartManager f;
  EXPECT_FALSE(f.after_exit(on_failure, 0, false, milliseconds(0)));  // success: stays exited
  EXPECT_TRUE(f.after_exit(on_failure, 3, false, milliseconds(0)));
  EXPECT_TRUE(f.after_exit(on_failure, 3, false, milliseconds(0)));
  EXPECT_FALSE(f.after_exit(on_failure, 3, false, milliseconds(0)));  // on-failure:2 used up
  EXPECT_EQ(f.restart_count(), 2);
  c::RestartManager unlimited;
  for (int i = 0; i < 20; ++i)
    EXPECT_TRUE(unlimited.after_exit({c::RestartName::kOnFailure, 0}, 1, false, milliseconds(0)));
}

TEST(GoDuration, Parses) {
  EXPECT_EQ(c::parse_go_duration("0"), 0);
  EXPECT_EQ(c::parse_go_duration("30s"), 30'000'000'000);
  EXPECT_EQ(c::parse_go_duration("1m30s"), 90'000'000'000);
  EXPECT_EQ(c::parse_go_duration("500ms"), 500'000'000);
  EXPECT_EQ(c::parse_go_duration("1.5h"), 5400'000'000'000);
  EXPECT_EQ(c::parse_go_duration("250us"), 250'000);
  for (const char* bad : {"", "10", "s", "1x", "-1s", "1..5s", "."})
    EXPECT_ERROR(c::parse_go_duration(bad), "invalid duration");
}

TEST(Healthcheck, FlagsOverTheImage) {
  c::Healthcheck image{{"CMD", "curl", "-f", "localhost"}, 10'000'000'000, 0, 0, 0, 5};
  auto hc = c::merge_healthcheck(image, {});
  ASSERT_TRUE(hc);
  EXPECT_EQ(hc->test, image.test);
  EXPECT_EQ(hc->retries, 5);
  hc = c::merge_healthcheck(image, {{"CMD-SHELL", "true"}, "2s", "", "", 0});
  ASSERT_TRUE(hc);
  EXPECT_EQ(hc->test, (std::vector<std::string>{"CMD-SHELL", "true"}));
  EXPECT_EQ(hc->interval, 2'000'000'000);
  EXPECT_EQ(hc->retries, 5);                                             // kept from the image
  EXPECT_FALSE(c::merge_healthcheck(image, {{"NONE"}, "", "", "", 0}));  // --no-healthcheck
  EXPECT_FALSE(c::merge_healthcheck(std::nullopt, {}));
  EXPECT_FALSE(c::merge_healthcheck(c::Healthcheck{{"NONE"}}, {}));  // HEALTHCHECK NONE
  EXPECT_ERROR(c::merge_healthcheck(std::nullopt, {{"CMD-SHELL", "true"}, "1us", "", "", 0}),
               "less than 1ms");
  EXPECT_ERROR(c::merge_healthcheck(std::nullopt, {{"CMD-SHELL", "true"}, "", "", "", -1}), "negative");
  EXPECT_EQ(c::health_command(*c::merge_healthcheck(std::nullopt, {{"CMD-SHELL", "exit 1"}, "", "", "", 0})),
            (std::vector<std::string>{"/bin/sh", "-c", "exit 1"}));
}

TEST(Health, StateMachine) {
  c::Healthcheck hc{{"CMD-SHELL", "x"}, 0, 0, 0, 0, 2};
  c::Health h;
  auto result = [](int code) { return c::HealthLogEntry{"s", "e", code, "out"}; };
  // Failures inside the start period do not count while starting.
  EXPECT_FALSE(c::record_health_result(h, hc, result(1), true));
  EXPECT_EQ(h.status, c::HealthStatus::kStarting);
  EXPECT_EQ(h.failing_streak, 0);
  EXPECT_TRUE(c::record_health_result(h, hc, result(0), true));
  EXPECT_EQ(h.status, c::HealthStatus::kHealthy);
  EXPECT_FALSE(c::record_health_result(h, hc, result(1), false));
  EXPECT_EQ(h.status, c::HealthStatus::kHealthy);  // one failure of two allowed
  EXPECT_EQ(h.failing_streak, 1);
  EXPECT_TRUE(c::record_health_result(h, hc, result(-1), false));
  EXPECT_EQ(h.status, c::HealthStatus::kUnhealthy);
  EXPECT_TRUE(c::record_health_result(h, hc, result(0), false));
  EXPECT_EQ(h.failing_streak, 0);
  for (int i = 0; i < 10; ++i) c::record_health_result(h, hc, result(i % 2), false);
  EXPECT_EQ(h.log.size(), c::kHealthLogEntries);
  // After the start period, failures count from the start (default retries: 3).
  c::Health s;
  c::Healthcheck defaults{{"CMD-SHELL", "x"}};
  c::record_health_result(s, defaults, result(1), false);
  c::record_health_result(s, defaults, result(1), false);
  EXPECT_EQ(s.status, c::HealthStatus::kStarting);
  c::record_health_result(s, defaults, result(1), false);
  EXPECT_EQ(s.status, c::HealthStatus::kUnhealthy);
}

TEST(Events, FilterAndFormat) {
  c::Event e;
  e.action = "health_status: healthy";
  e.id = "0123456789abcdef";
  e.attributes = {{"image", "busybox"}, {"name", "web"}};
  e.time_nano = 1'764'952'200'123'456'789;
  EXPECT_EQ(c::event_text(e),
            "2025-12-05T16:30:00.123456789Z container health_status: healthy 0123456789abcdef "
            "(image=busybox, name=web)");
  auto back = c::event_from_line(c::event_json(e).dump());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->action, e.action);
  EXPECT_EQ(back->time_nano, e.time_nano);
  EXPECT_EQ(back->attributes, e.attributes);
  EXPECT_FALSE(c::event_from_line("{\"Actor\": tru"));
  c::EventFilter f;
  EXPECT_TRUE(f.matches(e));
  f.add("event=health_status");
  EXPECT_TRUE(f.matches(e));
  f.add("container=web");
  EXPECT_TRUE(f.matches(e));
  c::EventFilter other;
  other.add("container=db");
  other.add("container=0123");
  EXPECT_TRUE(other.matches(e));  // one of a key's values is enough
  other.add("event=die");
  EXPECT_FALSE(other.matches(e));  // every key must match
  EXPECT_ERROR(other.add("colour=red"), "invalid filter");
  EXPECT_ERROR(other.add("event"), "bad format of filter");
}

TEST(Events, Times) {
  const int64_t now = 2'000'000'000'000'000'000;
  EXPECT_EQ(c::parse_event_time("1764952200", now), 1'764'952'200'000'000'000);
  EXPECT_EQ(c::parse_event_time("1764952200.5", now), 1'764'952'200'500'000'000);
  EXPECT_EQ(c::parse_event_time("2025-12-05T16:30:00Z", now), 1'764'952'200'000'000'000);
  EXPECT_EQ(c::parse_event_time("2025-12-05T16:30:00.25Z", now), 1'764'952'200'250'000'000);
  EXPECT_EQ(c::parse_event_time("10m", now), now - 600'000'000'000);
  EXPECT_ERROR(c::parse_event_time("yesterday", now), "invalid time");
}

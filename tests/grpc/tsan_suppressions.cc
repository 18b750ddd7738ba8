// File: tests/grpc/tsan_suppressions.cc
// ThreadSanitizer's settings for the processes that run gRPC (the test and
// echo_server), compiled in (TSan asks the binary through
// __tsan_default_suppressions() and __tsan_default_options()), so they hold
// whatever TSAN_OPTIONS says and reach the child server too. Used only
// under --config=tsan; any other build ignores both functions.
//
// Why: Debian's gRPC and Abseil are not built with -fsanitize=thread. TSan
// sees their memory only where it goes through an intercepted call (malloc,
// memmove, memcmp, epoll) and none of their synchronization (absl::Mutex's
// spinlocks and futexes, gRPC's lock-free queues and closures live in the
// uninstrumented libraries), so memory one gRPC thread hands another looks
// unsynchronized to it. Each entry names the library a report's stack went
// through ("race:" matches any frame of either access's stack):
//
//   libabsl_      Debian's Abseil, used by gRPC's threads: absl::Mutex's
//                 deadlock graph (GraphCycles::GetId()), absl::Status
//                 payloads and absl::Cord made on one gRPC thread and read
//                 or freed on another, absl::ParseTime on metadata
//   libgrpc.so    gRPC core: its pollers' epoll fds, its closures
//   libgpr.so     memory gRPC allocates (gpr_malloc) on its threads and
//                 hands over: a deadline's status message, made on the
//                 timer thread, read by the caller's CallOpClientRecvStatus
//   libgrpc++.so  gRPC's C++ library: its std::shared_ptr counts (a channel
//                 part freed by the last release, on gRPC's timer thread)
//
// None is a frame of circuit's code or of the test's own. A race between
// the test's threads, or in the breaker, is still reported. The
// interceptor is called through libgrpc++ frames, so a report involving
// it would be suppressed; in these tests every call's interceptor runs on
// the test's main thread (sync calls, and async calls whose queue the test
// drains), where gRPC's threads are the only others it could race with.
extern "C" const char* __tsan_default_suppressions() {
  return "race:libabsl_\n"
         "race:libgpr.so\n"
         "race:libgrpc.so\n"
         "race:libgrpc++.so\n";
}

#ifdef CIRCUIT_TSAN_SERVER
// echo_server (built with CIRCUIT_TSAN_SERVER) is the test's fixture, not
// the code under test, and runs every handler on gRPC's threads, on memory
// gRPC's allocator (gpr_malloc) and its sync server recycle between them
// with the invisible synchronization above: every report there is about
// gRPC's hand-offs, so it reports none (it still runs instrumented, and a
// crash still fails the test).
extern "C" const char* __tsan_default_options() { return "report_bugs=0"; }
#endif

// File: examples/gateway_tsan.cc
// ThreadSanitizer's suppressions for examples/gateway, compiled in (TSan
// asks the binary through __tsan_default_suppressions()), so they hold
// whatever TSAN_OPTIONS says. Used only under --config=tsan; any other
// build ignores the function. The approach of
// tests/grpc/tsan_suppressions.cc: a source of the binary itself, not a
// library, so that TSan's runtime finds it before its own empty default.
//
// Why: Debian's gRPC, cpp-httplib and Abseil are not built with
// -fsanitize=thread. TSan sees their memory only where it goes through an
// intercepted call (malloc, memcpy) and none of their synchronization
// (absl::Mutex, gRPC's lock-free queues and closures), so memory one of
// their threads hands another looks unsynchronized to it. "race:" matches
// any frame of either access's stack; an uninstrumented library's frame
// appears only as the caller of an intercepted call, or as the caller of
// instrumented code (gRPC's inline templates, a handler). Each entry:
//
//   libabsl_       Debian's Abseil, used by gRPC's threads (as tests/grpc)
//   libgrpc.so     gRPC core: its pollers, its closures (as tests/grpc)
//   libgpr.so      gRPC's allocator (gpr_malloc, gpr_realloc): a call's
//                  buffers, allocated on a gRPC thread and read by the
//                  caller's, or reused by the next call on another thread
//   grpc::Server::SyncRequest
//                  the in-process downstream's sync server: every report
//                  left (42 in a run) had this frame, on memory its
//                  completion queues hand between its threads. It covers
//                  the downstream's handler (QuotesService::Get: atomics
//                  and a const script), which is the demo's fixture, as
//                  tests/grpc's echo_server is the tests' (reporting off)
//   libcpp-httplib.so
//                  Debian's compiled cpp-httplib: its pool threads' shared
//                  buffers, initialized by one and read by another
//
// None matches a frame of circuit's code or of the gateway's client side:
// a race between the gateway's workers, its timeline and its listeners, in
// the curl wrapper or in the breaker, is still reported; a race in the
// gRPC interceptor is reported unless its stack also goes through the
// entries above.
extern "C" const char* __tsan_default_suppressions() {
  return "race:libabsl_\n"
         "race:libgrpc.so\n"
         "race:libgpr.so\n"
         "race:grpc::Server::SyncRequest\n"
         "race:libcpp-httplib.so\n";
}

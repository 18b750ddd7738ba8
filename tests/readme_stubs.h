// File: tests/readme_stubs.h
// The dependency types that README.md's examples use, declared just enough
// for the examples to compile and for tests/readme_test.cc to run them: a
// payments service whose health a test sets, its orders and quotes, a
// cache of quotes, and an HTTP client. See tests/readme_blocks.py.
#ifndef CIRCUIT_TESTS_README_STUBS_H_
#define CIRCUIT_TESTS_README_STUBS_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace readme {

struct Order {
  std::string id;
};

struct Quote {
  int cents = 0;
};

// The remote service. Answers `health` (OK: a quote of `quote_cents`).
class PaymentsApi {
 public:
  absl::Status Charge(const Order&) {
    ++calls;
    return health;
  }
  absl::StatusOr<Quote> GetQuote(const Order&) {
    ++calls;
    if (!health.ok()) return health;
    return Quote{quote_cents};
  }

  absl::Status health;
  int quote_cents = 100;
  int calls = 0;  // calls that reached the service
};

// Earlier quotes, by order id. (Single-threaded: enough for the test.)
class QuoteCache {
 public:
  absl::StatusOr<Quote> Lookup(const Order& order) const {
    auto it = quotes_.find(order.id);
    if (it == quotes_.end()) return absl::NotFoundError("no cached quote");
    return it->second;
  }
  void Insert(const Order& order, const Quote& quote) { quotes_[order.id] = quote; }

 private:
  std::map<std::string, Quote> quotes_;
};

// An HTTP client whose next answer a test sets.
struct Request {
  std::string path;
};

struct HttpResponse {
  int code = 200;
  absl::Duration retry_after;  // from the Retry-After header, if any
};

class HttpClient {
 public:
  HttpResponse Send(const Request&) {
    ++calls;
    return next;
  }

  HttpResponse next;
  int calls = 0;
};

}  // namespace readme

#endif  // CIRCUIT_TESTS_README_STUBS_H_

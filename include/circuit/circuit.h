// File: circuit/circuit.h
// Everything a user of circuit's core needs: the breaker, its config,
// permits, classifiers, events, the registry, and the companions (bulkhead,
// fallbacks, async calls, retries). See circuit/breaker.h to start. The
// optional parts (circuit/prometheus/) are included on their own.
#ifndef CIRCUIT_CIRCUIT_H_
#define CIRCUIT_CIRCUIT_H_

#include "circuit/async.h"
#include "circuit/breaker.h"
#include "circuit/bulkhead.h"
#include "circuit/call_durations.h"
#include "circuit/classify.h"
#include "circuit/clock.h"
#include "circuit/config.h"
#include "circuit/events.h"
#include "circuit/fallbacks.h"
#include "circuit/manual_control.h"
#include "circuit/open_error.h"
#include "circuit/permit.h"
#include "circuit/registry.h"
#include "circuit/retry.h"
#include "circuit/snapshot.h"
#include "circuit/state.h"

#endif  // CIRCUIT_CIRCUIT_H_

// File: circuit/circuit.h
// Everything a user of circuit needs: the breaker, its config, permits and
// classifiers. See circuit/breaker.h to start.
#ifndef CIRCUIT_CIRCUIT_H_
#define CIRCUIT_CIRCUIT_H_

#include "circuit/breaker.h"
#include "circuit/classify.h"
#include "circuit/clock.h"
#include "circuit/config.h"
#include "circuit/events.h"
#include "circuit/open_error.h"
#include "circuit/permit.h"
#include "circuit/registry.h"
#include "circuit/state.h"

#endif  // CIRCUIT_CIRCUIT_H_

/*
 * docs/model/breaker.pml: the CAS protocol on circuit::Breaker's packed state
 * word (src/transitions.cc, admission.cc, outcomes.cc, include/circuit/breaker.h), for spin.
 *
 * One shared `word` holds what the 64-bit state word holds (state, the gate
 * bit, the two window bits owed and want, generation, trials in flight,
 * trial successes, trial failures). It is
 * changed only by compare-and-set, modelled as an atomic{} whose guard is
 * `word == expected`; each thread's load and its CAS are separate steps, so
 * spin explores every interleaving between them. Each step below is one
 * shared access (a load, a CAS, the deadline store) followed by the local
 * computation the C++ code does before its next shared access.
 *
 * docs/model/README.md maps every label to its C++ function and says what is
 * abstracted away. docs/model/check.sh runs it.
 *
 * Compile-time knobs (spin -DNAME=value):
 *   THREADS       threads calling the breaker (2 or 3)
 *   K, T          half_open_max_concurrent, half_open_trial_calls
 *   HO_LIMIT      1: half_open_max_duration > 0 (lost trials reopen); 0: off
 *   RATE          1: half_open_judge_by_rate (the verdict is nondeterministic)
 *   NOPS          operator actions (Reset/ForceOpen); 0 = unbounded
 *   OPERATOR      0: no operator at all
 *   FIX_DEADLINE  1 (default): the deadline store never overwrites a newer
 *                 generation's deadline: modelled as a CAS loop that gives
 *                 up once the state word has left the writer's generation
 *                 (src/transitions.cc StoreDeadline() gives up when the stored
 *                 tag is newer; README.md shows the two end alike);
 *                 0: the code before the fix (a plain store after the
 *                 transition's CAS, by the transitions into OPEN and
 *                 HALF_OPEN only), kept to show the bug is caught
 *   CHECK_DEADLINE 1: check the deadline invariant (fails when FIX_DEADLINE=0)
 *   WINDOW        1 (default): the window bits, owed ("the rate window owes
 *                 a fold") and want ("the window wants successes"): a fold
 *                 (of a failing CLOSED call, or of a call that cleared a
 *                 bit) may set either or both (ApplyFold()); an admission
 *                 that sees owed clears it and folds, at most once per
 *                 admission (ServeWindow(word, owed)); a CLOSED success of
 *                 the word's generation that sees either clears both and
 *                 folds (ServeWindow(word, both)); a fold may trip;
 *                 0: never set
 *   MONITOR       0: no invariant monitor process (I1-I5, I8, I10, P1, I12-I14,
 *                 I17, I18); default 1
 *   CHECK_JUDGED  0: do not check I9 (so that mutant 6 must be caught by I8)
 *   SHARED        1: the distributed mode's hold on the breaker (docs/design.md
 *                 section 13, src/shared_control.cc): a Coordinator process
 *                 toggles sharing_ between kShared and kDegraded (leaving
 *                 kShared moves HALF_OPEN to OPEN), and while kShared
 *                 Follow()s the shared state into CLOSED, OPEN or HALF_OPEN,
 *                 Reopen()s an OPEN generation and Lend()s the current
 *                 HALF_OPEN generation trial slots (shared_trials_, only
 *                 ever raised). The threads read sharing_ (SharedDecides(),
 *                 one step each) where the code does: under kShared no trip,
 *                 no end of OPEN, HALF_OPEN admission only within the slots
 *                 lent (a further load, of shared_trials_), trial outcomes
 *                 counted but never judged, no HALF_OPEN deadline;
 *                 0 (default): no coordinator, sharing_ is kLocal
 *   NCOORD        (SHARED) the coordinator's actions; 0 = unbounded. After
 *                 the last it lets go (leaves kShared) and stops, so the
 *                 liveness runs check the breaker left alone
 *   PROBES        1: per-probe deadlines in HALF_OPEN (half_open_probe_timeout,
 *                 src/probe_deadlines.cc): K probe slots beside the word;
 *                 a trial claims one right after its admission CAS
 *                 (ClaimProbeSlot()), frees it (CAS own entry -> 0) before
 *                 it hands its in-flight count back, and a Reaper process
 *                 (state(), Snapshot(), a TryAcquire() short of a slot)
 *                 CASes a due entry of the word's generation to 0 and then
 *                 applies a trial failure or returns the slot; a trial whose
 *                 free fails was reaped and leaves the word alone. A Tick
 *                 process moves the coarse millisecond on. Needs SHARED=0
 *   PROBE_RELEASED 1: half_open_probe_timeout_outcome = kReleased (the reaper
 *                 returns the in-flight slot); 0 (default): kFailure
 *   PROBE_UNIQUE  1 (default): a claim's deadline is read at its slot CAS, so
 *                 it is later than every reaped entry's of the slot: no
 *                 entry repeats, as the code's claim stamps guarantee;
 *                 0: the first version of the code, entries (generation,
 *                 deadline read before the scan) that can repeat (the ABA
 *                 of README.md, fixed with the stamps)
 *   RAMP          1: slow start (BreakerConfig::slow_start_duration > 0,
 *                 src/gate.cc): the word's gate bit. The HALF_OPEN -> CLOSED
 *                 CAS of a trial verdict (OnTrialOutcome(): S successes, or
 *                 judged by rate; the reaper's too) sets it, and its winner
 *                 stores the ramp's end in the deadline word, which the Clock
 *                 makes due as it does OPEN's. An admission in CLOSED with
 *                 the gate set (PassGate()): the end not yet stored, shed;
 *                 stored and not yet due, admitted or shed (the draw, free);
 *                 due, CAS word -> word & ~gate (same generation) and
 *                 admitted, or the word that beat it examined again.
 *                 Outcomes ignore the gate, every transition clears it, and
 *                 Reset(), ForceOpen() and the coordinator's Follow(CLOSED)
 *                 never set it. 0 (default): off (slow_start_duration 0)
 *   TRACE         1: printf the story (CASes with real generation numbers,
 *                 deadline stores, the clock, rejections) for `spin -t`;
 *                 pan prints nothing either way
 *   MUTANT        0: none; 1: trial admission is a plain load + store;
 *                 2: the OPEN->HALF_OPEN edge is a plain load + store;
 *                 3: a trial outcome skips its generation check;
 *                 4: trial admission checks K but forgets the T bound;
 *                 5: a transition keeps the window bits (NextWord() copies
 *                    them instead of clearing them);
 *                 6: ApplyFold()'s set loop forgets its state and
 *                    generation checks (sets the bits in any state);
 *                 7: ApplyFold()'s set loop forgets its generation check
 *                    only (sets the bits into any CLOSED generation);
 *                 with SHARED=1:
 *                 8: HALF_OPEN admission under kShared ignores the slots
 *                    lent (checks only K and T);
 *                 9: Lend() stores its slots even when they are fewer than
 *                    the generation's (a lend may lower them);
 *                 10: leaving kShared leaves HALF_OPEN as it is (no move to
 *                    OPEN);
 *                 11: a trial outcome under kShared is judged as if the
 *                    breaker decided alone (OnTrialOutcome() forgets
 *                    SharedDecides())
 *                 with PROBES=1:
 *                 12: a trial frees its probe slot after the CAS that hands
 *                    its in-flight count back, instead of before;
 *                 13: the reaper frees a due entry with a plain store, not
 *                    a CAS;
 *                 14: a claim takes a slot of the current generation (no
 *                    `EntryGen(seen) == current` check);
 *                 15: a trial whose free CAS fails goes on to its outcome
 *                    (the stale check forgotten)
 *                 with RAMP=1:
 *                 16: the gate's clearing CAS writes MakeWord(CLOSED, gen)
 *                    instead of word & ~gate (drops the window bits);
 *                 17: a transition keeps the gate (NextWord() copies it);
 *                 18: a CLOSED success compares the word's gate with the
 *                    one its permit was admitted under (a success after
 *                    the gate cleared looks stale);
 *                 19: Reset() sets the gate (as the verdict's close does);
 *                 20: the clearing CAS flips the gate (word ^ gate, not
 *                    word & ~gate) and, when it fails, retries in a loop
 *                    while the word is CLOSED at its generation, instead of
 *                    letting the caller examine the new word;
 *                 21: an admission that finds the ramp's end not yet stored
 *                    stores it itself (deadline_ = now + ramp) and sheds;
 *                 22: the gate takes the deadline word for the ramp's end
 *                    without its generation tag (ReadDeadline()'s check
 *                    forgotten)
 */

#ifndef THREADS
#define THREADS 2
#endif
#ifndef K
#define K 2
#endif
#ifndef T
#define T 2
#endif
#ifndef HO_LIMIT
#define HO_LIMIT 1
#endif
#ifndef RATE
#define RATE 0
#endif
#ifndef NOPS
#define NOPS 0
#endif
#ifndef OPERATOR
#define OPERATOR 1
#endif
#ifndef FIX_DEADLINE
#define FIX_DEADLINE 1
#endif
#ifndef CHECK_DEADLINE
#define CHECK_DEADLINE FIX_DEADLINE
#endif
#ifndef MUTANT
#define MUTANT 0
#endif
#ifndef WINDOW
#define WINDOW 1
#endif
#ifndef MONITOR
#define MONITOR 1
#endif
#ifndef CHECK_JUDGED
#define CHECK_JUDGED 1
#endif
#ifndef TRACE
#define TRACE 0
#endif
#ifndef SHARED
#define SHARED 0
#endif
#ifndef NCOORD
#define NCOORD 0
#endif
#ifndef PROBES
#define PROBES 0
#endif
#ifndef PROBE_RELEASED
#define PROBE_RELEASED 0
#endif
#ifndef PROBE_UNIQUE
#define PROBE_UNIQUE 1
#endif
#ifndef RAMP
#define RAMP 0
#endif
#if MUTANT >= 8 && MUTANT <= 11 && !SHARED
#error "MUTANT 8 to 11 break the shared hold: they need SHARED=1"
#endif
#if MUTANT >= 12 && MUTANT <= 15 && !PROBES
#error "MUTANT 12 to 15 break the probe slots: they need PROBES=1"
#endif
#if MUTANT >= 16 && !RAMP
#error "MUTANT 16 to 22 break the gate: they need RAMP=1"
#endif
#if PROBES && SHARED
#error "PROBES=1 with SHARED=1 is not modelled"
#endif

/* circuit::State (only the states the protocol under test reaches). */
#define CLOSED      0
#define OPEN        1
#define HALF_OPEN   2
#define FORCED_OPEN 3

/* Permit::Kind */
#define NONE   0
#define NORMAL 1
#define TRIAL  2

/* Outcomes */
#define SUCCESS 1
#define FAILURE 2

/*
 * The word. Field order as in include/circuit/internal/state_word.h, widths
 * shrunk: in flight 3 bits, trial successes 2, trial failures 2, state 2,
 * gate 1, owed 1, want 1, generation 5 (trial slow is not modelled).
 */
#define IFL(w)  ((w) & 7)
#define SUC(w)  (((w) >> 3) & 3)
#define FAI(w)  (((w) >> 5) & 3)
#define ST(w)   (((w) >> 7) & 3)
#define GEN(w)  (((w) >> 12) & 31)
#define GATEB   512                                              /* kGatedBit (RAMP) */
#define OWEDB   1024                                             /* kFoldOwedBit */
#define WANTB   2048                                             /* kSuccessesWantedBit */
#define BOTHB   3072                                             /* kWindowBits */
#define BITS(w) ((w) & BOTHB)
#define GATE(w) ((w) & GATEB)
#define GATE1(w) (((w) >> 9) & 1)                                 /* the gate as 0 or 1 */
#define MKW(s, g)           (((g) << 12) | ((s) << 7))           /* MakeWord() */
#define MKTRIAL(g, i, s, f) (MKW(HALF_OPEN, g) | (i) | ((s) << 3) | ((f) << 5))
#define ONE_IN_FLIGHT 1                                          /* kOneInFlight */
/* NextWord(w, s): state s at the new generation ng (from alloc_gen()),
 * trial fields 0 and the window bits and the gate clear: a new generation's
 * window owes nothing and wants nothing, and only the verdict's close gates
 * (it sets the gate itself: VERDICT_CLOSE). */
#if MUTANT == 5
#define NEXTW(w, s) (MKW(s, ng) | BITS(w))                       /* MUTANT: keeps the bits */
#elif MUTANT == 17
#define NEXTW(w, s) (MKW(s, ng) | GATE(w))                       /* MUTANT: keeps the gate */
#else
#define NEXTW(w, s) MKW(s, ng)
#endif

/*
 * Generations. The code's generation is a 26-bit counter (27 before the
 * gate bit took one) compared only for
 * equality on these paths (state word, permits, the deadline's tag). A
 * counter modulo a small number would wrap within a few steps here and
 * report the documented 2^26-wrap hazard as a violation; instead a new
 * generation takes the lowest identity that nothing still refers to (the
 * word, a thread's loaded word, a permit, a pending or stored deadline). So
 * no two live generations are ever equal, exactly as with the real counter
 * short of its wrap, and the state space stays finite.
 */
/* Enough identities for everything that can refer to one at once: the
 * word, the deadline, and per process a loaded word, a permit, a pending
 * deadline, (fix) a loaded deadline and the generation a fold judged; plus
 * the new one. (shared_trials_'s generation, SHARED, is the word's or
 * none: see canon().) (At most 28 with 4 threads, or with 3 threads and
 * SHARED: below 31, which STALEW's generation field holds.) */
#define NGEN  (5 * NPROCS + 3 + PROBES * (K + THREADS))   /* PROBES: the slots' and the seen entries' */
#define NOGEN 255
#define STALEW (31 << 12)  /* lw[]: a loaded word whose generation has ended (canon()) */
#define OLDDL  254         /* dlt[]: a loaded deadline tag since replaced (canon()) */
#define ENDED  253         /* fg[]: a judged generation that has ended (canon()) */
#define NOWORD (-1)
#define NPROCS (THREADS + 1 + SHARED + PROBES)   /* the threads, the operator, (SHARED) the coordinator, (PROBES) the reaper */
#define REAPER (THREADS + 1 + SHARED)
#define OPER   THREADS
#define COORD  (THREADS + 1)
#if NGEN > 30
#error "too many processes for the generation identities (THREADS <= 3 with SHARED=1)"
#endif

/* ---- Shared state ------------------------------------------------------- */

int  word = MKW(CLOSED, 0);     /* Breaker::state_ */

/* Breaker::deadline_: its generation tag; until == 0 (HALF_OPEN with no
 * max duration, or a state without a deadline); and whether the clock has
 * reached `until`. The initial word 0 has tag 0 and until 0. */
byte dl_gen = 0;
bit  dl_zero = 1;
bit  dl_due = 1;

/* Per process (index t; OPER for the operator). Kept global so that a new
 * generation can avoid every identity still in use. */
int  lw[NPROCS];   /* the word this process loaded: `expected` (NOWORD: none) */
byte pk[NPROCS];   /* the permit it holds: NONE, NORMAL, TRIAL */
byte pg[NPROCS];   /* the permit's generation (ghost: which slot it owns) */
byte ag[NPROCS];   /* pending AfterTransition(): the generation whose deadline it will store */
bit  az[NPROCS];   /* ... and whether that deadline is 0 (never) */
int  edged;        /* ghost, a bit per identity: OPEN generation g was left by an edge winner */
byte fg[NPROCS];   /* ApplyFold()'s set loop: FoldResult::gen, the generation the fold judged */
#if FIX_DEADLINE
byte dlt[NPROCS];  /* the deadline (its tag) loaded for the fix's CAS loop */
#endif

#if SHARED
/* The distributed mode (SHARED=1). */
#define DEGRADED 0         /* Sharing::kDegraded (kLocal alike: the breaker decides) */
#define SHARING  1         /* Sharing::kShared: the shared state decides */
#define NOLENT   252       /* lent_gen: no live generation's (canon()) */
bit  sharing = DEGRADED;   /* Breaker::sharing_ (Claim() left it kDegraded) */
byte lent_gen = NOLENT;    /* Breaker::shared_trials_: the generation (top half) */
byte lent_slots;           /* ... and the trial slots lent to it (bottom half) */
bit  co_leaving;           /* the coordinator is between SetSharing()'s exchange and its load */
/* Ghosts for I10 and I11. */
byte sadm;                 /* trial slots of the word's generation taken by admissions
                            * decided under kShared: in flight or done (a release
                            * gives its slot back); 0 from each new generation */
bit  psh[THREADS];         /* the trial permit held was admitted under kShared */
bit  shx[THREADS];         /* sharing_ has been kShared at every moment since the
                            * thread's operation began (its load of the word) */
#define LENT(g) ((lent_gen == (g)) -> lent_slots : 0)   /* SharedTrialSlots(g) */
#endif

#if PROBES
/* Per-probe deadlines (PROBES=1). Breaker::probe_slots_[K]: an entry is
 * (generation << 37) | deadline_ms, 0 = free. The model keeps the entry as
 * its generation identity sg[i] (NOGEN: free) and its deadline as a
 * millisecond identity sd[i]: entries are only compared for equality, and
 * with a timeout of 1 ms (the least allowed) a deadline is due once the
 * coarse clock has moved on from the millisecond it was read in. So a
 * deadline names that millisecond: 0 is the current one (not yet due),
 * any other an earlier one (due); Tick renames every one up by 1 and
 * canon() renumbers them (0 stays 0). Two claims that read the clock in the
 * same millisecond write equal deadlines. The reaper judges an entry due in
 * the step that loads it, against the clock of that step: the code reads
 * the clock after loading the entry and its deadline. (Until it did, it read
 * the clock once before its scan, and a claim made since, with a deadline
 * more than the timeout ahead of that stale reading, was taken for one long
 * past, modulo 2^37 ms: tests/history/README.md, "a reaper's stale clock".
 * Relative identities cannot express a reading older than the entry.) */
#define NOMS   255
#define NMS    (K + 2 * THREADS + 3)   /* identities in use at once, plus the shift */
#define NONEOWN 255
byte sg[K] = NOGEN;        /* the entry's generation; NOGEN: 0, free */
byte sd[K] = NOMS;         /* the entry's deadline (a millisecond identity); NOMS when free */
byte so[K] = NONEOWN;              /* ghost: the thread whose claim wrote the entry (NONEOWN: none) */
/* Per thread: the permit's probe_slot_ (1 + i; 0 none) and the deadline of
 * its probe_entry_ (its generation is pg[t]); the entry its claim loop saw
 * (cg: NOGEN for 0); the slot it scans. */
byte ps[THREADS];
byte pd[THREADS] = NOMS;
byte cg[THREADS] = NOGEN;
byte cd[THREADS] = NOMS;
byte ci[THREADS];
bit  rp[THREADS];          /* ghost: this trial was reaped (its slot taken back by a reaper) */
bit  rdebt;                /* ghost: the reaper has reaped a trial of pg[REAPER] and has yet to give its count back */
byte rsd = NOMS;           /* the reaper: the deadline of the entry it loaded (its generation is pg[REAPER]) */
#define MINE(t, i) (sg[i] == pg[t] && sd[i] == pd[t])   /* the slot holds t's entry */
#endif

#if RAMP
/* Slow start (RAMP=1). The gate bit is in `word`; the ramp's end is the
 * deadline word of the gated CLOSED generation (a real deadline: dl_due
 * says the ramp is over). Ghosts for I13, I14, I17 and I18, reset by every
 * new generation (alloc_gen()): */
#define GH_PLAIN   0       /* the word's generation began without the gate */
#define GH_RAMP    1       /* it began gated (the verdict's close), not yet cleared */
#define GH_CLEARED 2       /* its gate was cleared, by an admission past the ramp */
byte gh;                   /* the gate's history in the word's generation */
short wb;                  /* the window bits the set CASes put in and the serves
                            * took out (equal to BITS(word) unless something else
                            * changed them); 0 from each new generation */
#if MUTANT == 18
bit  pgate[THREADS];       /* MUTANT: the gate of the word the CLOSED permit was admitted with */
#endif
#endif

/* Scratch, not part of a state. pan does not restore hidden variables when
 * it backtracks, so every use below is written before it is read within one
 * step, and no nondeterministic choice follows a use within that step. */
hidden int  used;          /* scratch for alloc_gen() */
hidden byte gi, ng;
#if RAMP
hidden int  shw;           /* I15: the words as the shed found them */
hidden byte shg, shz, shd;
#endif
#if TRACE
/* For the story only: the generation number the code would have (0, 1,
 * 2, ...) of each identity. Hidden, so it never splits a state. */
hidden int  rgen;
hidden int  real[NGEN];
hidden int  rtmp[NGEN];
#endif

/* ng := a generation identity nothing refers to (NextWord()'s gen + 1). */
inline alloc_gen() { d_step {
  used = (1 << GEN(word)) | (1 << dl_gen);
  gi = 0;
  do
  :: gi < NPROCS ->
     if :: lw[gi] != NOWORD && GEN(lw[gi]) < NGEN -> used = used | (1 << GEN(lw[gi])) :: else -> skip fi;
     if :: pg[gi] != NOGEN -> used = used | (1 << pg[gi]) :: else -> skip fi;
     if :: ag[gi] != NOGEN -> used = used | (1 << ag[gi]) :: else -> skip fi;
     if :: fg[gi] < NGEN -> used = used | (1 << fg[gi]) :: else -> skip fi;
#if FIX_DEADLINE
     if :: dlt[gi] < NGEN -> used = used | (1 << dlt[gi]) :: else -> skip fi;
#endif
     gi++
  :: else -> break
  od;
#if SHARED
  if :: lent_gen < NGEN -> used = used | (1 << lent_gen) :: else -> skip fi;
  sadm = 0;                   /* the new generation's trials: none admitted yet */
#endif
#if RAMP
  gh = GH_PLAIN; wb = 0;      /* a new generation: not gated (VERDICT_CLOSE gates it), no bits */
#endif
#if PROBES
  gi = 0;
  do
  :: gi < K -> if :: sg[gi] != NOGEN -> used = used | (1 << sg[gi]) :: else -> skip fi; gi++
  :: else -> break
  od;
  gi = 0;
  do
  :: gi < THREADS -> if :: cg[gi] != NOGEN -> used = used | (1 << cg[gi]) :: else -> skip fi; gi++
  :: else -> break
  od;
#endif
  ng = 0;
  do
  :: ng < NGEN && ((used >> ng) & 1) -> ng++
  :: else -> break
  od;
  assert(ng < NGEN);          /* enough identities for every live generation */
  edged = edged & ~(1 << ng);
#if TRACE
  rgen++; real[ng] = rgen;
#endif
  used = 0; gi = 0
} }

/*
 * canon(): rename the live generation identities 0, 1, 2, ... in order of
 * first appearance (the word, the deadline, then each process's loaded
 * word, permit, pending deadline, judged fold generation). Every check compares generations only for
 * equality, so a renaming is a symmetry of the model, and storing one
 * representative per class keeps the state space small: for 2 threads
 * (code-safety-2 of the model before the want bit), over 94 million states
 * without it (a search that did not finish), 329 thousand with the renaming
 * alone, 70 thousand with the dead values below forgotten too.
 * Ghost state of dead identities is dropped. Runs at the end of every step
 * that can change a reference.
 *
 * It first forgets four kinds of dead value, each of which can no longer
 * change what any process does (a generation, once ended, never comes back,
 * and the deadline's tag never takes an old value again: each generation
 * has one winner, which stores once):
 *  - a loaded word (lw[]) of a generation that has ended becomes STALEW:
 *    the CAS that expects it can only fail, and a failure branch reads
 *    the current word, of the expected one only its generation, to find
 *    it differs (the plain stores of mutants 1 and 2 use theirs: there it
 *    is kept);
 *  - a loaded deadline tag (dlt[]) that the stored tag has replaced
 *    becomes OLDDL: it is only compared with the stored tag, and can only
 *    fail that comparison;
 *  - `until` (dl_zero, dl_due) of a deadline whose tag is not the word's
 *    generation: every reader compares the tag with the generation of the
 *    word it loaded in the same step first;
 *  - a judged generation (fg[]) that has ended becomes ENDED: the set loop
 *    only compares it with the current word's generation (and I9 with the
 *    generation of the word it is about to CAS), and can only fail.
 *  - (SHARED) shared_trials_ of a generation other than the word's becomes
 *    NOLENT with 0 slots: every reader (SharedTrialSlots()) compares its
 *    generation with that of a word it loaded, which is the current one or
 *    STALEW, and Lend() with the current one.
 *    The ghosts psh[] of a thread that holds no trial permit and shx[] of a
 *    thread with no loaded word are cleared: nothing reads them then.
 */
hidden byte map[NGEN];
hidden byte nmap;
hidden int  etmp;

inline canon_ref(x) {
  if
  :: x < NGEN && map[x] == NOGEN -> map[x] = nmap; nmap++
  :: else -> skip
  fi
}

#define REGEN(w) (((w) & 4095) | (map[GEN(w)] << 12))

#if PROBES
/* The probe slots' part of canon(), inside its d_step: the generations of
 * the slots and of the entries seen (renamed by map[] as every other
 * reference), then the millisecond identities: 0 (the current millisecond)
 * stays 0, the others are renumbered 1, 2, ... in order of first appearance
 * (the slots, each thread's deadline and seen entry, the reaper's). */
hidden byte msmap[NMS];
inline ms_ref(x) {
  if
  :: x != NOMS && msmap[x] == NOMS -> msmap[x] = nmap; nmap++
  :: else -> skip
  fi
}
inline probes_canon() {
  gi = 0;
  do
  :: gi < K -> if :: sg[gi] != NOGEN -> sg[gi] = map[sg[gi]] :: else -> skip fi; gi++
  :: else -> break
  od;
  gi = 0;
  do
  :: gi < THREADS -> if :: cg[gi] != NOGEN -> cg[gi] = map[cg[gi]] :: else -> skip fi; gi++
  :: else -> break
  od;
  gi = 0
}
/* The millisecond identities' renumbering: its own d_step, called only by
 * the steps that add or drop a deadline (claims, frees, reaps, ticks), to
 * keep pan.c small (canon() is inlined into every step). */
inline ms_canon() { d_step {
  gi = 0;
  do
  :: gi < NMS -> msmap[gi] = NOMS; gi++
  :: else -> break
  od;
  msmap[0] = 0; nmap = 1;
  gi = 0;
  do
  :: gi < K -> ms_ref(sd[gi]); gi++
  :: else -> break
  od;
  gi = 0;
  do
  :: gi < THREADS -> ms_ref(pd[gi]); ms_ref(cd[gi]); gi++
  :: else -> break
  od;
  ms_ref(rsd);
  gi = 0;
  do
  :: gi < K -> if :: sd[gi] != NOMS -> sd[gi] = msmap[sd[gi]] :: else -> skip fi; gi++
  :: else -> break
  od;
  gi = 0;
  do
  :: gi < THREADS ->
     if :: pd[gi] != NOMS -> pd[gi] = msmap[pd[gi]] :: else -> skip fi;
     if :: cd[gi] != NOMS -> cd[gi] = msmap[cd[gi]] :: else -> skip fi;
     gi++
  :: else -> break
  od;
  if :: rsd != NOMS -> rsd = msmap[rsd] :: else -> skip fi;
#if TRACE
  gi = 0;
  do
  :: gi < NMS -> if :: msmap[gi] != NOMS -> rmtmp[msmap[gi]] = realms[gi] :: else -> skip fi; gi++
  :: else -> break
  od;
  gi = 0;
  do
  :: gi < NMS -> realms[gi] = rmtmp[gi]; gi++
  :: else -> break
  od;
#endif
  gi = 0; nmap = 0
} }
inline pcanon() { canon(); ms_canon() }
#endif

inline canon() { d_step {
  if :: dl_gen != GEN(word) -> dl_zero = 1; dl_due = 1 :: else -> skip fi;   /* dead */
#if SHARED
  if :: lent_gen != GEN(word) -> lent_gen = NOLENT; lent_slots = 0 :: else -> skip fi;   /* dead */
  gi = 0;
  do
  :: gi < THREADS ->
     if :: pk[gi] != TRIAL -> psh[gi] = 0 :: else -> skip fi;
     if :: lw[gi] == NOWORD -> shx[gi] = 0 :: else -> skip fi;
     gi++
  :: else -> break
  od;
#endif
  gi = 0;
  do
  :: gi < NGEN -> map[gi] = NOGEN; gi++
  :: else -> break
  od;
  nmap = 0;
  canon_ref(GEN(word));
  canon_ref(dl_gen);
  gi = 0;
  do
  :: gi < NPROCS ->
#if MUTANT != 1 && MUTANT != 2
     if :: lw[gi] != NOWORD && GEN(lw[gi]) != GEN(word) -> lw[gi] = STALEW :: else -> skip fi;  /* dead */
#endif
#if FIX_DEADLINE
     if :: dlt[gi] < NGEN && dlt[gi] != dl_gen -> dlt[gi] = OLDDL :: else -> skip fi;  /* dead */
#endif
     if :: fg[gi] < NGEN && fg[gi] != GEN(word) -> fg[gi] = ENDED :: else -> skip fi;  /* dead */
     if :: lw[gi] != NOWORD -> canon_ref(GEN(lw[gi])) :: else -> skip fi;
     canon_ref(pg[gi]);
     canon_ref(ag[gi]);
     canon_ref(fg[gi]);
#if FIX_DEADLINE
     canon_ref(dlt[gi]);
#endif
     gi++
  :: else -> break
  od;
#if PROBES
  gi = 0;
  do
  :: gi < K -> canon_ref(sg[gi]); gi++
  :: else -> break
  od;
  gi = 0;
  do
  :: gi < THREADS -> canon_ref(cg[gi]); gi++
  :: else -> break
  od;
#endif
  word = REGEN(word);
  dl_gen = map[dl_gen];
#if SHARED
  if :: lent_gen < NGEN -> lent_gen = map[lent_gen] :: else -> skip fi;
#endif
  gi = 0;
  do
  :: gi < NPROCS ->
     if :: lw[gi] != NOWORD && GEN(lw[gi]) < NGEN -> lw[gi] = REGEN(lw[gi]) :: else -> skip fi;
     if :: pg[gi] != NOGEN -> pg[gi] = map[pg[gi]] :: else -> skip fi;
     if :: ag[gi] != NOGEN -> ag[gi] = map[ag[gi]] :: else -> skip fi;
     if :: fg[gi] < NGEN -> fg[gi] = map[fg[gi]] :: else -> skip fi;
#if FIX_DEADLINE
     if :: dlt[gi] < NGEN -> dlt[gi] = map[dlt[gi]] :: else -> skip fi;
#endif
     gi++
  :: else -> break
  od;
#if PROBES
  probes_canon();
#endif
  /* edged follows its identities; dead ones' bits clear */
  gi = 0;
  do
  :: gi < NGEN ->
     if :: map[gi] != NOGEN && ((edged >> gi) & 1) -> etmp = etmp | (1 << map[gi]) :: else -> skip fi; gi++
  :: else -> break
  od;
  edged = etmp; etmp = 0;
#if TRACE
  gi = 0;
  do
  :: gi < NGEN -> if :: map[gi] != NOGEN -> rtmp[map[gi]] = real[gi] :: else -> skip fi; gi++
  :: else -> break
  od;
  gi = 0;
  do
  :: gi < NGEN -> real[gi] = rtmp[gi]; gi++
  :: else -> break
  od;
#endif
  gi = 0; nmap = 0
} }

/* ---- Invariants (checked in every reachable state by Monitor) ---------- */

#if PROBES
/* A reaped trial's count went back with its reap (or is the reaper's to give
 * back: REAPER_OWES): it holds no slot of the word any more. */
#define HOLDS(i)    ((pk[i] == TRIAL && pg[i] == GEN(word) && !rp[i]) -> 1 : 0)
#define REAPER_OWES ((rdebt && pg[REAPER] == GEN(word)) -> 1 : 0)
#define RDEBT_IDLE  (!rdebt)
#else
#define HOLDS(i)    ((pk[i] == TRIAL && pg[i] == GEN(word)) -> 1 : 0)
#define REAPER_OWES 0
#define RDEBT_IDLE  1
#endif
#define PENDS(i, g) ((ag[i] == (g)) -> 1 : 0)
#define IDLE(i)     (pk[i] == NONE && lw[i] == NOWORD && ag[i] == NOGEN)
#if SHARED
#define OPER_IDLE   (lw[OPER] == NOWORD && ag[OPER] == NOGEN && \
                     lw[COORD] == NOWORD && ag[COORD] == NOGEN && !co_leaving)   /* and the coordinator */
#define CO_PENDS(g) + PENDS(COORD, g)
#else
#define OPER_IDLE   (lw[OPER] == NOWORD && ag[OPER] == NOGEN)
#define CO_PENDS(g)
#endif
#if PROBES
#undef CO_PENDS
#define CO_PENDS(g) + PENDS(REAPER, g)                   /* the reaper's trial failure */
#endif
#if THREADS == 1
#define HOLDERS      (HOLDS(0))
#define PENDING(g)   (PENDS(0, g) CO_PENDS(g))
#define QUIET        (IDLE(0) && OPER_IDLE)
#elif THREADS == 2
#define HOLDERS      (HOLDS(0) + HOLDS(1))
#define PENDING(g)   (PENDS(0, g) + PENDS(1, g) CO_PENDS(g))
#define QUIET        (IDLE(0) && IDLE(1) && OPER_IDLE)
#elif THREADS == 3
#define HOLDERS      (HOLDS(0) + HOLDS(1) + HOLDS(2))
#define PENDING(g)   (PENDS(0, g) + PENDS(1, g) + PENDS(2, g) CO_PENDS(g))
#define QUIET        (IDLE(0) && IDLE(1) && IDLE(2) && OPER_IDLE)
#elif THREADS == 4
#define HOLDERS      (HOLDS(0) + HOLDS(1) + HOLDS(2) + HOLDS(3))
#define PENDING(g)   (PENDS(0, g) + PENDS(1, g) + PENDS(2, g) + PENDS(3, g) CO_PENDS(g))
#define QUIET        (IDLE(0) && IDLE(1) && IDLE(2) && IDLE(3) && OPER_IDLE)
#endif

/* I1: trials in flight <= K, and in flight + successes + failures <= T. */
#define INV_BOUNDS  (IFL(word) <= K && IFL(word) + SUC(word) + FAI(word) <= T)
/* I2: the trial fields are 0 unless HALF_OPEN. */
#define INV_FIELDS  (ST(word) == HALF_OPEN || (IFL(word) == 0 && SUC(word) == 0 && FAI(word) == 0))
/* I3: no lost or phantom slot: in flight == threads holding a live trial
 * permit of the word's generation. */
#define INV_SLOTS   (IFL(word) == HOLDERS + REAPER_OWES)
/* I4: with every permit given back and nobody mid-operation, a HALF_OPEN
 * breaker has a free slot and trials left: the next call is admitted.
 * (SHARED: under kShared a HALF_OPEN whose T trials are done waits for the
 * coordinator, by design, and a call is admitted only within the slots
 * lent: there, only no slot may be left taken. Leaving kShared moves
 * HALF_OPEN to OPEN, so under kDegraded the whole of I4 holds.) */
#if SHARED
#define TRIALS_LEFT_OR_SHARED(w) (SUC(w) + FAI(w) < T || sharing == SHARING)
#else
#define TRIALS_LEFT_OR_SHARED(w) (SUC(w) + FAI(w) < T)
#endif
#define INV_QUIET   (!(QUIET && RDEBT_IDLE) || ST(word) != HALF_OPEN || (IFL(word) == 0 && TRIALS_LEFT_OR_SHARED(word)))
/* I5: the deadline that moves the breaker on (OPEN: when trials may start;
 * HALF_OPEN with a max duration: when lost trials reopen) is published for
 * the word's generation, or its transition's winner is about to store it.
 * Otherwise every reader takes it for "not yet published" forever. */
#define INV_DEADLINE (!(ST(word) == OPEN || (ST(word) == HALF_OPEN && HO_LIMIT)) || \
                      dl_gen == GEN(word) || PENDING(GEN(word)) > 0)
/* I8: both window bits are 0 unless CLOSED (the model has no
 * METRICS_ONLY). Set in OPEN, HALF_OPEN or FORCED_OPEN, owed would send
 * every admission of that generation to serve a fold of a window that is
 * gone (and want, every success that sees it). */
#define INV_WINDOW  (BITS(word) == 0 || ST(word) == CLOSED)
/* I10 (SHARED): the trial slots that admissions decided under kShared took
 * in a HALF_OPEN generation (in flight or done; a release gives its slot
 * back) never exceed the slots lent to that generation. The lent slots
 * only rise within a generation, so a count the admission read before a
 * Lend() can only be lower than the current one: a stale read refuses. */
#if SHARED
#define INV_LENT    (ST(word) != HALF_OPEN || sadm <= LENT(GEN(word)))
#endif
/* P1 (PROBES): the current generation's probe entries never outnumber its
 * trials in flight, so a claim of the current generation always finds a
 * slot (checked also where a claim's scan ends with nothing). */
#if PROBES
#if K == 1
#define CUR_ENTRIES ((sg[0] == GEN(word)) -> 1 : 0)
#else
#define CUR_ENTRIES (((sg[0] == GEN(word)) -> 1 : 0) + ((sg[1] == GEN(word)) -> 1 : 0))
#endif
#define INV_PROBES  (CUR_ENTRIES <= IFL(word))
#endif
#if RAMP
/* I12 (RAMP): the gate bit is 0 unless CLOSED. Set in OPEN, HALF_OPEN or
 * FORCED_OPEN, it would be carried into whatever follows. */
#define INV_GATE_CLOSED    (!GATE(word) || ST(word) == CLOSED)
/* I13: the gate is set only by the verdict's HALF_OPEN -> CLOSED CAS: a
 * gated word's generation began with that CAS (ghost gh; not Reset(), not
 * Follow(CLOSED), not another transition carrying it over). */
#define INV_GATE_BY_VERDICT (!GATE(word) || gh != GH_PLAIN)
/* I14: once cleared, the gate is never set again in that generation. */
#define INV_GATE_NOT_AGAIN (!GATE(word) || gh != GH_CLEARED)
/* I17: in CLOSED the window bits are what the set CASes put in and the
 * serves took out (ghost wb): nothing else, the gate's clearing CAS
 * included, drops or adds one (a dropped owed is a fold nobody serves). */
#define INV_BITS_KEPT      (ST(word) != CLOSED || BITS(word) == wb)
/* I18: the gate the close set stays until the clearing CAS (which also
 * checks, as it clears, that the ramp it found over is its generation's). */
#define INV_GATE_STAYS     (gh != GH_RAMP || GATE(word))
#endif

/* Named flags, so that pan's "assertion violated" names the property. They
 * are hidden (not part of a state): each is only ever cleared just before
 * the assert that then fails and ends the search. */
hidden byte I1_trial_counts_bounded = 1;
hidden byte I2_trial_fields_zero_unless_half_open = 1;
hidden byte I3_in_flight_equals_live_trial_permits = 1;
hidden byte I4_released_half_open_admits_next = 1;
hidden byte I5_deadline_published_for_current_gen = 1;
hidden byte I6_stale_outcome_never_changes_word = 1;
hidden byte I7_one_edge_winner_per_open_gen = 1;
hidden byte I8_window_bits_only_in_closed = 1;
hidden byte I9_bits_set_only_into_judged_gen = 1;
hidden byte I10_shared_trials_within_lent_slots = 1;
hidden byte I11_shared_state_moves_only_by_coordinator = 1;
hidden byte P1_current_entries_within_in_flight = 1;
hidden byte P2_reaped_trial_gives_nothing_back = 1;
hidden byte P3_free_only_own_entry = 1;
hidden byte P4_claim_never_takes_current_gen_slot = 1;
hidden byte I12_gate_only_in_closed = 1;
hidden byte I13_gate_set_only_by_verdict_close = 1;
hidden byte I14_gate_never_set_again_in_gen = 1;
hidden byte I15_shed_changes_no_word = 1;
hidden byte I16_current_gen_outcome_counted = 1;
hidden byte I17_window_bits_change_only_by_set_serve = 1;
hidden byte I18_gate_cleared_only_past_its_ramp = 1;
#define CHECK(flag, cond) if :: !(cond) -> flag = 0; assert(flag) :: else -> skip fi
/* I11 (SHARED), at every thread CAS that moves the word to another state
 * or generation (a trip, the end of OPEN, the HALF_OPEN deadline's reopen,
 * a trial verdict): sharing_ was not kShared at every moment since the
 * thread's operation began. Under kShared only the coordinator moves it. */
/* (Each expands to nothing, not skip, without SHARED: a statement more in
 * an atomic step would change the depths that pan -i/-I search by, and so
 * the counterexamples the other runs print.) */
#if SHARED
#define CHECK_I11 CHECK(I11_shared_state_moves_only_by_coordinator, !shx[t]);
#define SHX_START shx[t] = (sharing == SHARING);   /* an operation begins: its load of the word */
#else
#define CHECK_I11
#define SHX_START
#endif

#if MONITOR
active proctype Monitor() {
end_monitor:
  do
  :: atomic { !(INV_BOUNDS) -> I1_trial_counts_bounded = 0; assert(I1_trial_counts_bounded) }
  :: atomic { !(INV_FIELDS) -> I2_trial_fields_zero_unless_half_open = 0;
                               assert(I2_trial_fields_zero_unless_half_open) }
  :: atomic { !(INV_SLOTS) -> I3_in_flight_equals_live_trial_permits = 0;
                              assert(I3_in_flight_equals_live_trial_permits) }
  :: atomic { !(INV_QUIET) -> I4_released_half_open_admits_next = 0;
                              assert(I4_released_half_open_admits_next) }
  :: atomic { !(INV_WINDOW) -> I8_window_bits_only_in_closed = 0;
                               assert(I8_window_bits_only_in_closed) }
#if SHARED
  :: atomic { !(INV_LENT) -> I10_shared_trials_within_lent_slots = 0;
                             assert(I10_shared_trials_within_lent_slots) }
#endif
#if PROBES
  :: atomic { !(INV_PROBES) -> P1_current_entries_within_in_flight = 0;
                               assert(P1_current_entries_within_in_flight) }
#endif
#if RAMP
  :: atomic { !(INV_GATE_CLOSED) -> I12_gate_only_in_closed = 0;
                                    assert(I12_gate_only_in_closed) }
  :: atomic { !(INV_GATE_BY_VERDICT) -> I13_gate_set_only_by_verdict_close = 0;
                                        assert(I13_gate_set_only_by_verdict_close) }
  :: atomic { !(INV_GATE_NOT_AGAIN) -> I14_gate_never_set_again_in_gen = 0;
                                       assert(I14_gate_never_set_again_in_gen) }
  :: atomic { !(INV_BITS_KEPT) -> I17_window_bits_change_only_by_set_serve = 0;
                                  assert(I17_window_bits_change_only_by_set_serve) }
  :: atomic { !(INV_GATE_STAYS) -> I18_gate_cleared_only_past_its_ramp = 0;
                                   assert(I18_gate_cleared_only_past_its_ramp) }
#endif
#if CHECK_DEADLINE
  :: atomic { !(INV_DEADLINE) -> I5_deadline_published_for_current_gen = 0;
                                 assert(I5_deadline_published_for_current_gen) }
#endif
  od
}
#endif

/* ---- The story (TRACE=1) ------------------------------------------------- */

#if TRACE
inline say(w) {
  if
  :: ST(w) == CLOSED -> printf("CLOSED")
  :: ST(w) == OPEN -> printf("OPEN")
  :: ST(w) == HALF_OPEN -> printf("HALF_OPEN")
  :: ST(w) == FORCED_OPEN -> printf("FORCED_OPEN")
  fi;
  printf(",g%d,%d", real[GEN(w)], IFL(w));
  if
  :: SUC(w) + FAI(w) > 0 -> printf(" (trial successes %d, failures %d)", SUC(w), FAI(w))
  :: else -> skip
  fi;
#if RAMP
  if
  :: (w) & GATEB -> printf(" +gate")
  :: else -> skip
  fi;
#endif
  if
  :: (w) & OWEDB -> printf(" +owed")
  :: else -> skip
  fi;
  if
  :: (w) & WANTB -> printf(" +want")
  :: else -> skip
  fi
}
#if SHARED
#define WHO(who) \
  if \
  :: who == OPER -> printf("operator: ") \
  :: who == COORD -> printf("coordinator: ") \
  :: else -> printf("thread %d: ", who) \
  fi
#else
#if PROBES
#define WHO(who) \
  if \
  :: who == OPER -> printf("operator: ") \
  :: who == REAPER -> printf("reaper: ") \
  :: else -> printf("thread %d: ", who) \
  fi
#else
#define WHO(who) if :: who == OPER -> printf("operator: ") :: else -> printf("thread %d: ", who) fi
#endif
#endif
#define TRACE_CAS(who, old, what) \
  WHO(who); printf(what); printf(" CAS "); say(old); printf(" -> "); say(word); printf("\n")
#define TRACE_DL(who) \
  WHO(who); printf("deadline_.store(tag g%d)  while the word is ", real[dl_gen]); say(word); printf("\n")
#define TRACE_CLOCK \
  printf("clock: now >= the deadline tagged g%d\n", real[dl_gen])
#define TRACE_REJECT(who, w) \
  WHO(who); printf("TryAcquire() loads "); say(w); printf(", deadline tag g%d: Reject\n", real[dl_gen])
#define TRACE_STALE(who) \
  WHO(who); printf("its trial permit of g%d is stale: dropped\n", real[pg[who]])
#define TRACE_SHARED_REJECT(who, why) \
  WHO(who); printf("TryAcquire() loaded "); \
  if \
  :: GEN(lw[who]) < NGEN -> say(lw[who]) \
  :: else -> printf("a word of a generation since ended") \
  fi; \
  printf(", "); printf(why); printf(", kShared: Reject(word, 0)\n")
#define TRACE_SHARING(v) printf("coordinator: SetSharing("); printf(v); printf(")\n")
#define TRACE_SHARED_READ(who, what) WHO(who); printf(what); printf(": SharedDecides() is true\n")
#define TRACE_SLOTS(who) \
  if \
  :: GEN(lw[who]) < NGEN -> \
     WHO(who); printf("TryAcquire(): SharedTrialSlots(g%d) = %d, in flight + done = %d\n", \
                      real[GEN(lw[who])], LENT(GEN(lw[who])), IFL(lw[who]) + SUC(lw[who]) + FAI(lw[who])) \
  :: else -> skip \
  fi
#define TRACE_LEND(s) \
  printf("coordinator: Lend(g%d, %d): shared_trials_ = (g%d, %d) while the word is ", \
         real[GEN(word)], s, real[GEN(word)], s); say(word); printf("\n")
#define TRACE_GATE(who, w, what) \
  WHO(who); printf("TryAcquire() loads "); say(w); printf(", ramp end "); \
  if \
  :: dl_gen != GEN(w) -> printf("not yet stored") \
  :: dl_gen == GEN(w) && !dl_due -> printf("ahead") \
  :: else -> printf("past") \
  fi; \
  printf(": "); printf(what); printf("\n")
#define TRACE_OUTCOME(who, what) \
  WHO(who); printf("a success of its permit of g%d loads ", real[pg[who]]); say(lw[who]); \
  printf(": "); printf(what); printf("\n")
#else
#define TRACE_CAS(who, old, what) skip
#define TRACE_DL(who) skip
#define TRACE_CLOCK skip
#define TRACE_REJECT(who, w) skip
#define TRACE_STALE(who) skip
#define TRACE_SHARED_REJECT(who, why) skip
#define TRACE_SHARING(v) skip
#define TRACE_SHARED_READ(who, what) skip
#define TRACE_SLOTS(who) skip
#define TRACE_LEND(s) skip
#define TRACE_GATE(who, w, what) skip
#define TRACE_OUTCOME(who, what) skip
#endif

#if PROBES
#if TRACE
/* For the story only: the real millisecond of each millisecond identity. */
hidden int  msnow;
hidden int  realms[NMS];
hidden int  rmtmp[NMS];
#define WHO_P(who) if :: who == REAPER -> printf("reaper: ") :: else -> WHO(who) fi
inline say_entry(g, d) {
  if
  :: g == NOGEN -> printf("0 (free)")
  :: else -> printf("(g%d, deadline %d ms)", real[g], realms[d] + 1)
  fi
}
#define TRACE_CLAIM(who, i) \
  WHO(who); printf("ClaimProbeSlot(): CAS slot %d: ", i); say_entry(cg[who], cd[who]); \
  printf(" -> "); say_entry(sg[i], sd[i]); printf("  (now %d ms)\n", msnow)
#define TRACE_NOCLAIM(who) \
  WHO(who); printf("ClaimProbeSlot(): claims nothing (its generation g%d is over)\n", real[pg[who]])
#define TRACE_FREE(who, i) \
  WHO(who); printf("FreeProbeSlot(): CAS slot %d: ", i); say_entry(pg[who], pd[who]); \
  printf(" -> 0, ok\n")
#define TRACE_FREE_FAILS(who, i) \
  WHO(who); printf("FreeProbeSlot(): CAS slot %d from ", i); say_entry(pg[who], pd[who]); \
  printf(" fails (it holds "); say_entry(sg[i], sd[i]); printf("): reaped, its outcome is stale\n")
#define TRACE_REAP(i) \
  printf("reaper: ReapExpiredProbes(): CAS slot %d: ", i); say_entry(sg[i], sd[i]); \
  printf(" -> 0  (now %d ms)\n", msnow)
#define TRACE_TICK printf("tick: now %d ms\n", msnow)
#else
#define WHO_P(who) skip
#define TRACE_CLAIM(who, i) skip
#define TRACE_NOCLAIM(who) skip
#define TRACE_FREE(who, i) skip
#define TRACE_FREE_FAILS(who, i) skip
#define TRACE_REAP(i) skip
#define TRACE_TICK skip
#endif
#endif

/* ---- Time ---------------------------------------------------------------- */

/* The clock reaches the stored deadline (an OPEN duration elapses, or
 * half_open_max_duration does). Enabled once per stored deadline. */
active proctype Clock() {
end_clock:
  do
  :: atomic { !dl_due -> dl_due = 1; TRACE_CLOCK }
  od
}

#if PROBES
/* The coarse clock moves on by a millisecond (half_open_probe_timeout =
 * 1 ms): every deadline read so far is now due. Enabled only while some
 * deadline was read in the current millisecond (otherwise nothing would
 * change). */
#define MS0(x) ((x) == 0)
#if K == 1
#define SLOTS_MS0 MS0(sd[0])
#elif K == 2
#define SLOTS_MS0 (MS0(sd[0]) || MS0(sd[1]))
#else
#error "PROBES=1 models at most 2 probe slots (K <= 2)"
#endif
#if THREADS == 1
#define THREADS_MS0 (MS0(pd[0]) || MS0(cd[0]))
#elif THREADS == 2
#define THREADS_MS0 (MS0(pd[0]) || MS0(cd[0]) || MS0(pd[1]) || MS0(cd[1]))
#elif THREADS == 3
#define THREADS_MS0 (MS0(pd[0]) || MS0(cd[0]) || MS0(pd[1]) || MS0(cd[1]) || MS0(pd[2]) || MS0(cd[2]))
#else
#error "PROBES=1 models at most 3 threads"
#endif
inline ms_up(x) { if :: x != NOMS -> x = x + 1 :: else -> skip fi }
active proctype Tick() {
  byte j;
end_tick:
  do
  :: atomic { SLOTS_MS0 || THREADS_MS0 || MS0(rsd) ->
       j = 0;
       do
       :: j < K -> ms_up(sd[j]); j++
       :: else -> break
       od;
       j = 0;
       do
       :: j < THREADS -> ms_up(pd[j]); ms_up(cd[j]); j++
       :: else -> break
       od;
       ms_up(rsd); j = 0;
#if TRACE
       gi = NMS - 1;
       do
       :: gi > 0 -> realms[gi] = realms[gi - 1]; gi--
       :: else -> break
       od;
       msnow++; realms[0] = msnow;
#endif
       TRACE_TICK;
       pcanon() }
  od
}
#endif

/* ---- AfterTransition(): the winner stores the new generation's deadline -- */

/* Every transition's winner stores a deadline word (0 where the new state has
 * none: CLOSED, FORCED_OPEN), as src/transitions.cc AfterTransition() does. The
 * winner is process `me` (a thread's t, or OPER); ag[me] is the generation it
 * stores and az[me] whether the deadline is 0. Before the fix only the
 * transitions into OPEN and HALF_OPEN stored (STORE_ZERO). */
#if FIX_DEADLINE
#define STORE_ZERO(me) ag[me] = ng; az[me] = 1
#else
#define STORE_ZERO(me) skip
#endif

#if FIX_DEADLINE
/* Proposed fix (README.md): store the deadline only while the state word is
 * still at the writer's generation, by a CAS against a value loaded before
 * that check:
 *   d = deadline_.load(acquire);
 *   while (GenOf(state_.load(acquire)) == gen &&
 *          !deadline_.compare_exchange_weak(d, desired, release, acquire)) {}
 * (A cpp macro, not an inline: it jumps to the label `next`.) */
#define AFTER_TRANSITION(me, next) \
  atomic { dlt[me] = dl_gen; canon() };                            /* deadline_.load */ \
  do \
  :: atomic { GEN(word) != ag[me] ->                               /* state_.load: moved on */ \
       ag[me] = NOGEN; az[me] = 0; dlt[me] = NOGEN; canon(); goto next } \
  :: atomic { GEN(word) == ag[me] -> skip };                       /* state_.load: still ours */ \
     if \
     :: atomic { dl_gen == dlt[me] ->                               /* the CAS succeeds */ \
          dl_gen = ag[me]; dl_zero = az[me]; dl_due = az[me]; TRACE_DL(me); \
          ag[me] = NOGEN; az[me] = 0; dlt[me] = NOGEN; canon(); goto next } \
     :: atomic { dl_gen != dlt[me] -> dlt[me] = dl_gen; canon() }    /* the CAS fails: d = current */ \
     fi \
  od
#else
/* As in the code: deadline_.store(DeadlineWord(gen, ...), release), one
 * step after the CAS that won the transition. */
#define AFTER_TRANSITION(me, next) \
  atomic { \
    dl_gen = ag[me]; dl_zero = az[me]; dl_due = az[me]; TRACE_DL(me); \
    ag[me] = NOGEN; az[me] = 0; canon(); goto next \
  }
#endif

/* The verdict's HALF_OPEN -> CLOSED CAS (OnTrialOutcome(), a thread's or the
 * reaper's `me`, from the word w). RAMP: slow start opens the new CLOSED
 * period gated, and the winner stores the ramp's end (AfterTransition():
 * now + slow_start_duration, a real deadline that the Clock makes due). */
#if RAMP
#define VERDICT_CLOSE(me, w) alloc_gen(); word = NEXTW(w, CLOSED) | GATEB; gh = GH_RAMP; ag[me] = ng; az[me] = 0
#else
#define VERDICT_CLOSE(me, w) alloc_gen(); word = NEXTW(w, CLOSED); STORE_ZERO(me)
#endif

/* ---- Threads ------------------------------------------------------------- */

/* The switch at the top of TryAcquireSlow()'s loop (and TryAcquire()'s fast
 * path), on the word in lw[t]. Local: runs in the step that loaded the word.
 * `served` is TryAcquireSlow()'s local flag: an admission serves the owed
 * bit at most once. It is cleared where the admission ends (admitted or
 * rejected) and kept across the loop's `continue`s (a lost edge or slot
 * CAS, a reopen, the reload after serving), which return here. */
#if MUTANT == 4
#define SLOT_FREE(w) (IFL(w) < K)                  /* MUTANT: forgets the T bound */
#else
#define SLOT_FREE(w) (IFL(w) < K && IFL(w) + SUC(w) + FAI(w) < T)
#endif
/* SHARED: each decision that kShared suppresses first reads sharing_
 * (SharedDecides(), a relaxed load: a step of its own, so that the
 * coordinator can change it between the thread's load of the word, that
 * read, and the CAS that follows). */
#if SHARED
#define TO_EDGE   acq_open_sh                      /* case kOpen past the deadline */
#define TO_SLOT   acq_ho_sh                        /* case kHalfOpen, within K and T */
#define TO_REOPEN acq_hodl_sh                      /* ApplyHalfOpenDeadline() */
#define TO_TRIP   trip_sh                          /* TripIfCurrent() */
#define TO_TRIAL  trial_sh                         /* OnTrialOutcome()'s loop */
#else
#define TO_EDGE   acq_edge
#define TO_SLOT   acq_slot
#define TO_REOPEN acq_reopen
#define TO_TRIP   trip_retry
#define TO_TRIAL  trial_cas
#endif
#if RAMP
/* PassGate() (src/gate.cc), for a CLOSED word with the gate set:
 * ReadDeadline(gen, &end) (the deadline's tag must be the word's
 * generation: otherwise the closer has not stored the end yet, and the ramp
 * has only just begun), then now >= end (dl_due). */
#if MUTANT == 22
#define RAMP_OVER(w)  (dl_due)                     /* MUTANT: any generation's deadline taken for the end */
#else
#define RAMP_OVER(w)  (dl_gen == GEN(w) && dl_due)
#endif
#define RAMP_AHEAD(w) (dl_gen == GEN(w) && !dl_due)
/* The shed (Reject(word, end), shed_ + 1): I15, it writes no word. The
 * hidden copies are written and read within the step. */
#if MUTANT == 21
#define SHED_HELPS \
  if \
  :: dl_gen != GEN(lw[t]) -> dl_gen = GEN(lw[t]); dl_zero = 0; dl_due = 0   /* MUTANT: stores the end */ \
  :: else -> skip \
  fi;
#else
#define SHED_HELPS
#endif
#define SHED \
  TRACE_GATE(t, lw[t], "shed, Reject(word, end)"); \
  shw = word; shg = dl_gen; shz = dl_zero; shd = dl_due; \
  SHED_HELPS \
  CHECK(I15_shed_changes_no_word, word == shw && word == lw[t] && dl_gen == shg && \
                                  dl_zero == shz && dl_due == shd); \
  served = 0; lw[t] = NOWORD; canon(); goto end_idle
#if MUTANT == 18
#define PGATE(v) pgate[t] = v;
#else
#define PGATE(v)
#endif
#endif
inline dispatch() {
  if
  :: (lw[t] & OWEDB) && !served ->                /* a fold is owed: ServeWindow(word, owed) first, */
     served = 1; canon(); goto serve_owed         /* once (the fast path admits CLOSED only without it) */
  :: else -> skip
  fi;
  if
#if RAMP
  :: ST(lw[t]) == CLOSED && !GATE(lw[t]) ->       /* admit: Permit(kNormal, gen); want is not looked at */
     served = 0; pk[t] = NORMAL; pg[t] = GEN(lw[t]); PGATE(0)
     canon(); goto called
  :: ST(lw[t]) == CLOSED && GATE(lw[t]) && RAMP_OVER(lw[t]) ->   /* PassGate(): the ramp is over */
     TRACE_GATE(t, lw[t], "the ramp is over, clear the gate");
     canon(); goto gate_cas
  :: ST(lw[t]) == CLOSED && GATE(lw[t]) && RAMP_AHEAD(lw[t]) ->  /* PassGate(): the draw admits */
     TRACE_GATE(t, lw[t], "the draw admits it");
     served = 0; pk[t] = NORMAL; pg[t] = GEN(lw[t]); PGATE(1)
     canon(); goto called
  :: ST(lw[t]) == CLOSED && GATE(lw[t]) && !RAMP_OVER(lw[t]) ->  /* PassGate(): the draw sheds it, */
     SHED                                         /* or the end is not stored yet */
#else
  :: ST(lw[t]) == CLOSED ->                       /* admit: Permit(kNormal, gen); want is not looked at */
     served = 0; pk[t] = NORMAL; pg[t] = GEN(lw[t]);
     canon(); goto called
#endif
  :: ST(lw[t]) == FORCED_OPEN ->                  /* Reject(word, -1) */
     served = 0; lw[t] = NOWORD; canon(); goto end_idle
  :: ST(lw[t]) == OPEN &&                         /* ReadDeadline(gen) && now >= until */
     dl_gen == GEN(lw[t]) && dl_due -> canon(); goto TO_EDGE
  :: ST(lw[t]) == OPEN &&                         /* not yet published, or now < until: Reject */
     !(dl_gen == GEN(lw[t]) && dl_due) ->
     TRACE_REJECT(t, lw[t]); served = 0; lw[t] = NOWORD; canon(); goto end_idle
  :: ST(lw[t]) == HALF_OPEN && SLOT_FREE(lw[t]) -> canon(); goto TO_SLOT
  :: ST(lw[t]) == HALF_OPEN && !SLOT_FREE(lw[t]) &&   /* every slot taken, trials too old */
     dl_gen == GEN(lw[t]) && !dl_zero && dl_due -> canon(); goto TO_REOPEN
  :: ST(lw[t]) == HALF_OPEN && !SLOT_FREE(lw[t]) &&   /* every slot taken: Reject(word, 0) */
     !(dl_gen == GEN(lw[t]) && !dl_zero && dl_due) -> served = 0; lw[t] = NOWORD; canon(); goto end_idle
  fi
}

/* PROBES: a trial that gives its permit up (an outcome or release CAS, or
 * stale) leaves no probe state behind (its slot was freed before, or never
 * claimed; MUTANT 15 goes on after a failed free, MUTANT 12 frees late).
 * P2 at the CAS that hands the count back: the trial was not reaped. */
#if PROBES
#define PROBE_DROP rp[t] = 0; ps[t] = 0; pd[t] = NOMS;
#define CHECK_P2 CHECK(P2_reaped_trial_gives_nothing_back, !rp[t]);
#define CLAIM_OR_HOLD claim_load
#else
#define PROBE_DROP
#define CHECK_P2
#define CLAIM_OR_HOLD holding
#endif

/* The loop head of OnTrialOutcome(): a permit of another generation, or a
 * word that is no longer HALF_OPEN or has no trial in flight, is stale. */
#if MUTANT == 3
#define TRIAL_STALE(w) (ST(w) != HALF_OPEN || IFL(w) == 0)
#else
#define TRIAL_STALE(w) (GEN(w) != pg[t] || ST(w) != HALF_OPEN || IFL(w) == 0)
#endif
inline trial_head() {
  if
  :: TRIAL_STALE(lw[t]) ->                         /* stripe.Add(kStale); return */
     TRACE_STALE(t);
     pk[t] = NONE; pg[t] = NOGEN; PROBE_DROP lw[t] = NOWORD; how = 0; canon(); goto end_idle
  :: else -> canon(); goto TO_TRIAL
  fi
}

/* The loop condition of OnRelease(). */
inline release_head() {
  if
  :: GEN(lw[t]) == pg[t] && ST(lw[t]) == HALF_OPEN && IFL(lw[t]) > 0 -> canon(); goto release_cas
  :: else -> pk[t] = NONE; pg[t] = NOGEN; PROBE_DROP lw[t] = NOWORD; canon(); goto end_idle
  fi
}

/* One turn of TripIfCurrent(g)'s loop, `expected` in lw[t]:
 * Publish(CLOSED,g -> OPEN,g+1,0). While the word is still CLOSED at g (the
 * CAS failed only because a window bit changed) it tries again with the
 * word it got; otherwise it returns. A cpp macro (branches of an if): used
 * at `called` (the first try after a failure, a progress state) and at
 * trip_retry. */
#if TRACE
#define TRACE_TRIP \
  if \
  :: pk[t] == NORMAL -> WHO(t); printf("a failure, ") \
  :: else -> WHO(t); printf("the fold trips, ") \
  fi; \
  printf("TripIfCurrent(): CAS "); say(lw[t]); printf(" -> "); say(word); printf("\n")
#else
#define TRACE_TRIP skip
#endif
#define TRIP_BRANCHES \
  :: atomic { word == lw[t] -> \
       alloc_gen(); word = NEXTW(lw[t], OPEN); \
       TRACE_TRIP; \
       CHECK(I6_stale_outcome_never_changes_word, pk[t] != NORMAL || GEN(lw[t]) == pg[t]); \
       CHECK_I11 \
       ag[t] = ng; az[t] = 0; \
       pk[t] = NONE; pg[t] = NOGEN; lw[t] = NOWORD; canon(); goto trip_after } \
  :: atomic { word != lw[t] && ST(word) == CLOSED && GEN(word) == GEN(lw[t]) -> \
       lw[t] = word; goto trip_retry }             /* only a window bit changed */ \
  :: atomic { word != lw[t] && !(ST(word) == CLOSED && GEN(word) == GEN(lw[t])) -> \
       pk[t] = NONE; pg[t] = NOGEN; lw[t] = NOWORD; canon(); goto end_idle }

#if RAMP
/* RecordClosedSuccess()'s stale test: its one compare (generation and
 * window bits, shifted) leaves the gate out; stale only if the generation
 * has moved on. */
#if MUTANT == 18
#define CLOSED_STALE(w) (GEN(w) != pg[t] || GATE1(w) != pgate[t])  /* MUTANT: the gate compared */
#else
#define CLOSED_STALE(w) (GEN(w) != pg[t])
#endif
/* The ghost wb (I17) follows the window bits' set and serve CASes. */
#define WB_SET(b)   wb = wb | (b);
#define WB_CLEAR(m) wb = wb & ~(m);
#else
#define WB_SET(b)
#define WB_CLEAR(m)
#endif

/* One turn of ApplyFold()'s set loop, `expected` in lw[t], the bits b, the
 * generation jg the fold judged (FoldResult::gen): while the word is CLOSED
 * (or METRICS_ONLY) at jg and lacks one of b, CAS word -> word | b. Its
 * load is folded into its first CAS (README.md). Branches of an if: used at
 * `called` (a failing call's fold: jg is its permit's generation) and at
 * set_retry (jg in fg[t], b in fb). */
#if MUTANT == 6
#define SET_OK(w, b, jg) (((w) & (b)) != (b))                  /* MUTANT: no state, no gen check */
#elif MUTANT == 7
#define SET_OK(w, b, jg) (ST(w) == CLOSED && ((w) & (b)) != (b))  /* MUTANT: no gen check */
#else
#define SET_OK(w, b, jg) (ST(w) == CLOSED && GEN(w) == (jg) && ((w) & (b)) != (b))
#endif
#if CHECK_JUDGED
#define CHECK_I9(cond) CHECK(I9_bits_set_only_into_judged_gen, cond)
#else
#define CHECK_I9(cond) skip
#endif
#if TRACE
#define TRACE_SET(who, jg) \
  WHO(who); printf("ApplyFold() of a fold that judged "); \
  if \
  :: (jg) < NGEN -> printf("g%d", real[jg]) \
  :: else -> printf("a generation since ended") \
  fi; \
  printf(" sets bits: CAS "); say(lw[t]); printf(" -> "); say(word); printf("\n")
#else
#define TRACE_SET(who, jg) skip
#endif
#define SET_DONE \
  pk[t] = NONE; pg[t] = NOGEN; fg[t] = NOGEN; fb = 0; lw[t] = NOWORD; canon(); goto end_idle
#define SET_BRANCHES(b, jg) \
  :: atomic { word == lw[t] && SET_OK(lw[t], b, jg) -> \
       word = lw[t] | (b); WB_SET(b) \
       TRACE_SET(t, jg); \
       CHECK_I9(GEN(lw[t]) == (jg)); \
       SET_DONE } \
  :: atomic { word == lw[t] && !SET_OK(lw[t], b, jg) -> SET_DONE }    /* nothing to set */ \
  :: atomic { word != lw[t] && SET_OK(word, b, jg) -> \
       fg[t] = jg; fb = b; pk[t] = NONE; pg[t] = NOGEN; lw[t] = word; canon(); goto set_retry } \
  :: atomic { word != lw[t] && !SET_OK(word, b, jg) -> SET_DONE }

/* One turn of ServeWindow(word, mask)'s loop, `expected` in lw[t]: while
 * the word has a bit of mask, CAS word -> word & ~mask; the thread whose CAS
 * clears them folds (window_->Fold()), and the fold's verdict is free:
 * nothing, a trip of the generation it cleared the bits in
 * (TripIfCurrent(g), its load folded into the clear CAS), or setting owed,
 * want or both again into that generation (ApplyFold()'s set loop, its load
 * folded likewise). The fold's CurrentGen() read is folded into the clear
 * CAS (README.md). Then the caller goes on at end_idle: an admission
 * reloads and continues (`served` set), a success returns. */
#if TRACE
#define TRACE_SERVE(who, v) \
  WHO(who); printf(who_what); printf(" ServeWindow(): "); printf(v); printf(": CAS "); \
  say(lw[t]); printf(" -> "); say(word); printf("\n")
#else
#define TRACE_SERVE(who, v) skip
#endif
#define SERVE_BRANCHES(mask, self) \
  :: atomic { word == lw[t] -> \
       word = lw[t] & ~(mask); WB_CLEAR(mask) TRACE_SERVE(t, "cleared, the fold does nothing"); \
       lw[t] = NOWORD; canon(); goto end_idle } \
  :: atomic { word == lw[t] -> \
       word = lw[t] & ~(mask); WB_CLEAR(mask) TRACE_SERVE(t, "cleared, the fold trips"); \
       lw[t] = word; goto TO_TRIP } \
  :: atomic { word == lw[t] -> \
       word = lw[t] & ~(mask); WB_CLEAR(mask) TRACE_SERVE(t, "cleared, the fold owes"); \
       fg[t] = GEN(lw[t]); fb = OWEDB; lw[t] = word; canon(); goto set_retry } \
  :: atomic { word == lw[t] -> \
       word = lw[t] & ~(mask); WB_CLEAR(mask) TRACE_SERVE(t, "cleared, the fold wants successes"); \
       fg[t] = GEN(lw[t]); fb = WANTB; lw[t] = word; canon(); goto set_retry } \
  :: atomic { word == lw[t] -> \
       word = lw[t] & ~(mask); WB_CLEAR(mask) TRACE_SERVE(t, "cleared, the fold owes and wants successes"); \
       fg[t] = GEN(lw[t]); fb = BOTHB; lw[t] = word; canon(); goto set_retry } \
  :: atomic { word != lw[t] && (word & (mask)) -> lw[t] = word; canon(); goto self } \
  :: atomic { word != lw[t] && !(word & (mask)) ->   /* cleared by another thread (it folds) */ \
       lw[t] = NOWORD; canon(); goto end_idle }    /* or by a transition */

proctype Thread(byte t) {
  byte how;                                       /* the outcome being recorded */
  short fb;                                       /* ApplyFold()'s set loop: the bits to set */
  bit  served;                                    /* TryAcquireSlow(): owed served this admission */
#if SHARED
  bit  sh;                                        /* SharedDecides() said kShared (admission, verdict) */
#endif

  /* ---- TryAcquire() / TryAcquireSlow() --------------------------------- */
end_idle:
  atomic { lw[t] = word; SHX_START dispatch() }   /* state_.load(acquire) */

#if SHARED
  /* ---- Under the shared hold: the reads of sharing_ and shared_trials_ -- */
acq_open_sh:                                      /* case kOpen, now >= until: SharedDecides() */
  if
  :: atomic { sharing == SHARING ->               /* the store ends OPEN: Reject(word, 0) */
       TRACE_SHARED_REJECT(t, "OPEN past its deadline");
       served = 0; lw[t] = NOWORD; canon(); goto end_idle }
  :: atomic { sharing != SHARING -> goto acq_edge }
  fi;

acq_ho_sh:                                        /* case kHalfOpen, a slot within K and T: */
  if                                              /* SharedDecides() ? SharedTrialSlots(gen) : T */
  :: atomic { sharing == SHARING -> goto acq_lent }
  :: atomic { sharing != SHARING -> goto acq_slot }
  fi;

acq_lent:                                         /* SharedTrialSlots(gen): shared_trials_.load(acquire) */
#if MUTANT == 8
#define LENT_OK(w) true                           /* MUTANT: the slots lent are not looked at */
#else
#define LENT_OK(w) (IFL(w) + SUC(w) + FAI(w) < LENT(GEN(w)))
#endif
  if
  /* in_flight + done < lent. A word of an ended generation (STALEW): the
   * slots canon() forgot could be any, so either; its CAS can only fail. */
  :: atomic { LENT_OK(lw[t]) || lw[t] == STALEW -> TRACE_SLOTS(t); sh = 1; goto acq_slot }
  :: atomic { !LENT_OK(lw[t]) ->                  /* Reject(word, 0) */
       TRACE_SHARED_REJECT(t, "no trial slot lent");
       served = 0; lw[t] = NOWORD; canon(); goto end_idle }
  fi;

acq_hodl_sh:                                      /* ApplyHalfOpenDeadline(): SharedDecides() */
  if
  :: atomic { sharing == SHARING ->               /* the store's HALF_OPEN has its own limit; */
       TRACE_SHARED_REJECT(t, "HALF_OPEN past its limit");
       served = 0; lw[t] = NOWORD; canon(); goto end_idle }   /* no slot within K and T: Reject */
  :: atomic { sharing != SHARING -> goto acq_reopen }
  fi;

trip_sh:                                          /* TripIfCurrent(): SharedDecides() */
  if
  :: atomic { sharing == SHARING ->               /* the window only records: return */
       pk[t] = NONE; pg[t] = NOGEN; lw[t] = NOWORD; canon(); goto end_idle }
  :: atomic { sharing != SHARING -> goto trip_retry }
  fi;

trial_sh:                                         /* OnTrialOutcome(), in its loop: SharedDecides() */
  if
#if MUTANT == 11
  :: atomic { true -> goto trial_cas }            /* MUTANT: judged as if alone */
#else
  :: atomic { sharing == SHARING ->               /* counted only */
       TRACE_SHARED_READ(t, "OnTrialOutcome()"); sh = 1; goto trial_cas }
  :: atomic { sharing != SHARING -> goto trial_cas }
#endif
  fi;
#endif

acq_edge:                                         /* Publish(OPEN,g,0 -> HALF_OPEN,g+1,1) */
  if
#if MUTANT == 2
#define EDGE_WHAT "TryAcquire(): the edge, MUTANT plain store instead of"
  :: atomic { true ->                              /* MUTANT: a plain store, no CAS */
#else
#define EDGE_WHAT "TryAcquire(): the edge, first trial:"
  :: atomic { word == lw[t] ->
#endif
       alloc_gen();
       word = NEXTW(lw[t], HALF_OPEN) + ONE_IN_FLIGHT;
       TRACE_CAS(t, lw[t], EDGE_WHAT);
       CHECK(I7_one_edge_winner_per_open_gen, ((edged >> GEN(lw[t])) & 1) == 0);
       CHECK_I11
       edged = edged | (1 << GEN(lw[t]));
       pk[t] = TRIAL; pg[t] = ng;                  /* the winner is the first trial */
       ag[t] = ng; az[t] = (HO_LIMIT -> 0 : 1);
       served = 0; lw[t] = NOWORD; canon(); goto edge_after }
#if MUTANT != 2
  :: atomic { word != lw[t] -> lw[t] = word; dispatch() }   /* `word` holds what beat us */
#endif
  fi;
edge_after:
  AFTER_TRANSITION(t, CLAIM_OR_HOLD);

acq_slot:                                         /* HALF_OPEN,g,n -> HALF_OPEN,g,n+1 */
  if
#if MUTANT == 1
#define SLOT_WHAT "TryAcquire(): a trial slot, MUTANT plain store instead of"
  :: atomic { true ->                              /* MUTANT: state_.store(word + 1), no CAS */
#else
#define SLOT_WHAT "TryAcquire(): a trial slot:"
  :: atomic { word == lw[t] ->                     /* compare_exchange_weak(acquire) */
#endif
       word = lw[t] + ONE_IN_FLIGHT;
       TRACE_CAS(t, lw[t], SLOT_WHAT);
#if SHARED
       psh[t] = sh; sadm = sadm + sh; sh = 0;      /* ghost: a slot taken under kShared */
#endif
       pk[t] = TRIAL; pg[t] = GEN(lw[t]); served = 0; lw[t] = NOWORD; canon(); goto CLAIM_OR_HOLD }
#if MUTANT != 1
#if SHARED
  :: atomic { word != lw[t] -> sh = 0; lw[t] = word; dispatch() }
#else
  :: atomic { word != lw[t] -> lw[t] = word; dispatch() }
#endif
#endif
  fi;

acq_reopen:                                       /* Publish(HALF_OPEN,g,n -> OPEN,g+1,0) */
  if
  :: atomic { word == lw[t] ->
       alloc_gen(); word = NEXTW(lw[t], OPEN);
       TRACE_CAS(t, lw[t], "TryAcquire(): trials too old, reopen:");
       CHECK_I11
       ag[t] = ng; az[t] = 0; lw[t] = NOWORD; canon(); goto reopen_after }
  :: atomic { word != lw[t] -> lw[t] = NOWORD; canon(); goto end_idle }   /* reload, loop */
  fi;
reopen_after:
  AFTER_TRANSITION(t, end_idle);                  /* then state_.load(acquire), loop */

#if RAMP
  /* ---- PassGate(), the ramp over: clear the gate, admit ---------------- */
gate_cas:                                         /* compare_exchange_strong(word, word & ~gate) */
  if
  :: atomic { word == lw[t] ->
#if MUTANT == 16
       word = MKW(CLOSED, GEN(lw[t]));            /* MUTANT: MakeWord(): the window bits go too */
#elif MUTANT == 20
       word = lw[t] ^ GATEB;                      /* MUTANT: flips it */
#else
       word = lw[t] & ~GATEB;                     /* the same word, the same generation */
#endif
       TRACE_CAS(t, lw[t], "TryAcquire(): PassGate(), the ramp is over:");
       /* I18: the ramp it found over is its generation's: that
        * generation's end stored (its tag) and past. */
       CHECK(I18_gate_cleared_only_past_its_ramp, dl_gen == GEN(lw[t]) && dl_due);
       if :: gh == GH_RAMP && !GATE(word) -> gh = GH_CLEARED :: else -> skip fi;
       /* kAdmit. (On success the CAS leaves `word` as it was, gated: MUTANT
        * 18's permit records that.) TripIfCurrent()'s load is folded into
        * its first CAS: the word just written. */
       served = 0; pk[t] = NORMAL; pg[t] = GEN(lw[t]); PGATE(1) lw[t] = word; canon(); goto called }
#if MUTANT == 20
  :: atomic { word != lw[t] && ST(word) == CLOSED && GEN(word) == GEN(lw[t]) ->
       lw[t] = word; goto gate_cas }              /* MUTANT: retries with the word it got */
  :: atomic { word != lw[t] && !(ST(word) == CLOSED && GEN(word) == GEN(lw[t])) ->
       lw[t] = word; dispatch() }
#else
  :: atomic { word != lw[t] -> lw[t] = word; dispatch() }   /* kReexamine: `word` holds what beat us */
#endif
  fi;
#endif

  /* ---- An admission serves the owed bit -------------------------------- */
serve_owed:                                       /* ServeWindow(word, kFoldOwedBit), then */
#define who_what "TryAcquire():"                  /* state_.load(acquire) and continue */
  if
  SERVE_BRANCHES(OWEDB, serve_owed)
  fi;
#undef who_what

  /* ---- Admitted in CLOSED: the call's outcome -------------------------- */
called:
progress_closed:
  if
  /* It fails and reaches a threshold (the consecutive run, or its fold
   * trips): TripIfCurrent(g), its load folded into the first CAS. */
#if SHARED
  /* (SHARED: TripIfCurrent() reads sharing_ first: trip_sh, in one step.) */
  :: atomic { sharing == SHARING ->               /* the window only records: return */
       pk[t] = NONE; pg[t] = NOGEN; lw[t] = NOWORD; canon(); goto end_idle }
  :: atomic { sharing != SHARING -> goto trip_retry }
#else
  TRIP_BRANCHES
#endif
#if WINDOW
  /* It fails, and its fold (window_->Record()) owes, or finds the window
   * short of minimum_calls with failures, or both: ApplyFold() sets the
   * bits into the permit's generation. */
  SET_BRANCHES(OWEDB, pg[t])
  SET_BRANCHES(WANTB, pg[t])
  SET_BRANCHES(BOTHB, pg[t])
#endif
  /* It succeeds: RecordClosedSuccess(). At the permit's generation with a
   * bit set, ServeWindow(word, both bits); otherwise it writes nothing. */
#if RAMP
  /* (RAMP: the stale test is made explicit for I16: a success of the word's
   * generation is counted, whatever the gate did since its admission.) */
  :: atomic { lw[t] = word; pk[t] = NONE;          /* state_.load(acquire) */
       SHX_START
       if
       :: !CLOSED_STALE(lw[t]) && BITS(lw[t]) != 0 -> pg[t] = NOGEN; canon(); goto serve_both
       :: !CLOSED_STALE(lw[t]) && BITS(lw[t]) == 0 -> pg[t] = NOGEN; lw[t] = NOWORD; canon(); goto end_idle
       :: CLOSED_STALE(lw[t]) ->                   /* stripe.Add(kStale) */
          TRACE_OUTCOME(t, "stale, dropped");
          CHECK(I16_current_gen_outcome_counted, GEN(lw[t]) != pg[t]);
          pg[t] = NOGEN; lw[t] = NOWORD; canon(); goto end_idle
       fi }
#else
  :: atomic { lw[t] = word; pk[t] = NONE;          /* state_.load(acquire) */
       SHX_START
       if
       :: GEN(lw[t]) == pg[t] && BITS(lw[t]) != 0 -> pg[t] = NOGEN; canon(); goto serve_both
       :: else -> pg[t] = NOGEN; lw[t] = NOWORD; canon(); goto end_idle
       fi }
#endif
  fi;

serve_both:                                       /* ServeWindow(word, kWindowBits) */
#define who_what "a success:"
  if
  SERVE_BRANCHES(BOTHB, serve_both)
  fi;
#undef who_what

trip_retry:                                       /* TripIfCurrent(g), again (not a new call) */
  if
  TRIP_BRANCHES
  fi;
trip_after:
  AFTER_TRANSITION(t, end_idle);

set_retry:                                        /* ApplyFold()'s set loop, again */
  if
  SET_BRANCHES(fb, fg[t])
  fi;

  /* ---- Holding a trial permit: resolve it ------------------------------ */
#if PROBES
  /* ---- PROBES: ClaimProbeSlot(), right after the admission (and, for the
   * edge's winner, after Publish()'s AfterTransition()) ------------------ */
#define CLAIM_NEXT \
  cg[t] = NOGEN; cd[t] = NOMS; ci[t]++; \
  if \
  :: ci[t] < K -> pcanon(); goto claim_load        /* the next slot: its load */ \
  :: else ->                                      /* every slot held by ours or the current */ \
     CHECK(P1_current_entries_within_in_flight, GEN(word) != pg[t]);   /* generation's: ours is over */ \
     TRACE_NOCLAIM(t); ci[t] = 0; pd[t] = NOMS; pcanon(); goto holding \
  fi
#if MUTANT == 14
#define CLAIM_OTHER claim_cas                     /* MUTANT: takes another generation's, current or not */
#else
#define CLAIM_OTHER claim_cur
#endif
#define CLAIM_EVAL \
  if \
  :: cg[t] == NOGEN -> pcanon(); goto claim_cas    /* seen == 0: free */ \
  :: cg[t] != NOGEN && cg[t] == pg[t] -> CLAIM_NEXT   /* our generation's: the next slot */ \
  :: cg[t] != NOGEN && cg[t] != pg[t] -> pcanon(); goto CLAIM_OTHER \
  fi
claim_load:                                       /* slot.load(acquire); for slot 0, first */
  atomic {                                        /* the clock: deadline = now + timeout */
#if !PROBE_UNIQUE
    if :: ci[t] == 0 -> pd[t] = 0 :: else -> skip fi;
#endif
    cg[t] = sg[ci[t]]; cd[t] = sd[ci[t]]; CLAIM_EVAL }
claim_cur:                                        /* GenOf(state_.load(acquire)) */
  atomic {
    if
    :: cg[t] == GEN(word) -> CLAIM_NEXT           /* a current trial's: the next slot */
    :: cg[t] != GEN(word) && GEN(word) != pg[t] -> /* our generation is over: no deadline */
       TRACE_NOCLAIM(t); cg[t] = NOGEN; cd[t] = NOMS; ci[t] = 0; pd[t] = NOMS; pcanon(); goto holding
    :: cg[t] != GEN(word) && GEN(word) == pg[t] -> pcanon(); goto claim_cas   /* an ended one's: take it */
    fi }
claim_cas:                                        /* compare_exchange_weak(seen, entry, acq_rel) */
  if
  :: atomic { sg[ci[t]] == cg[t] && sd[ci[t]] == cd[t] ->
#if PROBE_UNIQUE
       pd[t] = 0;                                 /* the deadline read at the CAS */
#endif
       CHECK(P4_claim_never_takes_current_gen_slot, cg[t] == NOGEN || cg[t] != GEN(word));
       sg[ci[t]] = pg[t]; sd[ci[t]] = pd[t]; so[ci[t]] = t;
       TRACE_CLAIM(t, ci[t]);
       ps[t] = ci[t] + 1; ci[t] = 0; cg[t] = NOGEN; cd[t] = NOMS; pcanon(); goto holding }
  :: atomic { !(sg[ci[t]] == cg[t] && sd[ci[t]] == cd[t]) ->   /* seen = the entry there now */
       cg[t] = sg[ci[t]]; cd[t] = sd[ci[t]]; CLAIM_EVAL }
  fi;

  /* ---- PROBES: holding a trial permit, with or without a probe slot ------
   * OnOutcomeSlow() / OnRelease(): FreeProbeSlot() first (CAS own entry ->
   * 0); if it fails the trial was reaped: stale, the word is left alone.
   * Then OnTrialOutcome()'s or ReturnTrialSlot()'s load (ho_load). */
#define RELEASE 3
#if MUTANT == 12
#define HAS_SLOT(t) false                         /* MUTANT: no free before the count goes back */
#else
#define HAS_SLOT(t) (ps[t] != 0)
#endif
#define RESOLVE_AS(h) \
  :: atomic { pk[t] == TRIAL && !HAS_SLOT(t) -> how = h;   /* no slot: the load at once */ \
       lw[t] = word; \
       if \
       :: how == RELEASE -> how = 0; release_head() \
       :: else -> SHX_START trial_head() \
       fi } \
  :: atomic { pk[t] == TRIAL && HAS_SLOT(t) && MINE(t, ps[t] - 1) -> how = h;   /* FreeProbeSlot() */ \
       TRACE_FREE(t, ps[t] - 1); \
       CHECK(P3_free_only_own_entry, so[ps[t] - 1] == t); \
       sg[ps[t] - 1] = NOGEN; sd[ps[t] - 1] = NOMS; so[ps[t] - 1] = NONEOWN; \
       ps[t] = 0; pd[t] = NOMS; pcanon(); goto ho_load }
holding:
progress_held:
  if
  RESOLVE_AS(SUCCESS)                             /* Success(), Failure(), Release() (Ignore(), */
  RESOLVE_AS(FAILURE)                             /* ~Permit()) */
  RESOLVE_AS(RELEASE)
#if MUTANT == 15
  :: atomic { pk[t] == TRIAL && HAS_SLOT(t) && !MINE(t, ps[t] - 1) ->   /* MUTANT: goes on */
       how = SUCCESS; TRACE_FREE_FAILS(t, ps[t] - 1); ps[t] = 0; pd[t] = NOMS; pcanon(); goto ho_load }
  :: atomic { pk[t] == TRIAL && HAS_SLOT(t) && !MINE(t, ps[t] - 1) ->
       how = FAILURE; TRACE_FREE_FAILS(t, ps[t] - 1); ps[t] = 0; pd[t] = NOMS; pcanon(); goto ho_load }
  :: atomic { pk[t] == TRIAL && HAS_SLOT(t) && !MINE(t, ps[t] - 1) ->
       how = RELEASE; TRACE_FREE_FAILS(t, ps[t] - 1); ps[t] = 0; pd[t] = NOMS; pcanon(); goto ho_load }
#else
  :: atomic { pk[t] == TRIAL && HAS_SLOT(t) && !MINE(t, ps[t] - 1) ->   /* reaped: stale */
       TRACE_FREE_FAILS(t, ps[t] - 1);
       pk[t] = NONE; pg[t] = NOGEN; PROBE_DROP pcanon(); goto end_idle }
#endif
  fi;
ho_load:                                          /* OnTrialOutcome() / ReturnTrialSlot(): state_.load */
  atomic {
    lw[t] = word;
    if
    :: how == RELEASE -> how = 0; release_head()
    :: else -> SHX_START trial_head()
    fi }
#if MUTANT == 12
late_free:                                        /* MUTANT: FreeProbeSlot() after the count went back */
  atomic {
    if
    :: MINE(t, ps[t] - 1) -> sg[ps[t] - 1] = NOGEN; sd[ps[t] - 1] = NOMS; so[ps[t] - 1] = NONEOWN
    :: else -> skip
    fi;
    pg[t] = NOGEN; PROBE_DROP pcanon();
    if
    :: ag[t] != NOGEN -> goto trial_after
    :: else -> goto end_idle
    fi }
#endif
#else
holding:
progress_held:
  if
  :: atomic { pk[t] == TRIAL -> how = SUCCESS;     /* OnTrialOutcome(success): state_.load */
       lw[t] = word; SHX_START trial_head() }
  :: atomic { pk[t] == TRIAL -> how = FAILURE;     /* OnTrialOutcome(failure): state_.load */
       lw[t] = word; SHX_START trial_head() }
  :: atomic { pk[t] == TRIAL ->                    /* OnRelease(): Release(), Ignore(), ~Permit() */
       lw[t] = word; release_head() }
  fi;
#endif

trial_cas:                                        /* Publish(word, desired) in OnTrialOutcome() */
  if
  :: atomic { word == lw[t] ->
#if SHARED
       if
       :: sh ->                                    /* kShared: counted only; the coordinator */
          word = MKTRIAL(GEN(lw[t]), IFL(lw[t]) - 1, SUC(lw[t]) + (how == SUCCESS -> 1 : 0),
                         FAI(lw[t]) + (how == FAILURE -> 1 : 0))   /* follows the store's verdict */
       :: else ->
#endif
#if RATE
       if
       :: SUC(lw[t]) + FAI(lw[t]) + 1 >= T ->      /* T trials done: judge the rates */
          if                                       /* (choose before alloc_gen(): see there) */
          :: alloc_gen(); word = NEXTW(lw[t], OPEN); ag[t] = ng; az[t] = 0
          :: VERDICT_CLOSE(t, lw[t])
          fi
       :: else ->
          word = MKTRIAL(GEN(lw[t]), IFL(lw[t]) - 1, SUC(lw[t]) + (how == SUCCESS -> 1 : 0),
                         FAI(lw[t]) + (how == FAILURE -> 1 : 0))
       fi;
#else
       if
       :: how == FAILURE ->                        /* HALF_OPEN,g,n -> OPEN,g+1,0 */
          alloc_gen(); word = NEXTW(lw[t], OPEN); ag[t] = ng; az[t] = 0
       :: how == SUCCESS && SUC(lw[t]) + 1 >= T -> /* HALF_OPEN,g,n -> CLOSED,g+1,0 */
          VERDICT_CLOSE(t, lw[t])
       :: how == SUCCESS && SUC(lw[t]) + 1 < T ->  /* one more success, one fewer in flight */
          word = MKTRIAL(GEN(lw[t]), IFL(lw[t]) - 1, SUC(lw[t]) + 1, FAI(lw[t]))
       fi;
#endif
#if SHARED
       fi;
#endif
       TRACE_CAS(t, lw[t], "OnTrialOutcome():");
#if SHARED
       if :: ST(word) != HALF_OPEN -> CHECK_I11 skip :: else -> skip fi;   /* a verdict */
       sh = 0;
#endif
       CHECK(I6_stale_outcome_never_changes_word, GEN(lw[t]) == pg[t]);
       CHECK_P2
       pk[t] = NONE; lw[t] = NOWORD; how = 0;
#if MUTANT == 12
       if :: ps[t] != 0 -> canon(); goto late_free :: else -> skip fi;   /* MUTANT: frees now */
#endif
       pg[t] = NOGEN; PROBE_DROP
       canon();
       if
       :: ag[t] != NOGEN -> goto trial_after
       :: else -> goto end_idle
       fi }
#if SHARED
  :: atomic { word != lw[t] -> sh = 0; lw[t] = word; trial_head() }   /* retry with the word we got */
#else
  :: atomic { word != lw[t] -> lw[t] = word; trial_head() }   /* retry with the word we got */
#endif
  fi;
trial_after:
  AFTER_TRANSITION(t, end_idle);

release_cas:                                      /* compare_exchange_weak(word - kOneInFlight) */
  if
  :: atomic { word == lw[t] ->
       word = lw[t] - ONE_IN_FLIGHT;
       TRACE_CAS(t, lw[t], "OnRelease():");
       CHECK(I6_stale_outcome_never_changes_word, GEN(lw[t]) == pg[t]);
       CHECK_P2
#if SHARED
       sadm = sadm - psh[t];                       /* ghost: the slot goes back */
#endif
       pk[t] = NONE; lw[t] = NOWORD;
#if MUTANT == 12
       if :: ps[t] != 0 -> canon(); goto late_free :: else -> skip fi;   /* MUTANT: frees now */
#endif
       pg[t] = NOGEN; PROBE_DROP canon(); goto end_idle }
  :: atomic { word != lw[t] -> lw[t] = word; release_head() }
  fi
}

/* ---- The operator: ForceTo(FORCED_OPEN) / ForceTo(CLOSED) ---------------- */

proctype Operator() {
  byte to;
#if NOPS > 0
  byte n;
#define OPS_LEFT (n < NOPS)
#define COUNT_OP n++
#else
#define OPS_LEFT true
#define COUNT_OP skip
#endif
end_operator:
  if
  :: atomic { OPS_LEFT ->
       COUNT_OP;
       if :: to = FORCED_OPEN :: to = CLOSED fi;   /* ForceOpen() or Reset() */
       lw[OPER] = word; canon() }                  /* state_.load(relaxed) */
  :: !OPS_LEFT -> goto op_done
  fi;
force_cas:
  if
  :: atomic { word == lw[OPER] ->                  /* Publish(word, NextWord(word, to)) */
       alloc_gen(); word = NEXTW(lw[OPER], to);
#if MUTANT == 19
       if                                          /* MUTANT: Reset() gates too (and its */
       :: to == CLOSED -> word = word | GATEB; ag[OPER] = ng; az[OPER] = 0   /* winner stores the end) */
       :: else -> STORE_ZERO(OPER)
       fi;
#endif
       TRACE_CAS(OPER, lw[OPER], "ForceTo():");
#if MUTANT != 19
       STORE_ZERO(OPER);                           /* CLOSED, FORCED_OPEN: deadline 0 */
#endif
       lw[OPER] = NOWORD; to = 0; canon();
       if
       :: ag[OPER] != NOGEN -> goto force_after
       :: else -> goto end_operator
       fi }
  :: atomic { word != lw[OPER] -> lw[OPER] = word; canon(); goto force_cas }
  fi;
force_after:
  AFTER_TRANSITION(OPER, end_operator);
op_done:
  /* If the last action left the breaker FORCED_OPEN it stays there by
   * design: rejecting forever is progress, not a livelock. */
  if
  :: ST(word) == FORCED_OPEN ->
end_forced:
progress_forced:
     false
  :: else -> skip
  fi
}

/* ---- The reaper (PROBES=1): ReapExpiredProbes() ---------------------------- */

#if PROBES
/* Whoever reaps: state(), generation(), Snapshot() (ApplyHalfOpenLimits())
 * any time, and a TryAcquire() in HALF_OPEN short of a slot (once per
 * admission). One process stands for them all, reaping any number of times.
 * The reaper's generation (the word it was given) is pg[REAPER], kept for
 * the whole scan, as `gen` is in the code; rdebt says it has reaped a trial
 * of it and owes the state word that trial's failure or slot. */
#define R_NEXT \
  ri++; \
  if \
  :: ri < K -> pcanon(); goto r_scan \
  :: else -> ri = 0; pg[REAPER] = NOGEN; pcanon(); goto end_reaper \
  fi
/* OnTrialOutcome(gen, kFailure)'s and ReturnTrialSlot(gen)'s loop head on
 * the word in lw[REAPER]: nothing to do once the generation is over. */
#if PROBE_RELEASED
#define R_GIVE r_rel_cas
#else
#define R_GIVE r_fail_cas
#endif
inline reap_head() {
  if
  :: GEN(lw[REAPER]) != pg[REAPER] || ST(lw[REAPER]) != HALF_OPEN || IFL(lw[REAPER]) == 0 ->
     rdebt = 0; lw[REAPER] = NOWORD; R_NEXT
  :: else -> pcanon(); goto R_GIVE
  fi
}
proctype Reaper() {
  byte ri;                                        /* the slot scanned */
end_reaper:
  /* ReapExpiredProbes(word): only for a HALF_OPEN word with a trial in flight. */
  atomic { ST(word) == HALF_OPEN && IFL(word) > 0 -> pg[REAPER] = GEN(word); ri = 0; pcanon() }
r_scan:                                           /* slot.load(acquire): an entry of the word's */
  atomic {                                        /* generation past its deadline? */
    if
    :: sg[ri] == pg[REAPER] && sd[ri] != 0 -> rsd = sd[ri]; pcanon(); goto r_cas
    :: else -> R_NEXT
    fi }
r_cas:
#if MUTANT == 13
  atomic {                                        /* MUTANT: slot.store(0), no CAS */
    TRACE_REAP(ri);
    if :: so[ri] != NONEOWN -> rp[so[ri]] = 1 :: else -> skip fi;
    sg[ri] = NOGEN; sd[ri] = NOMS; so[ri] = NONEOWN; rsd = NOMS; rdebt = 1; pcanon(); goto r_load }
#else
  if
  :: atomic { sg[ri] == pg[REAPER] && sd[ri] == rsd ->   /* compare_exchange_strong(entry, 0) */
       TRACE_REAP(ri);
       rp[so[ri]] = 1;                            /* ghost: its trial is reaped */
       sg[ri] = NOGEN; sd[ri] = NOMS; so[ri] = NONEOWN; rsd = NOMS; rdebt = 1; pcanon(); goto r_load }
  :: atomic { !(sg[ri] == pg[REAPER] && sd[ri] == rsd) ->   /* freed (or reaped) first: continue */
       rsd = NOMS; R_NEXT }
  fi;
#endif
r_load:                                           /* OnTrialOutcome(gen, kFailure) or */
  atomic { lw[REAPER] = word; reap_head() }       /* ReturnTrialSlot(gen): state_.load(acquire) */
r_fail_cas:                                       /* Publish(word, desired): a trial failure */
  if
  :: atomic { word == lw[REAPER] ->
#if RATE
       if
       :: SUC(lw[REAPER]) + FAI(lw[REAPER]) + 1 >= T ->   /* T trials done: judge the rates */
          if
          :: alloc_gen(); word = NEXTW(lw[REAPER], OPEN); ag[REAPER] = ng; az[REAPER] = 0
          :: VERDICT_CLOSE(REAPER, lw[REAPER])
          fi
       :: else ->
          word = MKTRIAL(GEN(lw[REAPER]), IFL(lw[REAPER]) - 1, SUC(lw[REAPER]), FAI(lw[REAPER]) + 1)
       fi;
#else
       alloc_gen(); word = NEXTW(lw[REAPER], OPEN); ag[REAPER] = ng; az[REAPER] = 0;   /* S = K */
#endif
       TRACE_CAS(REAPER, lw[REAPER], "OnTrialOutcome(gen, kFailure):");
       rdebt = 0; lw[REAPER] = NOWORD; pcanon();
       if
       :: ag[REAPER] != NOGEN -> goto r_after
       :: else -> R_NEXT
       fi }
  :: atomic { word != lw[REAPER] -> lw[REAPER] = word; reap_head() }
  fi;
r_after:
  AFTER_TRANSITION(REAPER, r_next);
r_next:                                           /* the scan goes on with the same gen */
  atomic { R_NEXT }
r_rel_cas:                                        /* compare_exchange_weak(word - kOneInFlight) */
  if
  :: atomic { word == lw[REAPER] ->
       word = lw[REAPER] - ONE_IN_FLIGHT;
       TRACE_CAS(REAPER, lw[REAPER], "ReturnTrialSlot(gen):");
       rdebt = 0; lw[REAPER] = NOWORD; pcanon(); R_NEXT }
  :: atomic { word != lw[REAPER] -> lw[REAPER] = word; reap_head() }
  fi
}
#endif

/* ---- The coordinator (SHARED=1): SharedControl's calls ---------------------- */

#if SHARED
/* Follow()'s loop head on the word in lw[COORD]: an operator's state stands,
 * and a word already in `to` is left as it is (both return); otherwise
 * Publish(word, NextWord(word, to)). */
inline follow_head() {
  if
  :: ST(lw[COORD]) == FORCED_OPEN || ST(lw[COORD]) == to ->
     lw[COORD] = NOWORD; to = 0; canon(); goto end_coord
  :: else -> canon(); goto follow_cas
  fi
}

/* SetSharing()'s loop on leaving kShared: while HALF_OPEN, Publish(word,
 * NextWord(word, kOpen)) with a period of 0. */
inline leave_head() {
  if
  :: ST(lw[COORD]) == HALF_OPEN -> canon(); goto leave_cas
  :: else -> lw[COORD] = NOWORD; canon(); goto end_coord
  fi
}

/* SetSharing()'s exchange, when it leaves kShared: the ghost window of I11
 * closes for every thread. */
inline shx_clear() { d_step {
  gi = 0;
  do
  :: gi < THREADS -> shx[gi] = 0; gi++
  :: else -> break
  od;
  gi = 0
} }

/*
 * The coordinator's sync thread (src/redis/coordinator.cc), one action at a
 * time, any number of them, in any order: SetSharing() between kShared and
 * kDegraded (kLocal, Unshare(), acts alike for the core), and, while
 * kShared, Follow(to) for to = CLOSED, OPEN, HALF_OPEN, Reopen() and Lend().
 * The sync thread follows only after its SetSharing(kShared) of the same
 * round, and is sharing_'s only writer (Unshare() waits for the round), so
 * it knows the mode without a load: the guards on `sharing` below are not
 * shared accesses. The store's verdicts are free: any action any time.
 */
proctype Coordinator() {
  byte to;                                        /* Follow(): the state to follow */
  byte s;                                         /* Lend(): the slots */
#if NCOORD > 0
  byte nco;                                       /* actions taken */
#define CO_LEFT  (nco < NCOORD)
#define CO_COUNT if :: nco < NCOORD -> nco++ :: else -> skip fi
#else
#define CO_LEFT  true
#define CO_COUNT skip
#endif
end_coord:
  if
  :: atomic { CO_LEFT && sharing == SHARING -> CO_COUNT; to = CLOSED;  /* Follow(kClosed): state_.load(acquire) */
       lw[COORD] = word; follow_head() }
  :: atomic { CO_LEFT && sharing == SHARING -> CO_COUNT; to = OPEN;    /* Follow(kOpen) */
       lw[COORD] = word; follow_head() }
  :: atomic { CO_LEFT && sharing == SHARING -> CO_COUNT; to = HALF_OPEN;   /* Follow(kHalfOpen) */
       lw[COORD] = word; follow_head() }
  /* Reopen(gen): its gen comes from the sync's Read(), its loop from its
   * own load. A gen that has ended by that load makes it do nothing, as
   * choosing another action does; one still current is what the load
   * finds: so the load gives the generation here. */
  :: atomic { CO_LEFT && sharing == SHARING ->    /* Reopen(gen): state_.load(acquire) */
       CO_COUNT; lw[COORD] = word;
       if
       :: ST(lw[COORD]) == OPEN -> canon(); goto reopen_cas
       :: else -> lw[COORD] = NOWORD; canon(); goto end_coord
       fi }
  /* Read() (a state_.load) finds HALF_OPEN generation g: Lend(g, s), s in
   * 1..T, a CAS loop that only raises: while (shared_trials_ is another
   * generation's, or fewer slots) CAS it to (g << 32) | s, release. One
   * step, for three reasons. A lend to a generation that has ended since
   * the Read changes nothing any reader takes for its own (every reader
   * compares the generation first), and a lend to one still current is
   * the one made just after a Read. The coordinator is shared_trials_'s
   * only writer, so the CAS cannot fail, and the load before it reads
   * what the CAS compares. */
#if MUTANT == 9
#define LEND_RAISES(g) true                       /* MUTANT: stores whatever it is given */
#else
#define LEND_RAISES(g) (lent_gen != (g) || lent_slots < s)
#endif
  :: atomic { CO_LEFT && sharing == SHARING && ST(word) == HALF_OPEN ->
       CO_COUNT; s = 1;                           /* (chosen before canon()) */
       do
       :: s < T -> s++
       :: break
       od;
       if
       :: LEND_RAISES(GEN(word)) -> lent_gen = GEN(word); lent_slots = s; TRACE_LEND(s)
       :: else -> skip                            /* lent already, as many or more */
       fi;
       s = 0; canon(); goto end_coord }
  /* SetSharing(kDegraded): the exchange. With NCOORD, after the last
   * action it lets go (SetSharing(kLocal), which acts alike) and stops. */
  :: atomic { sharing == SHARING ->
       CO_COUNT; sharing = DEGRADED; shx_clear(); TRACE_SHARING("kDegraded");
#if MUTANT == 10
       goto end_coord }                           /* MUTANT: HALF_OPEN stays */
#else
       co_leaving = 1; goto leave_load }
#endif
  :: atomic { CO_LEFT && sharing != SHARING ->    /* SetSharing(kShared): the exchange */
       CO_COUNT; sharing = SHARING; TRACE_SHARING("kShared"); goto end_coord }
#if NCOORD > 0
  :: !CO_LEFT && sharing != SHARING -> goto co_done   /* let go: the breaker is alone */
#endif
  fi;

follow_cas:                                       /* Publish(word, NextWord(word, to)), cause kShared */
  if
  :: atomic { word == lw[COORD] ->
       alloc_gen(); word = NEXTW(lw[COORD], to);
       TRACE_CAS(COORD, lw[COORD], "Follow():");
       if
       :: to == CLOSED -> STORE_ZERO(COORD)
       :: to == OPEN -> ag[COORD] = ng; az[COORD] = 0       /* the store's remaining period */
       :: to == HALF_OPEN -> ag[COORD] = ng; az[COORD] = 1  /* 0 in flight; no deadline (kShared) */
       fi;
       lw[COORD] = NOWORD; to = 0; canon();
       if
       :: ag[COORD] != NOGEN -> goto co_after
       :: else -> goto end_coord
       fi }
  :: atomic { word != lw[COORD] -> lw[COORD] = word; follow_head() }   /* `word` holds what beat us */
  fi;

reopen_cas:                                       /* Publish(OPEN,g -> OPEN,g+1), cause kShared */
  if
  :: atomic { word == lw[COORD] ->
       alloc_gen(); word = NEXTW(lw[COORD], OPEN);
       TRACE_CAS(COORD, lw[COORD], "Reopen():");
       ag[COORD] = ng; az[COORD] = 0; lw[COORD] = NOWORD; canon(); goto co_after }
  /* OPEN,g is a single word (I2, I8): a failed CAS means the generation
   * has moved on, and Reopen()'s loop ends. */
  :: atomic { word != lw[COORD] -> lw[COORD] = NOWORD; canon(); goto end_coord }
  fi;

leave_load:                                       /* SetSharing(), leaving kShared: state_.load(acquire) */
  atomic { co_leaving = 0; lw[COORD] = word; leave_head() }
leave_cas:                                        /* Publish(HALF_OPEN,g -> OPEN,g+1), period 0 */
  if
  :: atomic { word == lw[COORD] ->
       alloc_gen(); word = NEXTW(lw[COORD], OPEN);
       TRACE_CAS(COORD, lw[COORD], "SetSharing(), leaving kShared:");
       ag[COORD] = ng; az[COORD] = 0; lw[COORD] = NOWORD; canon(); goto co_after }
  :: atomic { word != lw[COORD] -> lw[COORD] = word; leave_head() }
  fi;

co_after:
  AFTER_TRANSITION(COORD, end_coord);
co_done:
  skip
}
#endif

init {
  byte i = 0;
  atomic {
    do
    :: i < NPROCS -> lw[i] = NOWORD; pg[i] = NOGEN; ag[i] = NOGEN; fg[i] = NOGEN;
#if FIX_DEADLINE
       dlt[i] = NOGEN;
#endif
       i++
    :: else -> break
    od;
    i = 0;
    do
    :: i < THREADS -> run Thread(i); i++
    :: else -> break
    od;
#if OPERATOR
    run Operator();
#endif
#if SHARED
    run Coordinator();
#endif
#if PROBES
    run Reaper();
#endif
    i = 0
  }
}

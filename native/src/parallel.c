/*
 * Kernels split their work in parts over the calling thread and a few pool threads, joined before
 * they return. Starting a pthread per call (45 us on this VM, more in a large process, and a cold
 * core each time) cost more than it saved on batch-1 layers: MobileNetV2's forward ran slower on
 * two threads than on one. So the pool's threads stay, and wait for the next call:
 * - a few tens of microseconds spinning, which catches the next layer of a forward pass;
 * - then asleep on a condition variable, holding no CPU, so a loaded machine sees no busy-waiting;
 * - after IDLE_SECONDS without a call, a thread ends, so an idle addon holds no threads.
 * Parts are claimed from one atomic ticket, so whichever thread is free takes the next part. Only
 * calls with at least MIN_WORK_PER_PART multiply-adds per part are split. The thread setting is per
 * OS thread: the main thread takes the cores, a data-parallel or pool worker keeps its one. One
 * caller uses the pool at a time; a second one meanwhile starts its own short-lived threads.
 */
#include "parallel.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

/* About 1 ms of SGEMM per part on one core: the hand-off stays under a few percent. */
#define MIN_WORK_PER_PART 2.0e7
#define MAX_PARTS 64
#define SPIN_NANOSECONDS 50000L
#define IDLE_SECONDS 5

static _Thread_local int thread_setting = 1;
/* How many parts this thread's last split call ran in (for tests: that a call was split). */
static _Thread_local int last_parts = 1;

int parallel_last_parts(void) { return last_parts; }

int parallel_threads(void) { return thread_setting; }

void parallel_set_threads(int threads) { thread_setting = threads < 1 ? 1 : threads > MAX_PARTS ? MAX_PARTS : threads; }

int parallel_parts(double work, long units) {
  long parts = thread_setting;
  const long by_work = (long)(work / MIN_WORK_PER_PART);
  if (by_work < parts) parts = by_work;
  if (units < parts) parts = units;
  return parts < 1 ? 1 : (int)parts;
}

/*
 * The ticket packs the call's number (high 24 bits), its part count (8 bits) and the next part to
 * claim (low 32 bits). Claiming is one fetch-add, and the claimed value says which call the part
 * belongs to, so a thread that woke late for an earlier call can only take a part of the current
 * one, whose fn and context stay put until its last part is done.
 */
#define TICKET(call, parts) (((uint64_t)(call) << 40) | ((uint64_t)(parts) << 32))
#define TICKET_CALL(t) ((t) >> 40)
#define TICKET_PARTS(t) ((int)(((t) >> 32) & 0xff))
#define TICKET_PART(t) ((uint32_t)(t))

static struct {
  pthread_mutex_t lock;
  pthread_cond_t wake, done;
  atomic_flag busy; /* held by the caller using the pool */
  _Atomic uint64_t ticket;
  atomic_int finished;
  part_fn fn;
  void *context;
  int threads, sleepers; /* under lock */
  uint64_t calls;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, ATOMIC_FLAG_INIT, 0, 0, NULL, NULL, 0, 0, 0};

static long nanoseconds_since(const struct timespec *start) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - start->tv_sec) * 1000000000L + (now.tv_nsec - start->tv_nsec);
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* Runs parts of the current call until none is left; the thread finishing the last one says so. */
static void claim_parts(void) {
  for (;;) {
    const uint64_t t = atomic_fetch_add(&pool.ticket, 1);
    const int parts = TICKET_PARTS(t);
    if ((int)TICKET_PART(t) >= parts) return;
    pool.fn((int)TICKET_PART(t), parts, pool.context);
    if (atomic_fetch_add(&pool.finished, 1) + 1 == parts) {
      pthread_mutex_lock(&pool.lock);
      pthread_cond_signal(&pool.done);
      pthread_mutex_unlock(&pool.lock);
    }
  }
}

static void *pool_thread(void *arg) {
  (void)arg;
  uint64_t seen = TICKET_CALL(atomic_load(&pool.ticket));
  for (;;) {
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (TICKET_CALL(atomic_load(&pool.ticket)) == seen && nanoseconds_since(&start) < SPIN_NANOSECONDS) cpu_relax();
    if (TICKET_CALL(atomic_load(&pool.ticket)) == seen) {
      pthread_mutex_lock(&pool.lock);
      pool.sleepers++;
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_sec += IDLE_SECONDS;
      int timed_out = 0;
      while (TICKET_CALL(atomic_load(&pool.ticket)) == seen && !timed_out)
        timed_out = pthread_cond_timedwait(&pool.wake, &pool.lock, &until) == ETIMEDOUT;
      pool.sleepers--;
      if (timed_out && TICKET_CALL(atomic_load(&pool.ticket)) == seen) {
        pool.threads--;
        pthread_mutex_unlock(&pool.lock);
        return NULL;
      }
      pthread_mutex_unlock(&pool.lock);
    }
    seen = TICKET_CALL(atomic_load(&pool.ticket));
    claim_parts();
  }
}

/* Starts pool threads until `wanted` are alive; returns how many are. */
static int grow_pool(int wanted) {
  pthread_mutex_lock(&pool.lock);
  while (pool.threads < wanted) {
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    const int failed = pthread_create(&thread, &attr, pool_thread, NULL);
    pthread_attr_destroy(&attr);
    if (failed) break;
    pool.threads++;
  }
  const int alive = pool.threads;
  pthread_mutex_unlock(&pool.lock);
  return alive;
}

static void run_on_pool(int parts, part_fn fn, void *context) {
  pool.fn = fn;
  pool.context = context;
  atomic_store(&pool.finished, 0);
  atomic_store(&pool.ticket, TICKET(++pool.calls & 0xffffff, parts));
  pthread_mutex_lock(&pool.lock);
  if (pool.sleepers > 0) pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.lock);
  claim_parts();
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (atomic_load(&pool.finished) < parts && nanoseconds_since(&start) < SPIN_NANOSECONDS) cpu_relax();
  pthread_mutex_lock(&pool.lock);
  while (atomic_load(&pool.finished) < parts) pthread_cond_wait(&pool.done, &pool.lock);
  pthread_mutex_unlock(&pool.lock);
}

typedef struct {
  part_fn fn;
  void *context;
  int part, parts;
} part_call;

static void *run_part(void *arg) {
  const part_call *call = arg;
  call->fn(call->part, call->parts, call->context);
  return NULL;
}

/* The pool is taken: a thread per part, joined. */
static void run_on_fresh_threads(int parts, part_fn fn, void *context) {
  pthread_t threads[MAX_PARTS];
  part_call calls[MAX_PARTS];
  int started[MAX_PARTS] = {0};
  for (int p = 1; p < parts; p++) {
    calls[p] = (part_call){fn, context, p, parts};
    started[p] = pthread_create(&threads[p], NULL, run_part, &calls[p]) == 0;
  }
  fn(0, parts, context);
  for (int p = 1; p < parts; p++) {
    if (started[p]) pthread_join(threads[p], NULL);
    else fn(p, parts, context);
  }
}

void parallel_run(int parts, part_fn fn, void *context) {
  if (parts > MAX_PARTS) parts = MAX_PARTS;
  last_parts = parts < 1 ? 1 : parts;
  if (parts <= 1) {
    fn(0, 1, context);
    return;
  }
  if (atomic_flag_test_and_set(&pool.busy)) {
    run_on_fresh_threads(parts, fn, context);
    return;
  }
  /* With no pool thread at all the calling thread claims every part: still correct. */
  grow_pool(parts - 1);
  run_on_pool(parts, fn, context);
  atomic_flag_clear(&pool.busy);
}

/*
 * Kernels split their work in parts over the calling thread and fresh pthreads, joined before they
 * return: no pool and no spinning workers, so an idle addon holds no threads and a loaded machine
 * sees no busy-waiting. A thread costs tens of microseconds to start, so only calls with at least
 * MIN_WORK_PER_PART multiply-adds per part are split. The thread setting is per OS thread: the main
 * thread takes the cores, a data-parallel or pool worker keeps its one.
 */
#include "parallel.h"

#include <pthread.h>

/* About 1 ms of SGEMM per part on one core: the start-up cost stays under a few percent. */
#define MIN_WORK_PER_PART 2.0e7
#define MAX_PARTS 64

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

void parallel_run(int parts, part_fn fn, void *context) {
  if (parts > MAX_PARTS) parts = MAX_PARTS;
  last_parts = parts < 1 ? 1 : parts;
  if (parts <= 1) {
    fn(0, 1, context);
    return;
  }
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

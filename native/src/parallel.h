/* A fork-join over the calling thread and short-lived pthreads, for kernels that split their work. */
#ifndef GRADCAM_PARALLEL_H
#define GRADCAM_PARALLEL_H

typedef void (*part_fn)(int part, int parts, void *context);

/* Runs fn(part, parts, context) for every part, part 0 on the calling thread, then joins them all.
 * A part whose thread cannot be created runs on the calling thread instead. */
void parallel_run(int parts, part_fn fn, void *context);

/* Threads a kernel called from this thread may use (per OS thread: each JS worker sets its own). */
int parallel_threads(void);
void parallel_set_threads(int threads);

/* How many parts `work` multiply-adds are worth: at most the thread setting and `units` (the
 * count of indivisible pieces), and at least MIN_WORK_PER_PART per part. */
int parallel_parts(double work, long units);

/* Parts of this thread's last parallel_run (1 when it ran unsplit). */
int parallel_last_parts(void);

#endif

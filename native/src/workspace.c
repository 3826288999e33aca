#include "workspace.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
  float *floats;
  size_t count;
} workspace;

static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* A JS worker's thread gives its buffer back when it ends. */
static void release(void *held) {
  workspace *w = held;
  free(w->floats);
  free(w);
}

static void make_key(void) { pthread_key_create(&key, release); }

float *workspace_floats(size_t count) {
  pthread_once(&once, make_key);
  workspace *w = pthread_getspecific(key);
  if (!w) {
    w = calloc(1, sizeof *w);
    if (!w || pthread_setspecific(key, w) != 0) {
      free(w);
      return NULL;
    }
  }
  if (w->count < count) {
    free(w->floats);
    w->floats = malloc(sizeof(float) * count);
    w->count = w->floats ? count : 0;
  }
  return w->floats;
}
